"""The simulation command's engine on the session's platform: a municipality for a month, and the
notices it sent checked, citizen by citizen and notice by notice (due time, recipient,
jobcenter, målgruppe, dageUdenAktivitet), against an independent day-by-day oracle of the
30-day rule computed from the raw status, fritagelse and joblog messages the simulation sent.

The suite runs 300 citizens (JOBLOG_SIM_CITIZENS) to keep CI short; the 1,000-citizen month is
measured by `joblog simulate --citizens 1000` (see docs/design.md for the figure)."""

from __future__ import annotations

import os
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ops.simulation.driver import simulate
from ops.simulation.report import SimulationReport
from shared.contract import topics
from shared.contract.tid import COPENHAGEN, as_utc

pytestmark = pytest.mark.integration

DAYS_WITHOUT_ACTIVITY = 30
CITIZENS = int(os.environ.get("JOBLOG_SIM_CITIZENS", "300"))
BUDGET_SECONDS = float(os.environ.get("JOBLOG_SIM_BUDGET_SECONDS", "60"))
"""The target for a 1,000-citizen month (a smaller month is not pro rata faster: each day has a
fixed round of ticks and waits). Over it the test warns: the time is the platform's on a shared
machine, not a pass/fail criterion of a functional test; `joblog simulate` measures it."""


Notice = tuple[str, str, datetime, str, str, int]
"""(cpr, modtager, forfaldt as UTC, jobcenter, maalgruppe, dageUdenAktivitet)."""


def cph_day(moment: datetime) -> date:
    return moment.astimezone(COPENHAGEN).date()


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=COPENHAGEN).astimezone(UTC)


def same_wall_clock(moment: datetime, day: date) -> datetime:
    """`moment`'s Copenhagen wall-clock time on `day` (a time the DST jump skips moves on)."""
    wall = moment.astimezone(COPENHAGEN)
    local = datetime(day.year, day.month, day.day, wall.hour, wall.minute, wall.second)
    return local.replace(tzinfo=COPENHAGEN, fold=0).astimezone(UTC)


def parse_day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


@dataclass
class RawCitizen:
    """One citizen as the messages sent to the platform describe him (the raw JSON, not the
    scenario's model of it and not the platform's timeline code)."""

    statuses: list[dict[str, Any]] = field(default_factory=list)
    exemptions: list[dict[str, Any]] = field(default_factory=list)
    activity: list[datetime] = field(default_factory=list)
    created: list[datetime] = field(default_factory=list)
    """The times of the joblogs created (`opret`, `JOBLOG_CREATED`): the monthly duty's."""

    def status(self, day: date) -> dict[str, Any] | None:
        """The status covering `day` of the latest `tidspunkt` (ties: the one sent later)."""
        found = None
        for message in sorted(self.statuses, key=lambda m: datetime.fromisoformat(m["tidspunkt"])):
            til = parse_day(message["gyldigTil"])
            if date.fromisoformat(message["gyldigFra"]) <= day and (til is None or day < til):
                found = message
        return found

    def exempt(self, day: date) -> bool:
        revoked: dict[str, date] = {}
        for message in self.exemptions:
            if message["handling"] == "tilbagekald":
                fra = date.fromisoformat(message["gyldigFra"])
                revoked[message["exemptionId"]] = min(fra, revoked.get(message["exemptionId"], fra))
        for message in self.exemptions:
            if message["handling"] != "tildel":
                continue
            fra, til = date.fromisoformat(message["gyldigFra"]), parse_day(message["gyldigTil"])
            end = revoked.get(message["exemptionId"])
            if end is not None:
                til = end if til is None else min(til, end)
            if fra <= day and (til is None or day < til) and self.stays(message, fra, day):
                return True
        return False

    def stays(self, grant: dict[str, Any], fra: date, day: date) -> bool:
        """A fritagelse holds only while the citizen stays at the jobcenter that granted it:
        every day from its first to `day`."""
        for n in range((day - fra).days + 1):
            status = self.status(fra + timedelta(days=n))
            if status is None or status["jobcenter"] != grant["jobcenter"]:
                return False
        return True

    def duty(self, day: date) -> bool:
        status = self.status(day)
        return status is not None and status["maalgruppe"] != "ingen" and not self.exempt(day)


