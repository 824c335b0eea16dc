"""Notifier: durable advisering timers and the notices: the citizen's on dfdg.notices.borger,
the jobcenter's on jobcenter.<kode>.notices.

- dfdg.citizen.changes (joblog activity, status, fritagelse stored): recompute the citizen's timer
  from DFDG with the pure rules of `services.notifier.advisering`.
- dfdg.timers: on each tick, fire every timer due by then, a batch at a time, each under a lease
  so several instances can share the work.
- In real-clock mode a scheduler task sends a tick with the wall-clock time every minute; ticks
  far from the wall clock are refused unless JOBLOG_CLOCK=simulated.

Exactly once: a notice's id is derived from (cpr, due time, recipient); it is stored before it is
sent, marked when Kafka acknowledged it, and a notice found unmarked after a crash is looked up
in its topic (from the offsets recorded before sending) before it is sent again (by a fresh
instance before the first tick it handles; the timer the crashed instance held is fired again
once its lease has lapsed and then finds its notices already sent).

Every notice carries the Kafka header `dfdg-platform` (the platform's JOBLOG_GROUP_PREFIX): the
lookup after a crash counts only what this platform sent, so another platform sharing the Kafka
(test sessions do) that sent the same notice id cannot make this one skip it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Counter
from pydantic import ValidationError

from services.notifier import advisering
from services.notifier.store import NotifierStore
from shared import topics
from shared.document import Document
from shared.events import CitizenChange, Rejection
from shared.facts import FactsReader
from shared.inbound import Inbound
from shared.kafka import client_options, records_since, topic_partitions
from shared.rejections import Reason, Refusal
from shared.service import Service, Tick
from shared.settings import Settings
from shared.tid import COPENHAGEN, as_utc

FIRING_AT_ONCE = 8
"""Timers of a batch fired concurrently (each under its own lease, so order does not matter)."""
REAL_TICK_TOLERANCE = timedelta(minutes=5)
PLATFORM_HEADER = "dfdg-platform"
"""Kafka header on every notice: which platform (JOBLOG_GROUP_PREFIX) sent it."""


class NotifierService(Service):
    name = "notifier"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.owner = f"notifier-{uuid.uuid4()}"
        self._recovered = False
        self._recovering = asyncio.Lock()
        self.store: NotifierStore
        self.facts: FactsReader
        self.offsets: AIOKafkaConsumer | None = None
        self._partitions: dict[str, list[TopicPartition]] = {}
        self.scheduler: asyncio.Task[None] | None = None
        self.sent = Counter(
            "dfdg_notices_sent", "Adviseringer sent", ["modtager"], registry=self.metrics
        )

        changes = topics.Source(topics.CITIZEN_CHANGES)
        self.consume(changes, CitizenChange, self.handle_change, self.keep)
        self.consume(topics.Source(topics.TIMERS), Tick, self.handle_tick, self.keep)
        self.sends(topics.NOTICES_BORGER, advisering.DueNotice, "an advisering to the citizen")
        notices = topics.jobcenter_notices("<kode>")
        self.sends(notices, advisering.DueNotice, "an advisering to the jobcenter")
        self.sends(topics.TIMERS, Tick, "a tick a minute (the real clock's scheduler)")
        self.sends(topics.CITIZEN_REJECTED, Rejection, "a bad tick, or a change we failed on")

    async def prepare_database(self) -> None:
        self.store = NotifierStore(self.db)
        self.facts = FactsReader(self.db)
        await self.store.create_indexes()
        self.offsets = AIOKafkaConsumer(**client_options(self.settings))
        await self.offsets.start()
        if not self.clock.simulated:
            self.scheduler = asyncio.create_task(self.emit_ticks())

    async def stop(self) -> None:
        """Idempotent (a test may stop an instance before its exit stack does)."""
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler
        offsets, self.offsets = self.offsets, None
        if offsets is not None:
            await offsets.stop()
        await super().stop()

    # -- timers ------------------------------------------------------------------------------

    async def keep(self, inbound: Inbound, error: Exception) -> None:
        """The fallback of `deliver`: dfdg.citizen.changes and dfdg.timers are ours, not a
        producer's with a *.rejected topic; what failed unexpectedly is kept on
        dfdg.citizen.rejected (before, looking up a rejected topic for them raised KeyError, so
        the message was retried forever instead)."""
        refusal = Refusal(Reason.INTERNAL_ERROR, f"internal error: {type(error).__name__}")
        await self.reject(inbound, refusal, None, topic=topics.CITIZEN_REJECTED)

    async def handle_change(self, inbound: Inbound) -> None:
        change = CitizenChange.model_validate_json(inbound.body)
        await self.recompute(change.cpr)

    async def recompute(self, cpr: str) -> None:
        timer = await self.store.timer(cpr)
        facts = await self.facts.facts(cpr)
        due = advisering.next_due(
            facts.periods,
            facts.exemptions,
            facts.last_activity,
            timer.get("lastNotifiedDue") if timer else None,
            days=self.settings.advisering_days,
            activities=facts.activities,
        )
        unchanged = timer is not None and _same(timer.get("due"), due) and not timer.get("lease")
        if not unchanged:  # (a timer being fired always learns of the recomputation)
            await self.store.set_due(cpr, due)

    async def handle_tick(self, inbound: Inbound) -> None:
        try:
            now = Tick.model_validate_json(inbound.body).now
        except ValidationError as error:
            refusal = Refusal(Reason.MALFORMED, f"not a tick: {error.errors()[0]['msg']}", "now")
            await self.reject(inbound, refusal, None, topic=topics.CITIZEN_REJECTED)
            return
        if not self.clock.simulated and abs(now - datetime.now(UTC)) > REAL_TICK_TOLERANCE:
            message = "a tick far from the wall clock needs JOBLOG_CLOCK=simulated"
            refusal = Refusal(Reason.FIELD_INVALID, message, "now")
            await self.reject(inbound, refusal, None, topic=topics.CITIZEN_REJECTED)
            return
        await self.recover_once()
        if self.clock.simulated:
            await self.clock.store_tick(now)
        await self.fire_due(now)
        await self.clock.store_fired(now)

    async def fire_due(self, now: datetime) -> int:
        """Fire every timer due at `now`; returns how many notices were sent."""
        sent = 0
        limit = asyncio.Semaphore(FIRING_AT_ONCE)

        async def fire(entry: str, cpr: str) -> int:
            async with limit:
                return await self.fire(entry, cpr, now)

        async for batch in self.store.due(now):
            sent += sum(await asyncio.gather(*(fire(entry, cpr) for entry, cpr in batch)))
        return sent

    async def fire(self, entry: str, cpr: str, now: datetime) -> int:
        """Fire the timer of a due-queue entry, unless the entry is stale or another instance
        holds the timer."""
        wall = datetime.now(UTC)
        lease = timedelta(seconds=self.settings.timer_lease_seconds)
        timer = await self.store.claim(cpr, now, self.owner, wall, wall + lease)
        if timer is None:
            await self.store.drop_if_stale(entry, cpr)
            return 0
        facts = await self.facts.facts(cpr)
        notices, due = advisering.due_notices(
            cpr,
            facts.periods,
            facts.exemptions,
            facts.last_activity,
            timer.get("lastNotifiedDue"),
            now,
            days=self.settings.advisering_days,
            activities=facts.activities,
        )
        if notices:
            await self.send(notices)
        notified = max((n.forfaldt for n in notices), default=None)
        if not await self.store.release(timer, due, notified):
            await self.recompute(cpr)
        return len(notices)

    # -- notices -----------------------------------------------------------------------------

    async def send(self, notices: list[advisering.DueNotice]) -> None:
        names = sorted({notice_topic(n.modtager, n.jobcenter) for n in notices})
        checkpoint = await self.notice_offsets(names)
        pending, stored_before = await self.store.add_pending(notices, checkpoint)
        if pending and stored_before:  # left unmarked by a crash: maybe sent, maybe not
            pending = await self.not_in_topic(pending)
        await self.publish_notices(pending)

    async def publish_notices(self, pending: list[Document]) -> None:
        headers = {"content-type": "application/json", PLATFORM_HEADER: self.platform_id}

        async def publish(doc: Document) -> None:
            payload = advisering_payload(doc)
            topic = notice_topic(doc["modtager"], doc["jobcenter"])
            await self.broker.publish(
                _json(payload), topic, key=doc["cpr"].encode(), headers=headers
            )
            self.sent.labels(doc["modtager"]).inc()

        await asyncio.gather(*(publish(doc) for doc in pending))
        await self.store.mark_published(doc["_id"] for doc in pending)

    @property
    def platform_id(self) -> str:
        return self.settings.group_prefix

    async def recover_once(self) -> None:
        """Recovery runs before the first tick this instance handles: it publishes, so it needs
        the broker connected, which it is not yet while the service starts."""
        if self._recovered:
            return
        async with self._recovering:
            if not self._recovered:
                await self.recover()
                self._recovered = True

    async def recover(self) -> None:
        """At start: send what a crash left unmarked, unless it is already in the topic."""
        pending = await self.store.pending()
        if pending:
            self.log.info("recovering %d notices left unmarked", len(pending))
            await self.publish_notices(await self.not_in_topic(pending))

    async def notice_offsets(self, names: list[str]) -> list[dict[str, Any]]:
        """Where the notice topics end now, a `{topic, partition, offset}` each (topic names
        hold dots, which a document's keys may not; FerretDB stores no nested arrays)."""
        assert self.offsets is not None
        missing = [name for name in names if name not in self._partitions]
        if missing:  # a topic's partitions are asked once (the whole cluster's metadata)
            for tp in await topic_partitions(self.offsets, missing):
                self._partitions.setdefault(tp.topic, []).append(tp)
        parts = [tp for name in names for tp in self._partitions.get(name, [])]
        ends = await self.offsets.end_offsets(parts)
        return [
            {"topic": tp.topic, "partition": tp.partition, "offset": offset}
            for tp, offset in ends.items()
        ]

    async def not_in_topic(self, pending: list[Document]) -> list[Document]:
        """The pending notices not found in their topics after their checkpoints; those found
        are marked published."""
        start: dict[TopicPartition, int] = {}
        for doc in pending:
            for mark in doc["checkpoint"]:
                tp, offset = TopicPartition(mark["topic"], mark["partition"]), mark["offset"]
                start[tp] = min(start.get(tp, offset), offset)
        seen = await self._notice_ids_since(start)
        await self.store.mark_published(doc["_id"] for doc in pending if doc["_id"] in seen)
        return [doc for doc in pending if doc["_id"] not in seen]

    async def _notice_ids_since(self, since: dict[TopicPartition, int]) -> set[str]:
        return {
            _notice_id(record.value)
            async for record in records_since(self.settings, since)
            if _sent_by(record.headers, self.platform_id)
        }

    # -- the scheduler -----------------------------------------------------------------------

    async def emit_ticks(self) -> None:
        """Real-clock mode: a tick with the wall-clock time every interval."""
        while True:
            try:
                await self.publish(topics.TIMERS, "clock", Tick(now=datetime.now(UTC)))
            except Exception as error:  # keep ticking; the next one will do
                self.log.warning("could not send tick: %r", error)
            await asyncio.sleep(self.settings.tick_interval_seconds)


def notice_topic(modtager: str, jobcenter: str) -> str:
    """The citizen's notice goes to digital post, the jobcenter's to that jobcenter only."""
    return topics.NOTICES_BORGER if modtager == "borger" else topics.jobcenter_notices(jobcenter)


def _same(stored: datetime | None, due: datetime | None) -> bool:
    if stored is None or due is None:
        return stored is due
    return as_utc(stored) == as_utc(due)


def advisering_payload(doc: Document) -> dict[str, object]:
    keys = (
        "noticeId", "modtager", "cpr", "jobcenter", "maalgruppe", "senesteAktivitet",
        "dageUdenAktivitet", "forfaldt", "udstedt",
    )  # fmt: skip
    return {key: _iso(doc.get(key)) for key in keys}


def _iso(value: object) -> object:
    """Stored datetimes (UTC) as ISO 8601 with the Copenhagen offset, like the other times."""
    if isinstance(value, datetime):
        return value.astimezone(COPENHAGEN).isoformat()
    return value


def _sent_by(headers: Sequence[tuple[str, bytes]] | None, platform_id: str) -> bool:
    """Whether a notice record was sent by this platform; a record without the header
    was sent before it existed, by this platform (one platform per Kafka in production)."""
    values = [value for key, value in headers or () if key == PLATFORM_HEADER]
    return not values or values[-1] == platform_id.encode()


def _json(payload: dict[str, object]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def _notice_id(value: bytes | None) -> str:
    try:
        return str(json.loads(value or b"{}").get("noticeId"))
    except (ValueError, AttributeError):
        return ""


def build(settings: Settings) -> NotifierService:
    return NotifierService(settings)
