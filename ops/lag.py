"""The platform's consumer lag: what its services still have to process ("has it caught up?"),
for the operator's commands (the simulation) and the tests' and benchmarks' driver (`harness`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.contract import topics
from shared.platform import registry
from shared.platform.kafka import client_options, group_id
from shared.platform.settings import Settings


class PlatformLag:
    """What the platform's services still have to process (0: everything sent is handled),
    summed over their consumer groups. Clients are kept open: a question costs a few
    milliseconds, not the most of a second new clients spend fetching the cluster's metadata.
    Connects with `settings`' principal, which must be allowed to describe the groups (the
    admin, in tests and the simulation)."""

    def __init__(self, settings: Settings) -> None:
        self.admin = AIOKafkaAdminClient(**client_options(settings))
        self.consumer = AIOKafkaConsumer(**client_options(settings))
        self.groups = {
            group_id(settings, spec.name, source.name): source
            for spec in registry.SERVICES
            for source in spec.consumes
        }

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def __call__(self) -> int:
        # committed offsets first, then the ends: a handler commits only after it has sent what
        # it produces, so whatever it sent is then either counted in an end or not yet committed
        names = list(self.groups)
        committed = await asyncio.gather(
            *(self.admin.list_consumer_group_offsets(name) for name in names)
        )
        by_source = await source_partitions(self.consumer, set(self.groups.values()))
        parts = {name: by_source[source] for name, source in self.groups.items()}
        ends = await self.consumer.end_offsets(sorted({tp for ps in parts.values() for tp in ps}))
        lag = 0
        for name, offsets in zip(names, committed, strict=True):
            for tp in parts[name]:
                done = offsets[tp].offset if tp in offsets else 0
                lag += max(0, ends[tp] - max(done, 0))
        return lag


async def source_partitions(
    consumer: AIOKafkaConsumer, sources: Iterable[topics.Source]
) -> dict[topics.Source, list[TopicPartition]]:
    """The partitions of every topic each source follows now (one metadata request)."""
    cluster = await consumer._client.fetch_all_metadata()
    names = sorted(cluster.topics())
    return {
        source: [
            TopicPartition(name, p)
            for name in names
            if source.matches(name)
            for p in sorted(cluster.partitions_for_topic(name) or ())
        ]
        for source in sources
    }