def raw_citizens(report: SimulationReport, upto_day: int | None = None) -> dict[str, RawCitizen]:
    """Statuses, granted fritagelser (those from the jobcenter the citizen had, per the statuses
    sent before, on the fritagelse's first day: the platform refuses any other) and activity
    times (the platform accepts a day's activity at that day's tick, which the simulation also
    writes as the message's own time) of every citizen, from the messages sent (`upto_day`:
    those sent on that day or before, as the platform knew them at the next day's tick)."""
    citizens: dict[str, RawCitizen] = defaultdict(RawCitizen)
    for n, (topic, message) in enumerate(report.sent):
        if upto_day is not None and report.sent_days[n] > upto_day:
            continue
        if topic == topics.CITIZEN_STATUS:
            citizens[message["cpr"]].statuses.append(message)
        elif topic.endswith(".exemption"):
            citizen = citizens[message["cpr"]]
            holder = citizen.status(date.fromisoformat(message["gyldigFra"]))
            if holder is not None and holder["jobcenter"] == message["jobcenter"]:
                citizen.exemptions.append(message)
        elif "memberCpr" in message:
            citizens[message["memberCpr"]].activity.append(as_utc(datetime.fromisoformat(
                message["occurredAt"])))  # fmt: skip
            if message["type"] == "JOBLOG_CREATED":
                citizens[message["memberCpr"]].created.append(
                    citizens[message["memberCpr"]].activity[-1]
                )
        elif "beskedId" in message:
            citizens[message["cpr"]].activity.append(
                as_utc(datetime.fromisoformat(message["tidspunkt"]))
            )
            if message["handling"] == "opret":
                citizens[message["cpr"]].created.append(citizens[message["cpr"]].activity[-1])
    return citizens


def expected_notices(cpr: str, citizen: RawCitizen, first: date, end: datetime) -> list[Notice]:
    """The contract's notices for one citizen, day by day. The clock (anchor) is the latest of
    the last activity, midnight of the day a duty stretch starts (duty that day, none the day
    before) and the last due time. A pair falls due 30 Copenhagen days after the anchor at its
    wall-clock time if the duty held on every day from the anchor's day to the due day; an
    activity before the due time prevents it (and restarts the clock), one after it does not:
    also when the pair fell due before the platform knew the citizen and the activity came
    first (catch-up: a passed due time gives its pair). Only pairs due by the last tick count.
    `dageUdenAktivitet`: days from the later of the last activity before the due time and the
    start of the current duty stretch to the due day; jobcenter and målgruppe: the status on
    the due day."""
    activity = sorted(citizen.activity)
    notices: list[Notice] = []
    anchor: datetime | None = None
    stretch: date | None = None
    day = first
    while day <= cph_day(end):
        if citizen.duty(day) and not citizen.duty(day - timedelta(days=1)):
            stretch = day
            anchor = midnight(day) if anchor is None else max(anchor, midnight(day))
        today = [a for a in activity if cph_day(a) == day]
        if anchor is not None and (day - cph_day(anchor)).days == DAYS_WITHOUT_ACTIVITY:
            start = cph_day(anchor)
            due = same_wall_clock(anchor, day)
            held = all(citizen.duty(start + timedelta(days=i)) for i in range(31))
            if held and due <= end and not any(a < due for a in today):
                status = citizen.status(day)
                assert status is not None and stretch is not None
                before = [cph_day(a) for a in activity if a < due]
                dage = (day - max([stretch, *before[-1:]])).days
                for modtager in ("borger", "jobcenter"):
                    notices.append(
                        (cpr, modtager, due, status["jobcenter"], status["maalgruppe"], dage)
                    )
                anchor = due
        for accepted in today:
            anchor = accepted if anchor is None else max(anchor, accepted)
        day += timedelta(days=1)
    return notices


