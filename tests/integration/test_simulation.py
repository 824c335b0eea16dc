"""The simulation command's engine on the session's platform: a municipality for a month, and the
notices it sent checked against an independent, day-by-day count of the 30-day rule.

The suite runs 300 citizens (JOBLOG_SIM_CITIZENS) to keep CI short; the 1,000-citizen month is
measured by `joblog simulate --citizens 1000` (see the README for the figure)."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, date, datetime, timedelta

import pytest

from ops.simulate import Scenario, SimCitizen, SimulationReport, simulate
from shared.tid import COPENHAGEN

pytestmark = pytest.mark.integration

DAYS_WITHOUT_ACTIVITY = 30
CITIZENS = int(os.environ.get("JOBLOG_SIM_CITIZENS", "300"))
BUDGET_SECONDS = float(os.environ.get("JOBLOG_SIM_BUDGET_SECONDS", "60"))
"""The target for a 1,000-citizen month (a smaller month is not pro rata faster: each day has a
fixed round of ticks and waits). Over it the test warns: the time is the platform's on a shared
machine, not a pass/fail criterion of a functional test; `joblog simulate` measures it."""


def cph_day(moment: datetime) -> date:
    return moment.astimezone(COPENHAGEN).date()


def has_duty(citizen: SimCitizen, day: date) -> bool:
    """The last status (in the order sent) covering the day carries the duty, and no
    fritagelse covers it."""
    group = None
    for status in citizen.statuses:
        if status.fra <= day and (status.til is None or day < status.til):
            group = status.maalgruppe
    exempt = any(e.fra <= day and (e.til is None or day < e.til) for e in citizen.exemptions)
    return group not in (None, "ingen") and not exempt


def expected_pairs(scenario: Scenario, citizen: SimCitizen) -> int:
    """Walk the Copenhagen days. The clock restarts at midnight of a day the duty starts (duty
    that day, none the day before), at an activity (accepted at the day's tick) and at a notice;
    a pair is due 30 days after the clock's start at the same wall-clock time if the duty held
    on every one of those days. An activity on the due day before the due time prevents it;
    only pairs due by the last tick are sent. The platform learns of the citizens after the
    first tick, so a pair due by then (a duty that began 30 or more days ago) goes out at the
    second tick, and an activity on day 0, accepted before that tick, prevents it."""
    activity = {cph_day(scenario.tick(a.day)): scenario.tick(a.day) for a in citizen.activity}
    days = [s.fra for s in citizen.statuses] + [e.fra for e in citizen.exemptions]
    day = min(days) - timedelta(days=1)
    end, first_tick = scenario.end, scenario.tick(0)
    active_on_day_0 = any(a.day == 0 for a in citizen.activity)
    anchor: datetime | None = None
    pairs = 0
    while day <= cph_day(end):
        if has_duty(citizen, day) and not has_duty(citizen, day - timedelta(days=1)):
            midnight = datetime(day.year, day.month, day.day, tzinfo=COPENHAGEN).astimezone(UTC)
            anchor = midnight if anchor is None else max(anchor, midnight)
        due = None
        if anchor is not None:
            start = cph_day(anchor)
            if (day - start).days == DAYS_WITHOUT_ACTIVITY and all(
                has_duty(citizen, start + timedelta(days=i))
                for i in range(DAYS_WITHOUT_ACTIVITY + 1)
            ):
                wall = anchor.astimezone(COPENHAGEN)
                due = datetime(
                    day.year, day.month, day.day, wall.hour, wall.minute, wall.second,
                    tzinfo=COPENHAGEN,
                ).astimezone(UTC)  # fmt: skip
        accepted = activity.get(day)
        if due is not None and due <= end:
            prevented = (accepted is not None and accepted < due) or (
                due <= first_tick and active_on_day_0
            )
            if not prevented:
                pairs += 1
                anchor = due
        if accepted is not None:
            anchor = accepted if anchor is None else max(anchor, accepted)
        day += timedelta(days=1)
    return pairs


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

    expected = 2 * sum(expected_pairs(scenario, c) for c in scenario.citizens)
    assert report.count == expected, differences(report)
    assert report.distinct == report.count  # each notice exactly once
    assert report.stored == expected
    assert expected > CITIZENS // 5  # the scenario exercises the rule, not only its absence
    assert sum(1 for n in report.notices if n["modtager"] == "borger") * 2 == expected
    if report.elapsed > BUDGET_SECONDS:
        warnings.warn(
            f"a {CITIZENS}-citizen month took {report.elapsed:.0f} s, over the budget of "
            f"{BUDGET_SECONDS:.0f} s ({phases})",
            stacklevel=1,
        )


def differences(report: SimulationReport, most: int = 5) -> str:
    """The citizens whose borger notices differ from the oracle's count, with their scenario."""
    sent: dict[str, list[str]] = {}
    for notice in report.notices:
        if notice["modtager"] == "borger":
            sent.setdefault(notice["cpr"], []).append(notice["forfaldt"])
    lines = []
    for citizen in report.scenario.citizens:
        expected = expected_pairs(report.scenario, citizen)
        if len(sent.get(citizen.cpr, [])) != expected:
            lines.append(
                f"expected {expected}, sent due {sorted(sent.get(citizen.cpr, []))}: "
                f"{citizen.statuses} {citizen.exemptions} activity days "
                f"{[a.day for a in citizen.activity]}"
            )
    ticks = [report.scenario.tick(k).isoformat() for k in (0, 1, report.scenario.days)]
    return f"{len(lines)} citizens differ (ticks {ticks}):\n" + "\n".join(lines[:most])
