"""Kafka plumbing every service shares: the broker, topic creation, publishing, and the
delivery policy of every handler (at-least-once, nothing lost, nothing blocking)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from pydantic import BaseModel
from pymongo.errors import ConnectionFailure

from shared import topics
from shared.settings import Settings

log = logging.getLogger(__name__)

# Handlers commit the offset only after their effect is durable; a transient failure seeks back
# so the message is delivered again (FastStream's own default would ack first: at-most-once).
DURABLE_ACK = AckPolicy.NACK_ON_ERROR
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    KafkaError,
    TimeoutError,
    ConnectionError,
)
RETRY_PAUSE_SECONDS = 1.0


async def ensure_topics(settings: Settings) -> None:
    """Create the contract's topics if missing (the register is compacted). Idempotent."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name,
                num_partitions=settings.topic_partitions,
                replication_factor=1,
                topic_configs=(
                    {"cleanup.policy": "compact"}
                    if name in topics.COMPACTED
                    else {"max.message.bytes": str(8 * 1024 * 1024)}
                ),
            )
            for name in topics.ALL
            if name not in existing
        ]
        if wanted:
            # another service may create them at the same moment
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


async def raw_decoder(message: StreamMessage[Any]) -> bytes:
    """Hand the handler the bytes as received: a malformed body must reach our own validation
    rather than fail in a framework decoder."""
    return bytes(message.body)


async def raw_batch_decoder(message: StreamMessage[Any]) -> list[bytes]:
    """`raw_decoder` for a batch subscriber."""
    return [record.value or b"" for record in message.raw_message]


async def publish(broker: KafkaBroker, topic: str, key: str, payload: BaseModel | bytes) -> None:
    body = payload if isinstance(payload, bytes) else payload.model_dump_json().encode()
    await broker.publish(
        body, topic, key=key.encode(), headers={"content-type": "application/json"}
    )


@dataclass(frozen=True)
class Inbound:
    """One record as received: enough to process it, and to point back at it when rejecting."""

    topic: str
    partition: int | None
    offset: int | None
    key: str | None
    body: bytes

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> Inbound:
        key = record.key.decode(errors="replace") if record.key is not None else None
        return cls(record.topic, record.partition, record.offset, key, record.value or b"")


Handle = Callable[[Inbound], Awaitable[None]]
Fallback = Callable[[Inbound, Exception], Awaitable[None]]


async def deliver_batch(
    records: Iterable[Inbound], handle: Handle, on_unexpected: Fallback, at_once: int
) -> None:
    """Run a batch of records: each key's (citizen's) records in order, up to `at_once` keys at
    a time. A transient failure nacks the whole batch once the rest has finished: Kafka then
    delivers it again from its first records, and the handlers, idempotent, redo nothing twice."""
    by_key: dict[str | None, list[Inbound]] = {}
    for inbound in records:
        by_key.setdefault(inbound.key, []).append(inbound)
    limit = asyncio.Semaphore(at_once)

    async def in_order(chain: list[Inbound]) -> None:
        async with limit:
            for inbound in chain:
                await deliver(inbound, handle, on_unexpected)  # NackMessage stops this key

    outcomes = await asyncio.gather(*map(in_order, by_key.values()), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


async def deliver(inbound: Inbound, handle: Handle, on_unexpected: Fallback) -> None:
    """Run one handler under the delivery policy.

    - transient infrastructure failures: pause and nack, so the same message comes again;
    - any other exception is a bug or a poison message: hand it to `on_unexpected` (which writes
      a rejection record) and move on, so one message never blocks the ones behind it.
    """
    try:
        await handle(inbound)
    except TRANSIENT_ERRORS as error:
        log.warning("transient failure on %s, will retry: %r", inbound.topic, error)
        await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise NackMessage() from error
    except Exception as error:
        log.exception("unexpected failure on %s@%s", inbound.topic, inbound.offset)
        await on_unexpected(inbound, error)


class PlatformLag:
    """What the platform's services still have to process (0: everything sent is handled),
    summed over their consumer groups. Clients are kept open: a question costs a few
    milliseconds, not the most of a second new clients spend fetching the cluster's metadata."""

    def __init__(self, settings: Settings) -> None:
        servers = settings.kafka_bootstrap_servers
        self.admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=servers)
        self.groups = {
            group_id(settings, name, topic): topic
            for name, names in topics.CONSUMES.items()
            for topic in names
        }
        self.parts: dict[str, list[TopicPartition]] = {}

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()
        for topic in set(self.groups.values()):
            self.parts[topic] = await topic_partitions(self.consumer, [topic])

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
        ends = await self.consumer.end_offsets([p for ps in self.parts.values() for p in ps])
        lag = 0
        for name, offsets in zip(names, committed, strict=True):
            for tp in self.parts[self.groups[name]]:
                done = offsets[tp].offset if tp in offsets else 0
                lag += max(0, ends[tp] - max(done, 0))
        return lag


def group_id(settings: Settings, service: str, topic: str) -> str:
    return f"{settings.group_prefix}-{service}.{topic}"


async def topic_partitions(consumer: AIOKafkaConsumer, names: list[str]) -> list[TopicPartition]:
    """The partitions of the topics, asked of the cluster (aiokafka's `consumer.topics()` does
    not refresh what `partitions_for_topic` knows)."""
    cluster = await consumer._client.fetch_all_metadata()
    return [
        TopicPartition(name, p)
        for name in names
        for p in sorted(cluster.partitions_for_topic(name) or ())
    ]


async def end_offsets(bootstrap_servers: str, names: list[str]) -> dict[TopicPartition, int]:
    """Where the topics end now (a later `records_since` reads what came after)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(await topic_partitions(consumer, names)))
    finally:
        await consumer.stop()


async def records_since(
    bootstrap_servers: str, start: dict[TopicPartition, int]
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """The records from the offsets `start` up to the partitions' ends (no consumer group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = list(start)
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        for tp in parts:
            consumer.seek(tp, start[tp])
        while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                for record in records:
                    yield record
    finally:
        await consumer.stop()