def sent(report: SimulationReport) -> dict[str, list[Notice]]:
    by_cpr: dict[str, list[Notice]] = defaultdict(list)
    for n in report.notices:
        forfaldt = as_utc(datetime.fromisoformat(n["forfaldt"]))
        by_cpr[n["cpr"]].append((n["cpr"], n["modtager"], forfaldt, n["jobcenter"],
                                 n["maalgruppe"], n["dageUdenAktivitet"]))  # fmt: skip
    return by_cpr


COVERED_BY_LAW = {"jobparat_kontanthjaelp", "aabenlyst_uddannelsesparat", "overgangsydelse",
                  "selvforsoergelses_hjemrejseydelse"}  # fmt: skip
REMINDER_DAYS = 5
Monthly = tuple[str, str, str, str, str, datetime]
"""(cpr, noticeType, maaned, jobcenter, maalgruppe, forfaldt as UTC)."""


def months_between(first: date, last: date) -> list[date]:
    """The first days of the calendar months from `first`'s to `last`'s."""
    found, day = [], first.replace(day=1)
    while day <= last:
        found.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return found


def expected_monthly(report: SimulationReport) -> dict[str, list[Monthly]]:
    """The monthly duty's notices (lov 371), computed here from the messages sent. Each month
    from the one of the first tick on: its reminder (midnight of the day from which five days
    of it remain) goes at the first tick at or after that instant if the month still runs then,
    the citizen's målgruppe as known then is one the law covers and no fritagelse is known on
    any day of the month, and no joblog was created in it before that tick; its notice of a
    missed month goes at the first tick at or after its end, if the same held for the whole
    month and no joblog was created in it. The known facts at tick j are the messages sent on
    the days before j; jobcenter and målgruppe: the status on the month's last day."""
    scenario = report.scenario
    ticks = [scenario.tick(j) for j in range(scenario.days + 1)]
    known: dict[int, dict[str, RawCitizen]] = {}

    def at(j: int) -> dict[str, RawCitizen]:
        if j not in known:
            known[j] = raw_citizens(report, upto_day=j - 1)
        return known[j]

    def firing(instant: datetime) -> int | None:
        return next((j for j in range(1, len(ticks)) if ticks[j] >= instant), None)

    def covered(citizen: RawCitizen, day: date) -> bool:
        status = citizen.status(day)
        ok = status is not None and status["maalgruppe"] in COVERED_BY_LAW
        return ok and not citizen.exempt(day)

    found: dict[str, list[Monthly]] = defaultdict(list)
    for first in months_between(cph_day(ticks[0]), cph_day(ticks[-1])):
        following = (first + timedelta(days=32)).replace(day=1)
        days = [first + timedelta(days=n) for n in range((following - first).days)]
        start, end = midnight(first), midnight(following)
        reminder = midnight(following - timedelta(days=REMINDER_DAYS))
        judged = end + timedelta(minutes=5)  # the contract: judged five minutes after the end
        for kind, instant, due in (("maanedlig_paamindelse", reminder, reminder),
                                   ("maaned_uden_registrering", end, judged)):  # fmt: skip
            j = firing(due)
            if j is None or (kind == "maanedlig_paamindelse" and ticks[j] >= end):
                continue
            for cpr, citizen in at(j).items():
                if not all(covered(citizen, day) for day in days):
                    continue
                if any(start <= created < min(ticks[j], end) for created in citizen.created):
                    continue
                last = citizen.status(days[-1])
                assert last is not None
                month = f"{first:%Y-%m}"
                found[cpr].append(
                    (cpr, kind, month, last["jobcenter"], last["maalgruppe"], instant)
                )
    return found


def sent_monthly(report: SimulationReport) -> dict[str, list[Monthly]]:
    by_cpr: dict[str, list[Monthly]] = defaultdict(list)
    for n in report.monthly:
        recipient = {"maanedlig_paamindelse": "borger", "maaned_uden_registrering": "jobcenter"}
        assert n["modtager"] == recipient[n["noticeType"]], n
        forfaldt = as_utc(datetime.fromisoformat(n["forfaldt"]))
        by_cpr[n["cpr"]].append((n["cpr"], n["noticeType"], n["maaned"], n["jobcenter"],
                                 n["maalgruppe"], forfaldt))  # fmt: skip
    return by_cpr


