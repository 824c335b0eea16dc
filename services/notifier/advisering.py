"""Adviseringer: THE place where the 30-day rule lives.

Pure functions, no I/O: given a citizen's status timeline, exemptions, last joblog activity and
the last due time already notified, decide when the next pair of notices falls due and which
notices are due at a given moment. The notifier service stores state and publishes; this module
only computes.

The rule (contract, "Adviseringer"): a citizen with the duty (målgruppe carries the duty and no
fritagelse covers the day) who has had no joblog activity for 30 days gets two notices, one to
the citizen (`modtager="borger"`) and one to the jobcenter (`modtager="jobcenter"`).

The clock starts at the *anchor*, the latest of

- the last activity (when the platform accepted a joblog change),
- the start of the duty: midnight (Copenhagen) of the first day of the current continuous duty
  stretch. A stretch starts on a day with the duty whose previous day had none (no status,
  målgruppe `ingen`, or exempt). So the end of a fritagelse (its `til`) and a change from
  `ingen` to a duty group both restart the clock at the start of that day, while a change from
  one duty group to another does not,
- the last due time already notified (another 30 days without activity gives another pair).

Due time = anchor + 30 Copenhagen calendar days at the same local wall-clock time. Arithmetic
is done on the local date and time in Europe/Copenhagen and then converted, so across a DST
change the elapsed time is 719 or 721 hours. Local times that do not exist or exist twice are
resolved with ``fold=0``, which is deterministic:

- nonexistent (spring forward, 02:00-03:00 on the last Sunday of March): the local time is read
  with the offset in force before the jump, i.e. it moves forward by the gap (02:30 becomes
  03:30 CEST); the elapsed time is then exactly 720 hours,
- ambiguous (fall back, 02:00-03:00 on the last Sunday of October): the earlier occurrence
  (CEST, +02:00) is taken; the elapsed time is again exactly 720 hours.

A due time counts only if the citizen has the duty on its day and has had it on every day since
the anchor's day. If the duty is interrupted (no duty or exemption) between the anchor and the
candidate due time, the anchor moves to the start of the day the duty resumes; if the duty never
resumes per the known timeline (open-ended `ingen`, open-ended fritagelse, timeline ends), there
is no next due time.

`dageUdenAktivitet` counts the whole Copenhagen days from the later of the last activity and the
start of the current duty stretch to the due day: 30 for the first pair, 60 for the repeat after
another 30 days without activity (a notice is no activity), and so on.

Catch-up: if several due times passed while the platform was down, `due_notices` gives one pair
per passed due time, in order, each with its own `forfaldt`, so counts stay exact and a restart
never skips or duplicates a due time (ids are deterministic per cpr, due time and recipient).
An activity prevents only the due times after it: one accepted after a due time that passed
without a notice yet (the platform learnt of the citizen late, or was down) does not cancel that
pair. So, given the citizen's activity history (`activities`), the walk moves the anchor to an
activity only when the activity falls before the candidate due time. Without the history, the
last activity is the anchor (earlier activity unknown, nothing before it can be owed).

All datetimes returned are aware UTC; naive inputs are taken to be UTC (as a database may
return them). Payload times are rendered in ISO 8601 with the Copenhagen offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from shared.contract.citizen import ExemptionPeriod, Period, has_duty, status_on
from shared.contract.tid import COPENHAGEN, as_utc, day_of, start_of_day

ADVISERING_DAYS = 30
"""Days without activity (while having the duty) after which a pair of notices falls due: the
contract's number. JOBLOG_ADVISERING_DAYS (`Settings.advisering_days`) defaults to it; the
settings, in shared/, cannot import a service, so they repeat the number and
tests/unit/test_advisering.py holds the two equal."""

MODTAGER_BORGER = "borger"
MODTAGER_JOBCENTER = "jobcenter"
MODTAGERE = (MODTAGER_BORGER, MODTAGER_JOBCENTER)

NOTICE_NAMESPACE = uuid5(UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8"), "urn:dfdg:joblog:advisering")
"""uuid5 namespace of notice ids (derived from the URL namespace, fixed forever)."""


def add_local_days(moment: datetime, n: int) -> datetime:
    """`moment` plus `n` Copenhagen calendar days at the same local wall-clock time, as aware UTC.

    Nonexistent local times move forward by the DST gap, ambiguous ones take the earlier
    occurrence (both via ``fold=0``); see the module docstring."""
    local = as_utc(moment).astimezone(COPENHAGEN).replace(tzinfo=None)
    shifted = local + timedelta(days=n)
    return shifted.replace(tzinfo=COPENHAGEN, fold=0).astimezone(UTC)


def duty_starts(periods: Sequence[Period], exemptions: Sequence[ExemptionPeriod]) -> list[date]:
    """The days a continuous duty stretch begins (duty that day, none the day before), sorted.

    Duty can only change on a boundary of a status period or an exemption, so only those days
    are examined: the result is finite and computed in time linear in the boundaries."""
    spans: list[tuple[date, date | None]] = [(p.fra, p.til) for p in periods]
    spans += [(e.fra, e.til) for e in exemptions]
    boundaries = {fra for fra, _ in spans} | {til for _, til in spans if til is not None}
    return [
        day
        for day in sorted(boundaries)
        if has_duty(periods, exemptions, day)
        and not has_duty(periods, exemptions, day - timedelta(days=1))
    ]


@dataclass(frozen=True)
class _Due:
    anchor: datetime
    due: datetime


def _next(
    periods: Sequence[Period],
    exemptions: Sequence[ExemptionPeriod],
    last_activity: datetime | None,
    last_notified_due: datetime | None,
    after: datetime | None,
    days: int,
    activities: Sequence[datetime] = (),
) -> _Due | None:
    """The walk behind `next_due`, also giving the anchor of the due time found."""
    if days < 1:
        raise ValueError("days must be at least 1")
    resumptions = [start_of_day(day) for day in duty_starts(periods, exemptions)]
    acts = sorted(as_utc(a) for a in activities)  # with the history, each activity in turn
    latest = last_activity if not acts else None  # without it, the last one is the anchor
    explicit = [as_utc(m) for m in (latest, last_notified_due) if m is not None]
    anchor: datetime | None = max(explicit, default=None)
    if anchor is None:
        if not resumptions:
            return None  # never any duty
        anchor = resumptions[0]
    limit = None if after is None else as_utc(after)
    # Each pass either returns, moves the anchor to a later duty start or activity (finitely
    # many), or (only while skipping due times up to `after`) moves it 30 days on; so the loop
    # terminates.
    while True:
        candidate = add_local_days(anchor, days)
        before = [a for a in acts if anchor < a < candidate]
        if before:
            anchor = before[-1]  # an activity before the due time restarts the clock
            continue
        interrupted = [r for r in resumptions if anchor < r <= candidate]
        if interrupted:
            # The duty stopped and resumed after the anchor: the clock restarts at the latest
            # resumption (all earlier ones are superseded by it).
            anchor = interrupted[-1]
            continue
        if not has_duty(periods, exemptions, day_of(candidate)):
            # No duty on the due day (and, there being no resumption since the anchor, the duty
            # is off from some day up to and including it): no notice. Wait for the duty to
            # resume; if it never does, there is no next due time.
            later = [r for r in resumptions if r > candidate]
            if not later:
                return None
            anchor = later[0]
            continue
        if limit is not None and candidate <= limit:
            anchor = candidate  # a due time at or before `after`: the chain goes on from it
            continue
        return _Due(anchor, candidate)


def next_due(
    periods: Sequence[Period],
    exemptions: Sequence[ExemptionPeriod],
    last_activity: datetime | None,
    last_notified_due: datetime | None,
    after: datetime | None = None,
    days: int = ADVISERING_DAYS,
    activities: Sequence[datetime] = (),
) -> datetime | None:
    """The next time a pair of notices falls due (aware UTC), or None if the citizen never has
    the duty again per the known timeline.

    `last_notified_due` is the `forfaldt` of the latest pair already sent (it restarts the
    clock). With `after`, due times at or before it are skipped (each still restarts the clock,
    as if notified); the result is then strictly after `after`. Without `after` the result may
    lie in the past: a due time that has passed but has not been notified."""
    found = _next(periods, exemptions, last_activity, last_notified_due, after, days, activities)
    return None if found is None else found.due


def notice_id(cpr: str, forfaldt: datetime, modtager: str) -> UUID:
    """Deterministic id of a notice: the same cpr, due instant and recipient always give the
    same id, also across restarts (the due instant is normalised to UTC first)."""
    return uuid5(NOTICE_NAMESPACE, f"{cpr}|{as_utc(forfaldt).isoformat()}|{modtager}")


def _iso(moment: datetime) -> str:
    return as_utc(moment).astimezone(COPENHAGEN).isoformat()


@dataclass(frozen=True)
class DueNotice:
    """One advisering as sent on `dfdg.notices`."""

    noticeId: UUID
    modtager: str
    cpr: str
    jobcenter: str
    maalgruppe: str
    senesteAktivitet: datetime | None
    dageUdenAktivitet: int
    forfaldt: datetime
    udstedt: datetime

    def payload(self) -> dict[str, Any]:
        """The contract's JSON object (times as ISO 8601 with the Copenhagen offset)."""
        return {
            "noticeId": str(self.noticeId),
            "modtager": self.modtager,
            "cpr": self.cpr,
            "jobcenter": self.jobcenter,
            "maalgruppe": self.maalgruppe,
            "senesteAktivitet": (
                None if self.senesteAktivitet is None else _iso(self.senesteAktivitet)
            ),
            "dageUdenAktivitet": self.dageUdenAktivitet,
            "forfaldt": _iso(self.forfaldt),
            "udstedt": _iso(self.udstedt),
        }


