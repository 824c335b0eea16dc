"""What every service process runs on: a Kafka broker, Prometheus metrics, the platform clock,
the database if it has one, and the parts its composition root asks for (the a-kasse register,
the clock's ticks). A service's `app.py` makes one `Runtime`, makes its ports from it and wires
its handler functions to topics, and returns both as a `Service`; `runtime.app()` runs it as a
process, `async with` in tests.

(No `from __future__ import annotations` here: a subscriber's body parameter is declared with
the model it documents, `Annotated[..., Expects(model)]`, evaluated where the handler is
defined, which is how FastStream reads the payload schema of the AsyncAPI document.)"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Annotated, Any, Generic, Self, TypeVar
from wsgiref.simple_server import WSGIServer

from faststream import FastStream
from faststream.kafka import KafkaBroker, Topic
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.prometheus import KafkaPrometheusMiddleware
from faststream.specification import AsyncAPI
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field, ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.contract import topics
from shared.contract.inbound import Inbound
from shared.contract.rejections import Refusal, internal_error, rejection
from shared.platform import health
from shared.platform.akasse_register import AkasseEntry, AkasseRegister
from shared.platform.asyncapi import Expects
from shared.platform.clock import PlatformClock
from shared.platform.db import connect
from shared.platform.kafka import (
    DURABLE_ACK,
    Producer,
    broker_security,
    deliver_batch,
    deliver_whole,
    group_id,
    latest_records,
    publish,
    raw_batch_decoder,
    raw_decoder,
)
from shared.platform.ports import Fallback, Handle, HandleBatch
from shared.platform.settings import Settings
from shared.readmodel.document import Document

Hook = Callable[[], Awaitable[None]]
RegisterHandler = Callable[[bytes | None, bytes | None], Awaitable[None]]


class Runtime:
    """One service process. What it runs on is settled when it is made: the broker, the metrics,
    the database (`with_database`) and the clock (which, simulated, reads the platform time the
    notifier stores in that database). The composition root then asks for its other parts
    before the broker starts (`register()`, `ticks()`) and wires the handlers (`consume`)."""

    def __init__(
        self, name: str, settings: Settings, description: str = "", *, with_database: bool = False
    ) -> None:
        self.name = name
        self.settings = settings
        self.description = description
        self.metrics = CollectorRegistry()
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            security=broker_security(settings),
            # a pattern subscriber finds a new party's topics within this time
            metadata_max_age_ms=PATTERN_REFRESH_MS,
            client_id=f"dfdg-{name}",
            acks="all",
            enable_idempotence=True,
            max_request_size=8 * 1024 * 1024,
            graceful_timeout=15.0,
            log_level=logging.DEBUG,  # "received"/"processed" per message: debug only
            logger=logging.getLogger(f"dfdg.{name}.kafka"),  # through the CPR mask
            middlewares=[KafkaPrometheusMiddleware(registry=self.metrics, app_name=name)],
        )
        self.log = logging.getLogger(f"dfdg.{name}")
        self.producer = Producer(settings, f"dfdg-{name}", self.metrics)
        """What the outbox publishes with (started first, stopped last)."""
        self.outbox = KafkaOutbox(self)
        self.mongo: AsyncMongoClient[Document] | None = None
        self.db: AsyncDatabase[Document] | None = None
        if with_database:  # (connected lazily, pinged at start)
            self.mongo, self.db = connect(settings)
        self.clock = PlatformClock(settings.clock, self.db)
        self.http: WSGIServer | None = None
        self._on_start: list[Hook] = [self._ping] if with_database else []
        self._on_stop: list[Hook] = []
        self._by_pattern: list[object] = []  # (may follow no topic yet: no a-kasse registered)
        self.follows_ticks = False
        """Its clock follows the ticks on dfdg.timers itself (`ticks()`, simulated clock)."""

    # -- parts -----------------------------------------------------------------------------

    def database(self) -> AsyncDatabase[Document]:
        """The database of a runtime made `with_database`."""
        if self.db is None:
            raise RuntimeError(f"{self.name} was made without a database (with_database=True)")
        return self.db

    def register(self) -> AkasseRegister:
        """The a-kasse register: loaded at start, then followed (the compacted topic)."""
        register = AkasseRegister()

        async def load() -> None:
            await register.load(self.settings)

        async def apply(key: bytes | None, value: bytes | None) -> None:
            register.apply(key, value)

        self.on_start(load)
        self.follow_register(apply)
        return register

    def follow_register(self, handle: RegisterHandler) -> None:
        """Every record of the a-kasse register (the compacted topic, outside any group) to
        `handle(key, value)`; a tombstone's value is None."""

        async def follow(body: RegisterRecord, message: KafkaMessage) -> None:
            record = message.raw_message
            assert not isinstance(record, tuple)
            await handle(record.key, record.value)

        register = provisioned(topics.AKASSE_REGISTER)
        self.broker.subscriber(register, **register_options(self.name))(follow)

    def ticks(self) -> None:
        """With the simulated clock, a service without a database follows the ticks sent on
        dfdg.timers from its start (no consumer group), after the latest one it read at start.
        Services with a database read the tick the notifier stored instead."""
        if not self.clock.simulated:
            return
        self.follows_ticks = True

        async def read_latest() -> None:
            for record in await latest_records(self.settings, topics.TIMERS):
                with contextlib.suppress(ValidationError, ArithmeticError, ValueError):
                    self.clock.observe_tick(Tick.model_validate_json(record.value or b"").now)

        async def follow(body: TickRecord) -> None:
            # the notifier rejects bad ticks; here they are simply not a clock
            with contextlib.suppress(ValidationError, ArithmeticError, ValueError):
                self.clock.observe_tick(Tick.model_validate_json(body).now)

        self.on_start(read_latest)
        self.broker.subscriber(
            provisioned(topics.TIMERS), auto_offset_reset="latest", decoder=raw_decoder,
            title=f"{self.name}.clock",
        )(follow)  # fmt: skip

    def on_start(self, hook: Hook) -> None:
        """Run `hook` at start, before the subscribers (in the order given)."""
        self._on_start.append(hook)

    def on_stop(self, hook: Hook) -> None:
        """Run `hook` at stop, after the subscribers (last given, first run)."""
        self._on_stop.append(hook)

    # -- wiring handlers -------------------------------------------------------------------

    def consume(
        self,
        source: topics.Source,
        expects: Any,
        handle: Handle,
        on_unexpected: Fallback,
        handle_batch: HandleBatch | None = None,
    ) -> None:
        """Handle every record of `source` (a topic, or a family of per-party topics followed
        by pattern) under the delivery policy (`deliver_batch`): batches from the consumer
        group, each citizen's records in order, several citizens at once, one offset commit
        per batch (see `subscriber_options`); a record whose `on_unexpected` fails as well is
        kept from its raw bytes alone (`KafkaOutbox.keep_raw`). `expects` is the model of one
        record for the AsyncAPI document; the records are read as raw bytes all the same
        (`shared.platform.asyncapi`). With `handle_batch`, a batch goes to it whole (one read
        and one bulk write per collection; JOBLOG_BATCH_PARTS parts of it at once, split by
        citizen), and `handle` takes the records one by one only when the whole batch failed on
        something other than an outage (`deliver_whole`)."""
        at_once = self.settings.consumer_workers

        async def on_batch(
            # a batch of raw records, each documented as one `expects` (a Kafka record carries
            # one message; the batch is our way of reading them)
            bodies: Annotated[list[bytes], Expects(expects), Field(title=expects.__name__)],
            message: KafkaMessage,
        ) -> None:
            records = message.raw_message
            assert isinstance(records, tuple)
            inbound = map(Inbound.of, records)
            async with self.clock.batch():
                if handle_batch is None:
                    await deliver_batch(
                        inbound, handle, on_unexpected, at_once, self.outbox.keep_raw
                    )
                else:
                    await deliver_whole(
                        inbound, handle_batch, handle, on_unexpected, at_once,
                        self.outbox.keep_raw, self.settings.batch_parts,
                    )  # fmt: skip

        options = subscriber_options(self.name, source.name, self.group(source.name))
        if source.pattern is None:
            self.broker.subscriber(provisioned(source.name), **options)(on_batch)
        else:
            subscriber = self.broker.subscriber(pattern=source.pattern, **options)
            subscriber(on_batch)
            self._by_pattern.append(subscriber)

    def sends(
        self, topic: str, model: Any, description: str | None = None, kind: str | None = None
    ) -> None:
        """Declare, for the AsyncAPI document, that this service publishes `model` on `topic`
        (`<nr>`/`<kode>` standing for a party's number); `kind` names a second kind of message
        on a topic already declared. Publishing itself goes through the outbox; the declared
        publisher is never called and creates no topic."""
        sends = "sends" if kind is None else f"{kind}.sends"
        channel = f"{self.name}.{sends}.{topic.replace('<', '').replace('>', '')}"
        self.broker.publisher(topic, schema=model, title=channel, description=description)

    def group(self, topic: str) -> str:
        """One consumer group per service and topic: a group's members then share one
        subscription, which keeps rebalances short."""
        return group_id(self.settings, self.name, topic)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Before the subscribers run. (Topics are the provisioning's: a service's principal
        may not create any.)"""
        await self.producer.start()
        for hook in self._on_start:
            await hook()

    async def _ping(self) -> None:
        assert self.mongo is not None
        await self.mongo.admin.command("ping")

    async def ready(self) -> bool:
        """Every consumer runs and has partitions assigned (one following a pattern may have
        none yet), and the database answers."""
        for subscriber in self.broker.subscribers:
            consumer = getattr(subscriber, "consumer", None)
            if consumer is None:
                return False
            if not consumer.assignment() and subscriber not in self._by_pattern:
                return False
        if self.mongo is not None:
            await self.mongo.admin.command("ping")
        return True

    async def stop(self) -> None:
        """Idempotent (a test may stop an instance before its exit stack does)."""
        hooks, self._on_stop = self._on_stop, []
        for hook in reversed(hooks):
            await hook()
        if self.http is not None:
            self.http.shutdown()
            self.http = None
        if self.mongo is not None:
            await self.mongo.close()
            self.mongo = None
        await self.producer.stop()

    def app(self, metrics_offset: int | None = None) -> FastStream:
        """The service as a FastStream app; Prometheus metrics, liveness and readiness
        (`shared.platform.health`) on JOBLOG_METRICS_PORT_BASE + `metrics_offset` (none when the
        base is 0)."""

        async def serve_metrics() -> None:
            base = self.settings.metrics_port_base
            if base and metrics_offset is not None:
                host = self.settings.metrics_host
                self.http = health.serve(host, base + metrics_offset, self.metrics, self.ready)

        return FastStream(
            self.broker,
            on_startup=[self.start, serve_metrics],
            after_shutdown=[self.stop],
            specification=self.asyncapi(),
        )

    def asyncapi(self) -> AsyncAPI:
        """The service's topics as an AsyncAPI document (`joblog asyncapi` writes them all)."""
        return AsyncAPI(
            self.broker, title=f"DFDG {self.name}", version="1", description=self.description
        )

    async def __aenter__(self) -> Self:
        await self.start()
        await self.broker.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.broker.stop()
        await self.stop()