@pytest.mark.timeout(900)
async def test_a_month_of_citizens_sends_the_notices_the_rule_gives(platform):
    await platform.settle()
    start = platform.now
    if "JOBLOG_SIM_START" in os.environ:  # e.g. to replay a month across a DST change
        start = max(start, datetime.fromisoformat(os.environ["JOBLOG_SIM_START"]))
    report = await simulate(platform.settings, CITIZENS, seed=7, start=start, progress=None)
    platform.now = max(platform.now, report.scenario.end)
    scenario = report.scenario
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.phases.items())
    print(
        f"\nsimulation: {len(scenario.citizens)} citizens, {scenario.days} days from "
        f"{scenario.start.isoformat()}: {report.count} notices in {report.elapsed:.1f} s "
        f"({phases})"
    )
    assert not report.clock_ahead, f"another platform's ticks moved the clock: {report.clock_ahead}"
    assert report.activity_mismatches == []

    citizens = raw_citizens(report)
    assert set(citizens) == scenario.cprs
    first = min(date.fromisoformat(m["gyldigFra"]) for c in citizens.values() for m in c.statuses)
    expected = {
        cpr: sorted(expected_notices(cpr, c, first - timedelta(days=1), scenario.end))
        for cpr, c in citizens.items()
    }
    actual = {cpr: sorted(found) for cpr, found in sent(report).items()}
    wrong = sorted(cpr for cpr in scenario.cprs if expected[cpr] != actual.get(cpr, []))
    assert wrong == [], differences(report, wrong, expected, actual)
    total = sum(len(found) for found in expected.values())
    assert report.count == total
    assert report.distinct == report.count  # each notice exactly once
    assert report.stored == total
    assert total > CITIZENS // 5  # the scenario exercises the rule, not only its absence
    catch_up = sum(1 for found in expected.values() for n in found if n[2] <= scenario.tick(0))
    print(f"oracle: {total} notices, {catch_up} of them due before the platform knew the citizen")

    # the monthly duty's notices (lov 371): the reminders and the months without registration
    monthly = {cpr: sorted(found) for cpr, found in expected_monthly(report).items()}
    monthly_sent = {cpr: sorted(found) for cpr, found in sent_monthly(report).items()}
    wrong = sorted(
        cpr for cpr in scenario.cprs if monthly.get(cpr, []) != monthly_sent.get(cpr, [])
    )
    everyone = {cpr: monthly.get(cpr, []) for cpr in scenario.cprs}
    assert wrong == [], differences(report, wrong, everyone, monthly_sent)  # type: ignore[arg-type]
    monthly_total = sum(len(found) for found in monthly.values())
    assert len(report.monthly) == len({n["noticeId"] for n in report.monthly}) == monthly_total
    assert report.stored_monthly == monthly_total
    assert any(n[1] == "maaned_uden_registrering" for found in monthly.values() for n in found)
    kinds = Counter(n[1] for found in monthly.values() for n in found)
    print(f"oracle: monthly notices {dict(kinds)}")
    if report.elapsed > BUDGET_SECONDS:
        warnings.warn(
            f"a {CITIZENS}-citizen month took {report.elapsed:.0f} s, over the budget of "
            f"{BUDGET_SECONDS:.0f} s ({phases})",
            stacklevel=1,
        )


def differences(
    report: SimulationReport,
    wrong: list[str],
    expected: dict[str, list[Notice]],
    actual: dict[str, list[Notice]],
    most: int = 5,
) -> str:
    """The citizens whose notices differ from the oracle's, with what each side has and the
    citizen's scenario."""
    by_cpr = {c.cpr: c for c in report.scenario.citizens}
    lines = []
    for cpr in wrong[:most]:
        citizen = by_cpr[cpr]
        lines.append(
            f"{cpr}: expected {expected[cpr]}\n  sent {actual.get(cpr, [])}\n  "
            f"{citizen.statuses} {citizen.exemptions} activity days "
            f"{[a.day for a in citizen.activity]}"
        )
    ticks = [report.scenario.tick(k).isoformat() for k in (0, 1, report.scenario.days)]
    return f"{len(wrong)} citizens differ (ticks {ticks}):\n" + "\n".join(lines)