def days_without_activity(
    periods: Sequence[Period],
    exemptions: Sequence[ExemptionPeriod],
    last_activity: datetime | None,
    due: datetime,
    activities: Sequence[datetime] = (),
) -> int:
    """`dageUdenAktivitet` of a pair due at `due`: the whole Copenhagen days from the day of the
    later of the last activity and the start of the current duty stretch (the last day the duty
    began on or before the due day) to the due day. 30 for a first pair, 60 for the repeat after
    another 30 days without activity, and so on."""
    due_day = day_of(due)
    stretch = [day for day in duty_starts(periods, exemptions) if day <= due_day]
    if activities:  # the last activity before the due time (a later one did not prevent it)
        last_activity = max((a for a in activities if as_utc(a) < as_utc(due)), default=None)
    since = [
        *([stretch[-1]] if stretch else []),
        *([day_of(last_activity)] if last_activity else []),
    ]
    return (due_day - max(since, default=due_day)).days


def _pair(
    cpr: str,
    period: Period,
    due: datetime,
    dage: int,
    last_activity: datetime | None,
    now: datetime,
) -> Iterable[DueNotice]:
    for modtager in MODTAGERE:
        yield DueNotice(
            noticeId=notice_id(cpr, due, modtager),
            modtager=modtager,
            cpr=cpr,
            jobcenter=period.jobcenter,
            maalgruppe=str(period.maalgruppe),
            senesteAktivitet=None if last_activity is None else as_utc(last_activity),
            dageUdenAktivitet=dage,
            forfaldt=due,
            udstedt=now,
        )


