"""Notifier: durable advisering timers and the notices: the citizen's on dfdg.notices.borger,
the jobcenter's on jobcenter.<kode>.notices; and the monthly duty's (lov 371) reminder to the
citizen and notice of a missed month to the jobcenter, from a queue of their own.

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
import logging
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

from prometheus_client import Counter

from services.notifier import advisering, handlers, maaned
from services.notifier.maaned_store import MaanedQueue
from services.notifier.notice_topics import KafkaNoticeTopics
from services.notifier.ports import NotifierPorts
from services.notifier.store import NotifierStore
from shared.contract import topics
from shared.contract.events import CitizenChange, Rejection
from shared.platform.registry import named
from shared.platform.runtime import Runtime, Service, Tick, cancel
from shared.platform.settings import Settings
from shared.readmodel.facts import FactsReader

SPEC = named("notifier")
log = logging.getLogger("dfdg.notifier")


def build(settings: Settings) -> Service[NotifierPorts]:
    """The composition root (tests reach a running notifier's store and notice topics through
    the ports it returns, to stand in for a crash)."""
    runtime = Runtime(SPEC.name, settings, __doc__ or "", with_database=True)
    db = runtime.database()
    store = NotifierStore(db)
    notice_topics = KafkaNoticeTopics(runtime.producer, settings)
    sent = Counter("dfdg_notices_sent", "Adviseringer sent", ["modtager"], registry=runtime.metrics)
    ports = NotifierPorts(
        store=store,
        facts=FactsReader(db),
        clock=runtime.clock,
        outbox=runtime.outbox,
        notices=notice_topics,
        count_sent=lambda modtager: sent.labels(modtager).inc(),
        owner=f"notifier-{uuid.uuid4()}",
        platform_id=settings.group_prefix,
        advisering_days=settings.advisering_days,
        lease=timedelta(seconds=settings.timer_lease_seconds),
        maaned=MaanedQueue(db),
        paamindelse_days=settings.paamindelse_days,
    )
    runtime.on_start(store.drop_unused_indexes)
    runtime.on_start(notice_topics.start)
    runtime.on_stop(notice_topics.stop)
    if not runtime.clock.simulated:
        scheduler = TickScheduler(runtime)
        runtime.on_start(scheduler.start)
        runtime.on_stop(scheduler.stop)

    keep = partial(handlers.keep, ports=ports)
    changes = topics.Source(topics.CITIZEN_CHANGES)
    runtime.consume(
        changes,
        CitizenChange,
        partial(handlers.handle_change, ports=ports),
        keep,
        handle_batch=partial(handlers.handle_changes, ports=ports),
    )
    ticks = partial(handlers.handle_tick, ports=ports)
    runtime.consume(topics.Source(topics.TIMERS), Tick, ticks, keep)
    borger, notices = topics.NOTICES_BORGER, topics.jobcenter_notices("<kode>")
    runtime.sends(borger, advisering.DueNotice, "an advisering to the citizen")
    runtime.sends(notices, advisering.DueNotice, "an advisering to the jobcenter")
    reminder = "the monthly duty's reminder to the citizen (noticeType maanedlig_paamindelse)"
    runtime.sends(borger, maaned.MaanedNotice, reminder, kind="maaned")
    missed = "a month without registration, to the jobcenter (noticeType maaned_uden_registrering)"
    runtime.sends(notices, maaned.MaanedNotice, missed, kind="maaned")
    runtime.sends(topics.TIMERS, Tick, "a tick a minute (the real clock's scheduler)")
    runtime.sends(topics.PLATFORM_REJECTED, Rejection, "a bad tick, or a change we failed on")
    return Service(runtime, ports)


class TickScheduler:
    """Real-clock mode: a task sending a tick with the wall-clock time every interval."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.emit_ticks())

    async def stop(self) -> None:
        task, self.task = self.task, None
        await cancel(task)

    async def emit_ticks(self) -> None:
        while True:
            try:
                await self.runtime.outbox.publish(
                    topics.TIMERS, "clock", Tick(now=datetime.now(UTC))
                )
            except Exception as error:  # keep ticking; the next one will do
                log.warning("could not send tick: %r", error)
            await asyncio.sleep(self.runtime.settings.tick_interval_seconds)
