"""Joblog throughput: Jobnet creates through the whole platform (adapter -> storage -> both
outbound topics) against a raw baseline measured in the same run on the same Kafka and database:
a bare produce/consume of the same messages plus one plain insert each.

    .venv/bin/python -m bench.throughput [N]      (writes bench/results/throughput.json)
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from bench.common import write_result
from services.in_process import start_services
from shared import topics
from tests.harness import (
    FrontEnd,
    infrastructure,
    jobnet,
    new_cpr,
    start_groups_at_end,
    status,
    test_settings,
)


async def raw_baseline(settings, messages: list[dict]) -> float:
    """Messages per second for produce + consume + one insert each, nothing else."""
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    mongo: AsyncMongoClient[dict] = AsyncMongoClient(settings.mongodb_url)
    collection = mongo[settings.mongodb_database].raw_baseline
    await producer.start()
    await consumer.start()
    try:
        started = time.perf_counter()
        for message in messages:
            await producer.send(topic, json.dumps(message).encode(), key=message["cpr"].encode())
        await producer.flush()
        seen = 0
        async for record in consumer:
            await collection.insert_one({"_id": str(uuid.uuid4()), "raw": record.value})
            seen += 1
            if seen == len(messages):
                break
        return len(messages) / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()
        await mongo.drop_database(settings.mongodb_database)
        await mongo.close()


async def platform_run(settings, messages: list[dict], cprs: list[str]) -> float:
    front = FrontEnd(settings)
    await front.start()
    await start_groups_at_end(settings)
    await front.register("067", True)
    async with AsyncExitStack() as stack:
        await start_services(stack, settings)
        await front.tick(datetime.now(UTC))
        for cpr in cprs:
            await front.send(topics.CITIZEN_STATUS, status(cpr, datetime.now(UTC).date()))
        await front.settle()
        wanted = {m["joblogId"] for m in messages}
        started = time.perf_counter()
        for message in messages:
            await front.send(topics.JOBNET_INBOUND, message)
        await front.wait_for(
            topics.AKASSE_OUTBOUND, lambda m: m.get("logId") in wanted, len(messages), 600
        )
        elapsed = time.perf_counter() - started
    await front.stop()
    mongo: AsyncMongoClient[dict] = AsyncMongoClient(settings.mongodb_url)
    await mongo.drop_database(settings.mongodb_database)
    await mongo.close()
    return len(messages) / elapsed


async def main(n: int) -> None:
    env = infrastructure()
    cprs = [new_cpr() for _ in range(50)]
    now = datetime.now(UTC)
    messages = [jobnet("opret", cprs[i % len(cprs)], str(uuid.uuid4()), now) for i in range(n)]
    raw = await raw_baseline(test_settings(env), messages)
    full = await platform_run(test_settings(env), messages, cprs)
    write_result(
        "throughput",
        {
            "messages": n,
            "raw_baseline_msgs_per_s": round(raw, 1),
            "platform_msgs_per_s": round(full, 1),
            "platform_vs_raw": round(full / raw, 3),
        },
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