def due_notices(
    cpr: str,
    periods: Sequence[Period],
    exemptions: Sequence[ExemptionPeriod],
    last_activity: datetime | None,
    last_notified_due: datetime | None,
    now: datetime,
    days: int = ADVISERING_DAYS,
    activities: Sequence[datetime] = (),
) -> tuple[list[DueNotice], datetime | None]:
    """The notices due at `now` and the next due time after them.

    One pair (borger first, then jobcenter) per due time at or before `now` not yet notified,
    in order of due time; usually none or one pair, several only after downtime. jobcenter and
    målgruppe come from the status on the due day; `dageUdenAktivitet` is the number of whole
    Copenhagen days from the later of the last activity and the start of the current duty
    stretch to the due day (see `days_without_activity`: 30, then 60 for a repeat pair, 90 …;
    it does not restart at a notice, since a notice is no activity); `senesteAktivitet` is
    `last_activity` (may be None); `udstedt` is `now`. The caller records the last `forfaldt`
    as the new `last_notified_due` and schedules the returned next due time (None: no duty
    ahead, nothing to schedule)."""
    now = as_utc(now)
    notified = None if last_notified_due is None else as_utc(last_notified_due)
    notices: list[DueNotice] = []
    while True:
        found = _next(periods, exemptions, last_activity, notified, None, days, activities)
        if found is None or found.due > now:
            return notices, None if found is None else found.due
        period = status_on(periods, day_of(found.due))
        assert period is not None  # _next only returns due times on a day with the duty
        dage = days_without_activity(periods, exemptions, last_activity, found.due, activities)
        notices.extend(_pair(cpr, period, found.due, dage, last_activity, now))
        notified = found.due
