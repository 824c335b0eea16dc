"""The notifier's handlers: functions of (message, ports), wired in `services/notifier/app.py`.

- a citizen's change: recompute his timer with the pure rules of `services.notifier.advisering`;
  a joblog activity alone is left to the timer's firing (`can_move_earlier`);
- a tick: fire every timer due by then, a batch at a time, each under a lease so several
  instances can share the work; the notices go out through `services.notifier.notices`;
- the monthly notices (lov 371) alongside: `services.notifier.maaned_sweep`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import ValidationError

from services.notifier import advisering, maaned_sweep, notices
from services.notifier.in_flight import fire_chunks
from services.notifier.ports import NotifierPorts
from services.notifier.records import Timer
from shared.contract import topics
from shared.contract.events import CitizenChange
from shared.contract.inbound import Inbound
from shared.contract.rejections import Reason, Refusal, internal_error
from shared.contract.tid import as_utc
from shared.platform.runtime import Tick
from shared.readmodel.facts import Facts

REAL_TICK_TOLERANCE = timedelta(minutes=5)


async def keep(inbound: Inbound, error: Exception, ports: NotifierPorts) -> None:
    """The fallback of `deliver_batch`: dfdg.citizen.changes and dfdg.timers are the platform's
    and the operator's, not a party's with a *.rejected topic; what failed unexpectedly is kept
    on dfdg.platform.rejected (the operator reads it; `joblog replay` sends it again)."""
    refusal = internal_error(error)
    await ports.outbox.reject(inbound, refusal, None, topic=topics.PLATFORM_REJECTED)


def can_move_earlier(change: CitizenChange) -> bool:
    """Whether a change may bring the citizen's next due time forward, or set one where he had
    none: a status or fritagelse may; an accepted joblog activity may not (it comes after every
    earlier one, and such an activity leaves the next due time where it was or moves it later:
    `tests/unit/test_advisering.py::test_an_activity_after_the_last_one_never_makes_the_next_
    due_time_earlier`). So the timer is not rewritten for an activity: it fires at the earlier
    due time, where the sweep decides from the facts as they are then (no notice, as the
    activity came before it) and moves it on, once in 30 days instead of at every change. Nor
    do the monthly frister depend on activity (`maaned.ved_aendring` reads the status alone)."""
    return change.aarsag != "joblog"


async def handle_change(inbound: Inbound, ports: NotifierPorts) -> None:
    change = CitizenChange.model_validate_json(inbound.body)
    if not can_move_earlier(change):
        return
    await recompute(change.cpr, ports)
    await maaned_sweep.make_sure([await ports.facts.facts(change.cpr)], ports)


async def handle_changes(batch: list[Inbound], ports: NotifierPorts) -> None:
    """A batch of dfdg.citizen.changes: its citizens recomputed together (`recompute_many`).
    A record that is no change fails the batch, which `deliver_whole` then handles record by
    record (the bad one kept for the operator, the others recomputed one by one)."""
    changes = [CitizenChange.model_validate_json(inbound.body) for inbound in batch]
    cprs = sorted({change.cpr for change in changes if can_move_earlier(change)})
    if cprs:
        await recompute_many(cprs, ports)


async def recompute_many(cprs: list[str], ports: NotifierPorts) -> None:
    """`recompute` for a batch's distinct citizens: one read of their timers, one of their
    facts, the pure rule in memory, one bulk write of the timers that changed (and their queue
    entries, `set_due_many`); then, from the same facts, the monthly frister made sure of."""
    timers = await ports.store.timers_of(cprs)
    facts_of = await ports.facts.facts_many(cprs)
    changed: dict[str, datetime | None] = {}
    for cpr in cprs:
        due, write = _recomputed(timers.get(cpr), facts_of[cpr], ports)
        if write:
            changed[cpr] = due
    await ports.store.set_due_many(changed, timers)
    await maaned_sweep.make_sure(facts_of.values(), ports)


async def recompute(cpr: str, ports: NotifierPorts) -> None:
    """The citizen's next due time from his facts; the timer is written only if it changed (or
    is being fired: a timer being fired always learns of the recomputation)."""
    due, write = _recomputed(await ports.store.timer(cpr), await ports.facts.facts(cpr), ports)
    if write:
        await ports.store.set_due(cpr, due)


def _recomputed(
    timer: Timer | None, facts: Facts, ports: NotifierPorts
) -> tuple[datetime | None, bool]:
    """The citizen's next due time, and whether his timer must be written: it changed, or it is
    being fired (a timer being fired always learns of the recomputation)."""
    due = advisering.next_due(
        facts.periods,
        facts.exemptions,
        facts.last_activity,
        timer.last_notified_due if timer else None,
        days=ports.advisering_days,
        activities=facts.activities,
    )
    unchanged = timer is not None and _same(timer.due, due) and not timer.lease
    return due, not unchanged


async def handle_tick(inbound: Inbound, ports: NotifierPorts) -> None:
    """A tick: refused if it is none, or (real clock) far from the wall clock; otherwise, after
    recovery, every timer and monthly entry due by its time fires and the clock records it."""
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
    await maaned_sweep.fire_due(now, ports)
    await clock.store_fired(now)


async def fire_due(now: datetime, ports: NotifierPorts) -> int:
    """Fire every timer due at `now`, a chunk of the due queue at a time (`fire_chunk`), two
    chunks in flight (`in_flight`); returns how many notices were sent."""
    return await fire_chunks(ports.store.due_chunks(now), lambda c: fire_chunk(c, now, ports))


async def fire_chunk(chunk: list[tuple[str, str]], now: datetime, ports: NotifierPorts) -> int:
    """Fire the timers of a chunk of due-queue entries in bulk: one claim of their leases and
    read of the timers, the stale entries dropped together, one read of the citizens' facts,
    the notices of all of them stored, sent and marked together (`notices.send`: one offsets
    lookup, one insert, the publishes gathered, one mark), the timers moved on in one write.
    Exactly once as `fire` is: the notices are stored before they are sent with deterministic
    ids, and a timer whose claimer crashed is fired again when its lease lapses and finds them.
    Returns how many notices were sent."""
    store = ports.store
    wall = ports.wall_clock()
    cprs = sorted({cpr for _, cpr in chunk})
    claimed, others = await store.claim_many(cprs, now, ports.owner, wall, wall + ports.lease)
    await store.drop_stale([(e, cpr) for e, cpr in chunk if cpr not in claimed], others)
    if not claimed:
        return 0
    facts_of = await ports.facts.facts_many(sorted(claimed))
    due_now: list[advisering.DueNotice] = []
    fired: list[tuple[Timer, datetime | None, datetime | None]] = []
    for cpr, timer in claimed.items():
        facts = facts_of[cpr]
        notices_now, due = advisering.due_notices(
            cpr,
            facts.periods,
            facts.exemptions,
            facts.last_activity,
            timer.last_notified_due,
            now,
            days=ports.advisering_days,
            activities=facts.activities,
        )
        due_now += notices_now
        fired.append((timer, due, max((n.forfaldt for n in notices_now), default=None)))
    if due_now:
        await notices.send(due_now, ports)
    for timer in await store.release_many(fired):
        await recompute(timer.cpr, ports)
    return len(due_now)


def _same(stored: datetime | None, due: datetime | None) -> bool:
    if stored is None or due is None:
        return stored is due
    return as_utc(stored) == as_utc(due)
