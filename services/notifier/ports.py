"""What the notifier's handlers use, as ports: its store, the citizens' facts, the platform
clock, the outbox for refusals, the notice topics (publishing notices, reading back what was
sent after a crash) and a few settings. The composition root (`app.py`) passes the real ones,
the handler tests (`tests/unit/test_notifier_handlers.py`) in-memory fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.notifier.maaned import Frist
from services.notifier.records import Notice, StoredNotice, Timer, TopicOffset
from shared.platform.ports import Outbox
from shared.readmodel.facts import Facts


class Store(Protocol):
    """The timers, the due queue and the notices (`services.notifier.store.NotifierStore`)."""

    async def timer(self, cpr: str) -> Timer | None: ...

    async def set_due(self, cpr: str, due: datetime | None) -> None: ...

    def due(self, now: datetime) -> AsyncIterator[list[tuple[str, str]]]:
        """The due queue's entries (entry id, cpr) due by `now`, oldest first, in batches."""
        ...

    async def drop_if_stale(self, entry_id: str, cpr: str) -> None: ...

    async def claim(
        self, cpr: str, now: datetime, owner: str, wall_now: datetime, until: datetime
    ) -> Timer | None: ...

    async def release(
        self, timer: Timer, due: datetime | None, notified: datetime | None
    ) -> bool: ...

    async def timers_of(self, cprs: list[str]) -> dict[str, Timer]: ...

    async def set_due_many(
        self, dues: dict[str, datetime | None], before: dict[str, Timer]
    ) -> None: ...

    def due_chunks(self, now: datetime) -> AsyncIterator[list[tuple[str, str]]]:
        """The due queue's entries (entry id, cpr) due by `now`, oldest first, in chunks, each
        read as an `_id` range."""
        ...

    async def claim_many(
        self, cprs: list[str], now: datetime, owner: str, wall_now: datetime, until: datetime
    ) -> tuple[dict[str, Timer], dict[str, Timer]]:
        """The leases on the due, free timers of `cprs`: (those claimed, the others)."""
        ...

    async def drop_stale(
        self, entries: list[tuple[str, str]], timers: dict[str, Timer]
    ) -> None: ...

    async def release_many(
        self, fired: list[tuple[Timer, datetime | None, datetime | None]]
    ) -> list[Timer]:
        """`release` of each (timer, due, notified); returns those recomputed meanwhile."""
        ...

    async def add_pending(
        self, notices: Iterable[Notice], checkpoint: Iterable[TopicOffset]
    ) -> tuple[list[StoredNotice], bool]: ...

    async def pending(self) -> list[StoredNotice]: ...

    async def settled(self, notices: Sequence[Notice]) -> None:
        """The notices of one `add_pending` are all known sent: their marker goes."""
        ...

    async def mark_published(self, ids: Iterable[str]) -> None: ...


class MaanedQueue(Protocol):
    """The monthly notices' queue (`services.notifier.maaned_store.MaanedQueue`)."""

    async def add(self, frister: Iterable[Frist]) -> None: ...

    def due_chunks(self, now: datetime) -> AsyncIterator[list[Frist]]:
        """The entries due by `now`, oldest first, in chunks, each read as an `_id` range."""
        ...

    async def claim(
        self, frister: list[Frist], owner: str, wall_now: datetime, until: datetime
    ) -> tuple[list[Frist], str]:
        """The leases on those no other instance holds: (the frister claimed, the token)."""
        ...

    async def done(self, fired: list[Frist], token: str, following: list[Frist]) -> None: ...


class FactsSource(Protocol):
    """A citizen's facts (`shared.readmodel.facts.FactsReader`)."""

    async def facts(self, cpr: str) -> Facts: ...

    async def facts_many(self, cprs: Sequence[str]) -> dict[str, Facts]:
        """The facts of each of `cprs`, in one read."""
        ...


class TickClock(Protocol):
    """The platform clock as the notifier keeps it (`shared.platform.clock.PlatformClock`)."""

    @property
    def simulated(self) -> bool: ...

    async def now(self) -> datetime: ...

    async def store_tick(self, now: datetime) -> None: ...

    async def store_fired(self, now: datetime) -> None: ...


@dataclass(frozen=True)
class SentRecord:
    """A record read back from a notice topic."""

    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


class NoticeTopics(Protocol):
    """dfdg.notices.borger and jobcenter.<kode>.notices on Kafka
    (`services.notifier.notice_topics.KafkaNoticeTopics`)."""

    async def publish(self, topic: str, key: str, body: bytes, headers: dict[str, str]) -> None: ...

    async def end_offsets(self, names: list[str]) -> list[TopicOffset]:
        """Where the topics' partitions end now."""
        ...

    def records_since(self, start: dict[tuple[str, int], int]) -> AsyncIterator[SentRecord]:
        """The records from the offsets `start` ((topic, partition): offset) to the ends."""
        ...


class Once:
    """Runs a coroutine once per process, the first caller's (the others wait for it)."""

    def __init__(self) -> None:
        self.done = False
        self._lock = asyncio.Lock()

    async def run(self, action: Callable[[], Awaitable[None]]) -> None:
        if self.done:
            return
        async with self._lock:
            if not self.done:
                await action()
                self.done = True


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class NotifierPorts:
    store: Store
    facts: FactsSource
    clock: TickClock
    outbox: Outbox
    """Refusals (a bad tick, a change the notifier failed on) to dfdg.platform.rejected."""
    notices: NoticeTopics
    count_sent: Callable[[str], None]
    """Count a notice sent, by `modtager` (the dfdg_notices_sent metric)."""
    owner: str
    """This instance, as the holder of the timers' leases."""
    platform_id: str
    """JOBLOG_GROUP_PREFIX, in the header of every notice sent."""
    advisering_days: int
    lease: timedelta
    """How long an instance holds a timer it fires (JOBLOG_TIMER_LEASE_SECONDS)."""
    maaned: MaanedQueue
    """The monthly notices' queue."""
    paamindelse_days: int
    """Days of the month left when the monthly reminder goes (JOBLOG_PAAMINDELSE_DAYS)."""
    wall_clock: Callable[[], datetime] = wall_clock
    """The wall clock (leases; a real-clock tick's distance from it)."""
    recovery: Once = field(default_factory=Once)
    """Recovery after a crash, before the first tick this instance handles."""