class KafkaOutbox:
    """The outbox port (`shared.platform.ports.Outbox`) on the service's producer."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def publish(self, topic: str, key: str, payload: BaseModel | bytes) -> None:
        await publish(self.runtime.producer, topic, key, payload)

    async def reject(
        self,
        inbound: Inbound,
        refusal: Refusal,
        message_id: str | None,
        topic: str | None = None,
    ) -> None:
        """Write the refusal to the producer's *.rejected topic, keyed like the message."""
        runtime = self.runtime
        record = rejection(
            inbound, refusal, message_id, await runtime.clock.now(),
            runtime.settings.rejected_raw_max_bytes,
        )  # fmt: skip
        target = topic or topics.rejected_topic_for(inbound.topic)
        await self.publish(target, inbound.key or "", record)
        runtime.log.info(
            "rejected %s from %s: %s (%s)", message_id, inbound.topic, refusal.reason,
            refusal.field,
        )  # fmt: skip

    async def keep_raw(self, inbound: Inbound, error: Exception) -> None:
        """The delivery policy's last resort, for a record whose fallback failed too: an
        `internal_error` rejection made of the raw bytes alone (nothing is parsed), on the
        producer's rejected topic or, for the platform's own topics, dfdg.platform.rejected."""
        await self.reject(inbound, internal_error(error), None)


