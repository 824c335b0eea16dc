"""Where the steady load's latency goes: each change's time at every hop of the pipeline, from
the Kafka timestamps (set by each producer when it sends) of its records on the topics between
Jobnet's send and the bench's reading of the a-kasse's answer."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from aiokafka import TopicPartition

from bench.throughput.messages import AKASSE_OUTBOUND
from shared.contract import topics
from shared.platform.kafka import end_offsets, records_since
from shared.platform.settings import Settings

HOP_TOPICS = (topics.JOBLOG_COMMANDS, topics.JOBLOG_CHANGES, AKASSE_OUTBOUND)
HOPS = ("jobnet_adapter", "storage", "akasse_adapter", "bench_reading")
"""The stretches: send to the command, the command to the change, the change to the a-kasse's
answer, the answer's send to the bench's reading of it."""


async def starts(admin: Settings) -> dict[TopicPartition, int]:
    return await end_offsets(admin, list(HOP_TOPICS))


def _origin_id(topic: str, value: dict[str, Any]) -> str | None:
    if topic == topics.JOBLOG_COMMANDS:
        return value.get("beskedId")
    if topic == topics.JOBLOG_CHANGES:
        return (value.get("entry") or {}).get("kildeBeskedId")
    return value.get("eventId")


async def stretches(
    admin: Settings,
    start: dict[TopicPartition, int],
    sent: dict[str, float],
    seen: dict[str, float],
) -> dict[str, list[float]]:
    """Each hop's milliseconds for the changes seen at every hop (others are left out)."""
    at: dict[str, dict[str, float]] = {topic: {} for topic in HOP_TOPICS}
    async for record in records_since(admin, start):
        origin = _origin_id(record.topic, json.loads(record.value or b"{}"))
        if origin in sent:
            at[record.topic].setdefault(origin, record.timestamp / 1000)
    hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
    for origin, t0 in sent.items():
        times = [at[topic].get(origin) for topic in HOP_TOPICS] + [seen.get(origin)]
        if None in times:
            continue
        points = [t0, *(t for t in times if t is not None)]
        for hop, (a, b) in zip(HOPS, pairwise(points), strict=True):
            hops[hop].append(1000 * (b - a))
    return hops
