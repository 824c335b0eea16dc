"""The notifier's handlers: functions of (message, ports), wired in `services/notifier/app.py`.

- a citizen's change: recompute his timer with the pure rules of `services.notifier.advisering`;
- a tick: fire every timer due by then, a batch at a time, each under a lease so several
  instances can share the work; the notices go out through `services.notifier.notices`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from pydantic import ValidationError

from services.notifier import advisering, notices
from services.notifier.ports import NotifierPorts
from shared.contract import topics
from shared.contract.events import CitizenChange
from shared.contract.inbound import Inbound
from shared.contract.rejections import Reason, Refusal, internal_error
from shared.contract.tid import as_utc
from shared.platform.runtime import Tick

FIRING_AT_ONCE = 8
"""Timers of a batch fired concurrently (each under its own lease, so order does not matter)."""
REAL_TICK_TOLERANCE = timedelta(minutes=5)


async def keep(inbound: Inbound, error: Exception, ports: NotifierPorts) -> None:
    """The fallback of `deliver_batch`: dfdg.citizen.changes and dfdg.timers are the platform's
    and the operator's, not a party's with a *.rejected topic; what failed unexpectedly is kept
    on dfdg.platform.rejected (the operator reads it; `joblog replay` sends it again)."""
    refusal = internal_error(error)
    await ports.outbox.reject(inbound, refusal, None, topic=topics.PLATFORM_REJECTED)


async def handle_change(inbound: Inbound, ports: NotifierPorts) -> None:
    change = CitizenChange.model_validate_json(inbound.body)
    await recompute(change.cpr, ports)


async def recompute(cpr: str, ports: NotifierPorts) -> None:
    """The citizen's next due time from his facts; the timer is written only if it changed (or
    is being fired: a timer being fired always learns of the recomputation)."""
    timer = await ports.store.timer(cpr)
    facts = await ports.facts.facts(cpr)
    due = advisering.next_due(
        facts.periods,
        facts.exemptions,
        facts.last_activity,
        timer.last_notified_due if timer else None,
        days=ports.advisering_days,
        activities=facts.activities,
    )
    unchanged = timer is not None and _same(timer.due, due) and not timer.lease
    if not unchanged:
        await ports.store.set_due(cpr, due)


async def handle_tick(inbound: Inbound, ports: NotifierPorts) -> None:
    """A tick: refused if it is none, or (real clock) far from the wall clock; otherwise, after
    recovery, every timer due by its time fires and the clock records it."""
    try:
        now = Tick.model_validate_json(inbound.body).now
    except ValidationError as error:
        refusal = Refusal(Reason.MALFORMED, f"not a tick: {error.errors()[0]['msg']}", "now")
        await ports.outbox.reject(inbound, refusal, None, topic=topics.PLATFORM_REJECTED)
        return
    clock = ports.clock
    if not clock.simulated and abs(now - ports.wall_clock()) > REAL_TICK_TOLERANCE:
        message = "a tick far from the wall clock needs JOBLOG_CLOCK=simulated"
        refusal = Refusal(Reason.FIELD_INVALID, message, "now")
        await ports.outbox.reject(inbound, refusal, None, topic=topics.PLATFORM_REJECTED)
        return
    await notices.recover_once(ports)
    if clock.simulated:
        await clock.store_tick(now)
    await fire_due(now, ports)
    await clock.store_fired(now)


async def fire_due(now: datetime, ports: NotifierPorts) -> int:
    """Fire every timer due at `now`; returns how many notices were sent."""
    sent = 0
    limit = asyncio.Semaphore(FIRING_AT_ONCE)

    async def one(entry: str, cpr: str) -> int:
        async with limit:
            return await fire(entry, cpr, now, ports)

    async for batch in ports.store.due(now):
        sent += sum(await asyncio.gather(*(one(entry, cpr) for entry, cpr in batch)))
    return sent


async def fire(entry: str, cpr: str, now: datetime, ports: NotifierPorts) -> int:
    """Fire the timer of a due-queue entry, unless the entry is stale or another instance holds
    the timer; returns how many notices were sent."""
    wall = ports.wall_clock()
    timer = await ports.store.claim(cpr, now, ports.owner, wall, wall + ports.lease)
    if timer is None:
        await ports.store.drop_if_stale(entry, cpr)
        return 0
    facts = await ports.facts.facts(cpr)
    due_now, due = advisering.due_notices(
        cpr,
        facts.periods,
        facts.exemptions,
        facts.last_activity,
        timer.last_notified_due,
        now,
        days=ports.advisering_days,
        activities=facts.activities,
    )
    if due_now:
        await notices.send(due_now, ports)
    notified = max((n.forfaldt for n in due_now), default=None)
    if not await ports.store.release(timer, due, notified):
        await recompute(cpr, ports)
    return len(due_now)


def _same(stored: datetime | None, due: datetime | None) -> bool:
    if stored is None or due is None:
        return stored is due
    return as_utc(stored) == as_utc(due)
