"""The retention service's handlers, wired in `services/retention/app.py`.

- dfdg.joblog.changes: each accepted change adds its entries to the queue (`udloeb`): the day it
  changed the joblog, the day its message id was finished (`retention.entries_of`); one read of
  those entries and one insert per batch of those not there yet (a joblog changed again the
  same day adds none).
- dfdg.timers: on the first tick of a (Copenhagen) day, the day's run of the job starts in the
  background (`Runner`), so a long run holds up neither the ticks nor the consumer group.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from pydantic import BaseModel, ValidationError

from services.retention.job import Busy, Job, Report
from services.retention.store import RetentionStore
from shared.contract import topics
from shared.contract.inbound import Inbound
from shared.contract.rejections import internal_error
from shared.contract.retention import entries_of
from shared.contract.tid import day_of
from shared.platform.ports import Outbox
from shared.platform.runtime import Tick, cancel

log = logging.getLogger("dfdg.retention")
REAL_TICK_TOLERANCE = timedelta(minutes=5)


class _Stored(BaseModel):
    """The fields of a change's stored entry the queue needs (`retention.Changed`), parsed
    alone: not the whole `JoblogChange` with its joblog (a third of the service's CPU)."""

    kilde: str
    senestAendret: datetime
    joblogId: UUID
    kildeBeskedId: UUID


class _Change(BaseModel):
    entry: _Stored
    snapshot: bool = False


async def handle_changes(batch: list[Inbound], store: RetentionStore) -> None:
    """A batch of accepted changes: their queue entries in one insert (a snapshot for a new
    a-kasse is no change; the platform's own retention changes add none)."""
    keys: list[str] = []
    for inbound in batch:
        change = _Change.model_validate_json(inbound.body)
        if not change.snapshot:
            keys += entries_of(change.entry)
    await store.add_entries(keys)


async def handle_change(inbound: Inbound, store: RetentionStore) -> None:
    await handle_changes([inbound], store)


async def keep(inbound: Inbound, error: Exception, outbox: Outbox) -> None:
    """What failed unexpectedly is kept on the operator's dfdg.platform.rejected (a bad tick is
    the notifier's to refuse: here it is only not a clock)."""
    await outbox.reject(inbound, internal_error(error), None, topic=topics.PLATFORM_REJECTED)


class Runner:
    """Runs the job once a day, on the platform clock: at the first tick of a day after the
    last day run, in a background task (one at a time; a tick meanwhile is kept and run after)."""

    def __init__(
        self,
        job: Job,
        store: RetentionStore,
        simulated: bool,
        ran: Callable[[Report], None],
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.job = job
        self.store = store
        self.simulated = simulated
        self.ran = ran
        self.wall_clock = wall_clock
        self.task: asyncio.Task[None] | None = None
        self.last: date | None = None
        self.pending: datetime | None = None

    async def handle_tick(self, inbound: Inbound) -> None:
        try:
            now = Tick.model_validate_json(inbound.body).now
        except ValidationError:
            return  # refused by the notifier; not a clock
        if not self.simulated and abs(now - self.wall_clock()) > REAL_TICK_TOLERANCE:
            return
        await self.tick(now)

    async def tick(self, now: datetime) -> None:
        if self.task is not None and not self.task.done():
            self.pending = max(self.pending or now, now)
            return
        today = day_of(now)
        if self.last is None or self.last < today:
            self.last = await self.store.last_run()  # (another instance may have run it)
        if self.last is None or self.last < today:
            self.task = asyncio.create_task(self._run(now))

    async def _run(self, now: datetime) -> None:
        while True:
            try:
                report = await self.job.run(now)
            except Busy:
                log.info("retention: another run holds the job; the next tick tries again")
            except Exception:
                log.exception("retention run for %s failed; the next day's tick tries again", now)
            else:
                self.last = day_of(now)
                self.ran(report)
                log.info("retention run for %s: %s", day_of(now), report.deleted or "nothing due")
            pending, self.pending = self.pending, None
            if pending is None or (self.last is not None and day_of(pending) <= self.last):
                return
            now = pending

    async def idle(self) -> None:
        """Wait for the run in progress, if any (tests)."""
        while self.task is not None and not self.task.done():
            await asyncio.shield(self.task)

    async def stop(self) -> None:
        task, self.task = self.task, None
        await cancel(task)
