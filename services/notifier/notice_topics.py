"""The notice topics on Kafka (the `NoticeTopics` port): notices published with the service's own
aiokafka producer (`shared.platform.kafka.Producer`, as its outbox publishes: a sweep's chunk
of a thousand notices without FastStream's machinery per record); the topics' end offsets and
the records sent since read with a consumer of no group, started and stopped with the
service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from services.notifier.ports import SentRecord
from services.notifier.records import TopicOffset
from shared.contract import topics
from shared.platform.kafka import Producer, client_options, records_since, topic_partitions
from shared.platform.settings import Settings

log = logging.getLogger("dfdg.notifier")


class KafkaNoticeTopics:
    def __init__(self, producer: Producer, settings: Settings) -> None:
        self.producer = producer
        self.settings = settings
        self.offsets: AIOKafkaConsumer | None = None
        self._partitions: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        self.offsets = AIOKafkaConsumer(**client_options(self.settings))
        await self.offsets.start()
        try:  # the partitions learnt and the brokers connected now, not in the first sweep
            await self.end_offsets(topics.notice_topics())
        except KafkaError as error:  # the first sweep asks again
            log.warning("notice topics' offsets not read at start: %r", error)

    async def stop(self) -> None:
        offsets, self.offsets = self.offsets, None
        if offsets is not None:
            await offsets.stop()

    async def publish(self, topic: str, key: str, body: bytes, headers: dict[str, str]) -> None:
        await self.producer.publish(body, topic, key=key.encode(), headers=headers)

    async def end_offsets(self, names: list[str]) -> list[TopicOffset]:
        assert self.offsets is not None, "started with the service"
        missing = [name for name in names if name not in self._partitions]
        if missing:  # a topic's partitions are asked once (the whole cluster's metadata)
            found: dict[str, list[TopicPartition]] = {}  # (two chunks in flight may both ask)
            for tp in await topic_partitions(self.offsets, missing):
                found.setdefault(tp.topic, []).append(tp)
            self._partitions.update(found)
        parts = [tp for name in names for tp in self._partitions.get(name, [])]
        ends = await self.offsets.end_offsets(parts)
        return [TopicOffset(tp.topic, tp.partition, offset) for tp, offset in ends.items()]

    async def records_since(self, start: dict[tuple[str, int], int]) -> AsyncIterator[SentRecord]:
        since = {TopicPartition(topic, part): offset for (topic, part), offset in start.items()}
        async for record in records_since(self.settings, since):
            yield SentRecord(record.value, record.headers)