def provisioned(name: str) -> Topic:
    """A topic the provisioning made: subscribers never try to create one."""
    return Topic(name, declare=False)


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a service's background task (a scheduler, a run) and wait until it has ended."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Tick(BaseModel):
    """A clock tick on dfdg.timers."""

    now: datetime


def register_options(service: str) -> dict[str, Any]:
    """A subscriber of the whole a-kasse register (the compacted topic), outside any group."""
    return {
        "auto_offset_reset": "earliest",
        "decoder": raw_decoder,  # the record is read from the raw message (a tombstone too)
        "title": f"{service}.register",
    }


RegisterRecord = Annotated[bytes, Expects(AkasseEntry | None), Field(title="AkasseRegisterRecord")]
"""A register record, read raw, documented as an entry, or null (a tombstone) removing one."""
TickRecord = Annotated[bytes, Expects(Tick), Field(title="Tick")]
"""A tick, read raw, documented as one."""

P = TypeVar("P", covariant=True)


@dataclass(frozen=True)
class Service(Generic[P]):
    """A Kafka service as its composition root (`build(settings)`) makes it: the runtime that
    runs it, and the ports its handlers were made of (a test reaches them here, to stand in for
    a crash). `async with` runs it in this process, as the runtime does."""

    runtime: Runtime
    ports: P

    async def __aenter__(self) -> Self:
        await self.runtime.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.runtime.__aexit__(exc_type, exc, tb)


PATTERN_REFRESH_MS = 3000
BATCH_RECORDS = 1000
"""Records a subscriber takes at once: each batch costs its reads, bulk writes and commit once
(200, then 500: a sixth less of the services' and Kafka's CPU per change in the drain; 1,000:
in four interleaved pairs of the quick drain 1,702 against 1,509 changes/s after the first
answer, 2,000 no more)."""
BATCH_WAIT_MS = 20
"""An idle consumer looks for records this often (FastStream waits as long again when it found
none): the latency a batch subscriber adds."""


def subscriber_options(service: str, topic: str, group: str) -> dict[str, Any]:
    """Options of every durable consumer-group subscriber (see shared.platform.kafka.DURABLE_ACK):
    in batches, so offsets are committed once per batch rather than per record."""
    return {
        "group_id": group,
        "heartbeat_interval_ms": 1000,
        "ack_policy": DURABLE_ACK,
        "auto_offset_reset": "earliest",
        "decoder": raw_batch_decoder,
        "batch": True,
        "max_records": BATCH_RECORDS,
        "batch_timeout_ms": BATCH_WAIT_MS,
        "title": f"{service}.{topic}",
    }
