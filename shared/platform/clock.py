"""The platform's clock.

Normally the wall clock. With JOBLOG_CLOCK=simulated the latest tick on dfdg.timers is the clock
everywhere: the notifier stores each tick it processes in the `clock` document, services with a
database read it from there, and the adapters (which have none) follow the ticks sent after they
started (the wall clock until the first).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

from pymongo.asynchronous.database import AsyncDatabase

from shared.contract.tid import as_utc, day_of
from shared.platform.settings import ClockMode
from shared.readmodel import collections
from shared.readmodel.document import Document

CLOCK_ID = "platform"
_batch_time: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "batch_time", default=None
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PlatformClock:
    def __init__(self, mode: ClockMode, db: AsyncDatabase[Document] | None = None) -> None:
        self.mode = mode
        self._db = db
        self._latest_tick = EPOCH

    @property
    def simulated(self) -> bool:
        return self.mode is ClockMode.SIMULATED

    def observe_tick(self, now: datetime) -> None:
        """A tick was seen on dfdg.timers; the simulated clock never goes backwards."""
        self._latest_tick = max(self._latest_tick, as_utc(now))

    async def now(self) -> datetime:
        if not self.simulated:
            return datetime.now(UTC)
        if (pinned := _batch_time.get()) is not None:
            return pinned
        if self._db is not None:
            doc = await self._db[collections.CLOCK].find_one({"_id": CLOCK_ID})
            if doc is not None:
                self.observe_tick(doc["now"])
        if self._latest_tick == EPOCH:  # no tick yet: not stored, or not seen since the start
            return datetime.now(UTC)
        return self._latest_tick

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Simulated clock: one reading for the records of a batch (handled in this context)
        instead of a database read per record. A tick is handled before the records sent after
        it are fetched, so the reading at the start of their batch already shows it."""
        if not self.simulated:
            yield
            return
        token = _batch_time.set(await self.now())
        try:
            yield
        finally:
            _batch_time.reset(token)

    async def today(self) -> date:
        return day_of(await self.now())

    async def store_tick(self, now: datetime) -> None:
        """Record a processed tick (notifier only): later readers see at least this time."""
        self.observe_tick(now)
        if self._db is not None:
            await self._db[collections.CLOCK].update_one(
                {"_id": CLOCK_ID}, {"$max": {"now": as_utc(now)}}, upsert=True
            )

    async def store_fired(self, now: datetime) -> None:
        """Record that every timer due by `now` has fired (lets a simulation know a tick is
        done)."""
        if self._db is not None:
            await self._db[collections.CLOCK].update_one(
                {"_id": CLOCK_ID}, {"$max": {"fired": as_utc(now)}}, upsert=True
            )
