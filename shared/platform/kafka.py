"""Kafka plumbing every service shares: the broker, topic creation, publishing, and the
delivery policy of every handler (at-least-once, nothing lost, nothing blocking)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any, NoReturn, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.helpers import create_ssl_context
from faststream import AckPolicy
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel
from pymongo.errors import ConnectionFailure, PyMongoError

from shared.contract.inbound import Inbound
from shared.platform import outage
from shared.platform.ports import Fallback, Handle, HandleBatch
from shared.platform.settings import Settings

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


def client_options(settings: Settings) -> dict[str, Any]:
    """Connection options of every aiokafka client: the servers and, as the contract's settings
    say, SASL (SCRAM) over plaintext locally or over TLS (SASL_SSL) in production."""
    protocol = settings.kafka_security_protocol.upper()
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": protocol,
    }
    if protocol.startswith("SASL"):
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password.get_secret_value(),
        }
    if protocol.endswith("SSL"):
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    return options


def broker_security(settings: Settings) -> BaseSecurity | None:
    """The same for a FastStream broker."""
    protocol = settings.kafka_security_protocol.upper()
    tls = create_ssl_context(cafile=settings.kafka_ssl_cafile) if protocol.endswith("SSL") else None
    if not protocol.startswith("SASL"):
        return BaseSecurity(ssl_context=tls) if tls else None
    kinds = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}
    kind = kinds[settings.kafka_sasl_mechanism.upper()]
    password = settings.kafka_sasl_password.get_secret_value()
    return kind(settings.kafka_sasl_username, password, ssl_context=tls, use_ssl=tls is not None)


async def raw_decoder(message: StreamMessage[Any]) -> bytes:
    """Hand the handler the bytes as received: a malformed body must reach our own validation
    rather than fail in a framework decoder."""
    return bytes(message.body)


async def raw_batch_decoder(message: StreamMessage[Any]) -> list[bytes]:
    """`raw_decoder` for a batch subscriber."""
    return [record.value or b"" for record in message.raw_message]


JSON_HEADERS = {"content-type": "application/json"}
PUBLISH_BATCH_BYTES = 1024 * 1024
"""The producer's batch per partition: aiokafka's default (16 KB) split a batch's changes into
many requests, its senders woken again for each; 1 MB takes them in one."""


async def publish(
    producer: Publisher | KafkaBroker, topic: str, key: str, payload: BaseModel | bytes
) -> None:
    body = payload if isinstance(payload, bytes) else payload.model_dump_json().encode()
    await producer.publish(body, topic, key=key.encode(), headers=JSON_HEADERS)


class Publisher(Protocol):
    """What publishes a record (`Producer`; a FastStream broker has the same `publish`)."""

    async def publish(
        self, body: bytes, topic: str, *, key: bytes, headers: dict[str, str]
    ) -> None: ...


class Producer:
    """A service's own aiokafka producer, which its outbox publishes with: a record goes to aiokafka
    as it is, without FastStream's machinery per published record (its middlewares, a command
    object each: about 55 µs of CPU a record here against aiokafka's 30), counted per topic
    (`dfdg_published_messages_total`). Idempotent, `acks=all`, as the broker's own."""

    def __init__(self, settings: Settings, client_id: str, metrics: CollectorRegistry) -> None:
        self.options = {
            **client_options(settings),
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "max_request_size": 8 * 1024 * 1024,
            "max_batch_size": PUBLISH_BATCH_BYTES,
        }
        self.producer: AIOKafkaProducer | None = None
        self.counter = Counter(
            "dfdg_published_messages", "records published, per topic", ["topic"],
            registry=metrics,
        )  # fmt: skip
        self.per_topic: dict[str, Any] = {}

    async def start(self) -> None:
        if self.producer is None:
            producer = AIOKafkaProducer(**self.options)
            await producer.start()
            self.producer = producer

    async def stop(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            await producer.stop()

    async def publish(
        self, body: bytes, topic: str, *, key: bytes, headers: dict[str, str]
    ) -> None:
        """Publish and wait until Kafka acknowledged the record."""
        if self.producer is None:
            raise KafkaConnectionError(f"{topic}: the producer is not started")
        sent = await self.producer.send(
            topic, body, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )
        await sent
        if (count := self.per_topic.get(topic)) is None:
            count = self.per_topic[topic] = self.counter.labels(topic)
        count.inc()


async def deliver_batch(
    records: Iterable[Inbound],
    handle: Handle,
    on_unexpected: Fallback,
    at_once: int,
    last_resort: Fallback | None = None,
) -> None:
    """Run a batch of records: each key's (citizen's) records in order, up to `at_once` keys at
    a time. A transient failure nacks the whole batch once the rest has finished: Kafka then
    delivers it again from its first records, and the handlers, idempotent, redo nothing twice.
    Nothing else escapes: a record whose handler and fallback both fail is kept by
    `last_resort` (a rejection made of its raw bytes alone, `KafkaOutbox.keep_raw`)."""
    by_key: dict[str | None, list[Inbound]] = {}
    for inbound in records:
        by_key.setdefault(inbound.key, []).append(inbound)
    limit = asyncio.Semaphore(at_once)

    async def in_order(chain: list[Inbound]) -> None:
        async with limit:
            for inbound in chain:
                # NackMessage stops this key
                await deliver(inbound, handle, on_unexpected, last_resort)

    outcomes = await asyncio.gather(*map(in_order, by_key.values()), return_exceptions=True)
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    for failure in failures:  # a nack, or a cancellation (the service stops): not a record's
        if not isinstance(failure, NackMessage):
            raise failure
    if failures:
        raise failures[0]


PART_RECORDS = 50
"""The fewest records a part of a batch holds (`deliver_whole`): a smaller batch goes whole,
since each part costs its own round trips."""


def parts_of(batch: list[Inbound], parts: int) -> list[list[Inbound]]:
    """The batch in at most `parts` parts of at least `PART_RECORDS` records where it has them,
    split by key: a key's records all in one part, in their order, the keys dealt out in turn."""
    count = max(1, min(parts, len(batch) // PART_RECORDS))
    split: list[list[Inbound]] = [[] for _ in range(count)]
    part_of: dict[str | None, int] = {}
    for inbound in batch:
        split[part_of.setdefault(inbound.key, len(part_of) % count)].append(inbound)
    return [part for part in split if part]


async def deliver_whole(
    records: Iterable[Inbound],
    handle_batch: HandleBatch,
    handle: Handle,
    on_unexpected: Fallback,
    at_once: int,
    last_resort: Fallback | None = None,
    parts: int = 1,
) -> None:
    """Run a batch through a batch-native handler, in up to `parts` parts at once (`parts_of`:
    disjoint keys, so two parts are as two instances on two partitions; while one part waits for
    its round trips, another's decisions run). Should a part fail on something other than an
    outage (a bad record among good ones), run the whole batch again record by record under
    `deliver_batch`'s policy, so each bad record gets its rejection and the others go through.
    Handlers are idempotent: what the failed batch had already done is not done twice. An
    outage nacks the batch. Either waits until every part has finished."""
    batch = list(records)
    if not batch:
        return
    outcomes = await asyncio.gather(
        *(handle_batch(part) for part in parts_of(batch, parts)), return_exceptions=True
    )
    failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    if not failures:
        return
    if outage := next((f for f in failures if isinstance(f, TRANSIENT_ERRORS)), None):
        await _nack(batch[0], outage)
    if other := next((f for f in failures if not isinstance(f, Exception)), None):
        raise other  # a cancellation (the service stops)
    log.error(
        "a batch of %d on %s failed; handling it record by record", len(batch), batch[0].topic,
        exc_info=failures[0],
    )  # fmt: skip
    await deliver_batch(batch, handle, on_unexpected, at_once, last_resort)


async def deliver(
    inbound: Inbound, handle: Handle, on_unexpected: Fallback, last_resort: Fallback | None = None
) -> None:
    """Run one handler under the delivery policy.

    - transient infrastructure failures: pause and nack, so the same message comes again;
    - any other exception is a bug or a poison message: hand it to `on_unexpected` (which writes
      a rejection record) and move on, so one message never blocks the ones behind it;
    - a fallback that fails too (a poison message that breaks its parsing as well): the record
      goes to `last_resort`, which keeps it without reading it; should that fail as well (not
      transiently), the record is logged and passed: it stays in its topic at its offset.
    Nothing but a nack (or a cancellation) leaves this function.
    """
    try:
        await handle(inbound)
    except TRANSIENT_ERRORS as error:
        await _nack(inbound, error)
    except Exception as error:
        log.exception("unexpected failure on %s@%s", inbound.topic, inbound.offset)
        await _keep(inbound, error, on_unexpected, last_resort)


async def _keep(
    inbound: Inbound, error: Exception, on_unexpected: Fallback, last_resort: Fallback | None
) -> None:
    try:
        await on_unexpected(inbound, error)
        return
    except TRANSIENT_ERRORS as failure:
        await _nack(inbound, failure)
    except Exception as failure:
        log.error(  # (the type only: a poison message's error may quote the message)
            "the fallback failed on %s@%s too: %s", inbound.topic, inbound.offset,
            type(failure).__name__,
        )  # fmt: skip
    if last_resort is None:
        log.error("%s@%s not kept: it stays there in its topic", inbound.topic, inbound.offset)
        return
    try:
        await last_resort(inbound, error)
    except TRANSIENT_ERRORS as failure:
        await _nack(inbound, failure)
    except Exception as failure:
        log.error(
            "%s@%s could not be kept (%s): it stays there in its topic", inbound.topic,
            inbound.offset, type(failure).__name__,
        )  # fmt: skip


async def _nack(inbound: Inbound, error: BaseException) -> NoReturn:
    kind = outage.DATABASE if isinstance(error, PyMongoError) else outage.KAFKA
    log.warning(  # collapsed with the clients' lines into one per outage (shared.platform.outage)
        "transient failure on %s, will retry: %r", inbound.topic, error,
        extra={"outage": kind},
    )  # fmt: skip
    await asyncio.sleep(RETRY_PAUSE_SECONDS)
    raise NackMessage() from error


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


async def end_offsets(settings: Settings, names: list[str]) -> dict[TopicPartition, int]:
    """Where the topics end now (a later `records_since` reads what came after)."""
    consumer = AIOKafkaConsumer(**client_options(settings))
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(await topic_partitions(consumer, names)))
    finally:
        await consumer.stop()


async def records_since(
    settings: Settings, start: dict[TopicPartition, int]
) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """The records from the offsets `start` up to the partitions' ends (no consumer group)."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
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


async def latest_records(settings: Settings, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """The last record of each partition of `topic` (none of an empty one)."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        parts = await topic_partitions(consumer, [topic])
        if not parts:
            return []
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        wanted = {tp for tp in parts if ends[tp] > 0}
        for tp in wanted:
            consumer.seek(tp, ends[tp] - 1)
        found: dict[TopicPartition, ConsumerRecord[bytes, bytes]] = {}
        while wanted - set(found):
            for tp, records in (await consumer.getmany(*wanted, timeout_ms=1000)).items():
                found[tp] = records[-1]
                consumer.pause(tp)
        return list(found.values())
    finally:
        await consumer.stop()
