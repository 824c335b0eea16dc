"""The bare sink: the same records consumed in batches, one `insert_many` and a commit each."""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.throughput.answers import bars
from shared.platform.kafka import client_options
from shared.platform.settings import Settings

BARE_BATCH = 500


async def bare_sink(
    admin: Settings, db: Any, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> tuple[float, int]:
    """The same records consumed in batches of up to 500, one insert_many each, a commit each:
    (records a second, records)."""
    consumer = AIOKafkaConsumer(
        **client_options(admin), group_id=f"bench-bare-sink-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False, max_partition_fetch_bytes=8 * 1024 * 1024,
    )  # fmt: skip
    collection = db["bench_bare_sink"]
    await consumer.start()
    wanted = sum(end[tp] - start[tp] for tp in end)
    try:
        consumer.assign(list(end))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        done = 0
        started = time.perf_counter()
        with bars() as progress:
            task = progress.add_task("bare sink", total=wanted)
            while done < wanted:
                batches = await consumer.getmany(timeout_ms=500, max_records=BARE_BATCH)
                docs = [
                    {"_id": f"{tp.topic}:{tp.partition}:{r.offset}", "key": r.key, "raw": r.value}
                    for tp, records in batches.items()
                    for r in records
                    if r.offset < end[tp]
                ]
                if docs:
                    await collection.insert_many(docs, ordered=False)
                    await consumer.commit()
                    done += len(docs)
                    progress.update(task, completed=done)
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
        await collection.drop()
    return done / seconds, done
