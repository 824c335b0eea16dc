"""Joblog throughput: Jobnet creates through the whole platform (adapter -> storage -> both
outbound topics) against a raw baseline measured in the same run on the same Kafka and database:
a bare produce/consume of the same messages plus one plain insert each. Both send the same way,
each message awaited (acknowledged by the broker) before the next, as a front end does; the
platform's time runs until both outbound topics (Jobnet's and the a-kasse's) have every answer.
The platform runs twice
on the same broker: over SASL SCRAM-SHA-512 with ACLs (as always) and over the benchmark
profile's unauthenticated listener, to show what authentication costs.

    .venv/bin/python -m bench.throughput [N]      (writes bench/results/throughput.json)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from bench.common import write_result
from harness import (
    FrontEnd,
    jobnet,
    new_cpr,
    start_groups_at_end,
    status,
    test_settings,
)
from infra import local
from services.in_process import start_services
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal
from shared.cluster.provisioning import Provisioning
from shared.contract import topics
from shared.platform.kafka import client_options


async def raw_baseline(settings, messages: list[dict]) -> float:
    """Messages per second for produce + consume + one insert each, nothing else."""
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    admin = as_principal(settings, ADMIN)
    Provisioning(admin).topics([topic], settings.topic_partitions)
    producer = AIOKafkaProducer(**client_options(admin), acks="all")
    consumer = AIOKafkaConsumer(topic, **client_options(admin), auto_offset_reset="earliest")
    mongo: AsyncMongoClient[dict] = AsyncMongoClient(settings.mongodb_url)
    collection = mongo[settings.mongodb_database].raw_baseline
    await producer.start()
    await consumer.start()
    try:
        started = time.perf_counter()
        for message in messages:  # awaited one by one, as `FrontEnd.send` does for the platform
            await producer.send_and_wait(
                topic, json.dumps(message).encode(), key=message["cpr"].encode()
            )
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
            topics.akasse_outbound("067"), lambda m: m.get("logId") in wanted, len(messages), 600
        )
        await front.wait_for(
            topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") in wanted, len(messages), 600
        )
        elapsed = time.perf_counter() - started
    await front.stop()
    mongo: AsyncMongoClient[dict] = AsyncMongoClient(settings.mongodb_url)
    await mongo.drop_database(settings.mongodb_database)
    await mongo.close()
    return len(messages) / elapsed


BENCH_PROFILE = local.Profile("bench", 39192, 39193, 27517, unauthenticated_port=39194)


async def main(n: int) -> None:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        sys.exit("bench.throughput starts its own Kafka (it needs the unauthenticated listener)")
    env = local.up(BENCH_PROFILE, fresh=True)
    unauthenticated = {
        **env,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{BENCH_PROFILE.unauthenticated_port}",
        "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
    }
    cprs = [new_cpr() for _ in range(50)]
    now = datetime.now(UTC)

    def batch() -> list[dict]:
        return [jobnet("opret", cprs[i % len(cprs)], str(uuid.uuid4()), now) for i in range(n)]

    try:
        raw = await raw_baseline(test_settings(env), batch())
        sasl = await platform_run(test_settings(env), batch(), cprs)
        plain = await platform_run(test_settings(unauthenticated), batch(), cprs)
    finally:
        local.down(BENCH_PROFILE)
    write_result(
        "throughput",
        {
            "messages": n,
            "producer_mode": "each send awaited (baseline and platform)",
            "awaited_outbound": [topics.JOBNET_OUTBOUND, topics.akasse_outbound("067")],
            "raw_baseline_msgs_per_s": round(raw, 1),
            "platform_msgs_per_s": round(sasl, 1),
            "platform_without_sasl_msgs_per_s": round(plain, 1),
            "platform_vs_raw": round(sasl / raw, 3),
            "sasl_cost": round(1 - sasl / plain, 3),
        },
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
