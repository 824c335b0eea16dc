"""The udsøgning against an independent computation on generated data.

Fifty random citizens get random status histories (målgruppe changes, other jobcentres, `ingen`,
corrections of the past, future starts) and fritagelser (some revoked) through Kafka, joblog
activity through Jobnet over several simulated days, and older activity stored as storage would
(`joblog_history` and the read model; the clock cannot go back). The oracle below recomputes the
adviseringer itself (the 30-day rule at every tick, from what the platform had been sent by
then), checks them against what the notifier published on dfdg.notices, and recomputes every
row day by day from these inputs, following the rules of the contract and udsoegning.py's
docstring without calling it; the CSV of the HTTP API, and the file the operator's command
writes, must agree with it.
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from harness import ids, jobnet, new_cpr
from shared.contract import topics
from tests.integration.test_api import (
    HEADER,
    UDS,
    advance,
    call,
    clock_now,
    csv_rows,
    history,
    record_history,
    today,
)

pytestmark = pytest.mark.integration

CPH = ZoneInfo("Europe/Copenhagen")
DUTY = (
    "dagpenge", "jobparat_kontanthjaelp", "aabenlyst_uddannelsesparat", "ledighedsydelse",
    "overgangsydelse", "selvforsoergelses_hjemrejseydelse",
)  # fmt: skip
GROUPS = (*DUTY, "ingen", "ingen")
JOBCENTRE = ("101", "101", "101", "147", "147", "751")
CITIZENS = 50
LIVE_DAYS = 4
ONE_DAY = timedelta(days=1)


def cph_day(moment: datetime) -> date:
    return moment.astimezone(CPH).date()


@dataclass
class Status:
    fra: date
    til: date | None
    group: str
    jobcenter: str
    tidspunkt: datetime
    received: date


@dataclass
class Grant:
    fra: date
    til: date | None
    received: date
    jobcenter: str
    revoked_from: list[tuple[date, date]] = field(default_factory=list)  # (from, received)


@dataclass
class Citizen:
    cpr: str
    statuses: list[Status] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    activity: list[tuple[str, str, datetime]] = field(default_factory=list)  # id, handling, at
    notices: list[tuple[datetime, datetime]] = field(default_factory=list)  # forfaldt, udstedt
    live: dict[str, int] = field(default_factory=dict)  # live joblog id -> version
    accepted: list[datetime] = field(default_factory=list)  # activity the platform accepted


@dataclass(frozen=True)
class Known:
    """How much of a citizen's data the platform had been sent at a tick (list prefixes)."""

    statuses: int
    grants: int
    accepted: int


Tick = tuple[datetime, dict[str, Known]]


# -- the oracle ---------------------------------------------------------------------------------


def status_on(citizen: Citizen, day: date, today: date) -> Status | None:
    """The status known by `today` that covers `day`: the latest by tidspunkt."""
    covering = [
        s for s in citizen.statuses
        if s.received <= today and s.fra <= day and (s.til is None or day < s.til)
    ]  # fmt: skip
    return max(covering, key=lambda s: s.tidspunkt, default=None)


def exempt_on(citizen: Citizen, day: date, today: date) -> bool:
    for grant in citizen.grants:
        covers = grant.fra <= day and (grant.til is None or day < grant.til)
        if grant.received > today or not covers:
            continue
        if any(fra <= day for fra, received in grant.revoked_from if received <= today):
            continue
        if not stays(citizen, grant, day, today):
            continue
        return True
    return False


def stays(citizen: Citizen, grant: Grant, day: date, today: date) -> bool:
    """A fritagelse holds only while the citizen stays at the jobcenter that granted it: on every
    day from its first to `day`, as known by `today`."""
    for n in range((day - grant.fra).days + 1):
        then = status_on(citizen, grant.fra + timedelta(days=n), today)
        if then is None or then.jobcenter != grant.jobcenter:
            return False
    return True


def duty(citizen: Citizen, day: date, today: date) -> bool:
    found = status_on(citizen, day, today)
    return found is not None and found.group != "ingen"


def expected_row(
    citizen: Citizen, kk: str, fra: date, til: date, group: str | None, kun: bool, today: date
) -> list[str] | None:
    now = status_on(citizen, today, today)
    if now is None or now.jobcenter != kk:
        return None
    if (group is None and now.group == "ingen") or (group is not None and now.group != group):
        return None
    if til < today:  # historical: he held the målgruppe on a day of the period
        days = (fra + timedelta(days=n) for n in range((til - fra).days + 1))
        if not any((s := status_on(citizen, day, today)) and s.group == now.group for day in days):
            return None
    end = min(til, today)
    notices = [cph_day(f) for f, issued in citizen.notices if cph_day(issued) <= today]
    antal_adv = sum(1 for day in notices if fra <= day <= end)
    if kun and antal_adv == 0:
        return None
    known = [(j, h, cph_day(at)) for j, h, at in citizen.activity if cph_day(at) <= today]
    deleted = {j for j, h, _ in known if h == "slet"}
    created = {j: day for j, h, day in known if h == "opret" and j not in deleted}
    activity = [day for _, _, day in known if day <= end]
    latest = max(activity, default=None)
    if latest is not None:
        dage = str((end - latest).days)
    elif duty(citizen, end, today):
        start = end
        while duty(citizen, start - ONE_DAY, today):
            start -= ONE_DAY
        dage = str((end - start).days)
    else:
        dage = ""
    return [
        citizen.cpr,
        now.group,
        "ja" if exempt_on(citizen, end, today) else "nej",
        str(sum(1 for day in created.values() if fra <= day <= end)),
        latest.isoformat() if latest else "",
        dage,
        str(antal_adv),
        max((d for d in notices if d <= end), default=None).__str__().replace("None", ""),
    ]


COVERED_BY_LAW = {"jobparat_kontanthjaelp", "aabenlyst_uddannelsesparat", "overgangsydelse",
                  "selvforsoergelses_hjemrejseydelse"}  # fmt: skip


def expected_months(citizen: Citizen, fra: date, til: date, today: date) -> str:
    """The monthly duty's column, from the law's words and the citizen's messages as known by
    `today`: each calendar month wholly in the period and over before today, with a covered
    målgruppe and no fritagelse on every day and no joblog created on any of its days."""
    last = min(til, today - ONE_DAY)
    created = {
        cph_day(at) for _, h, at in citizen.activity if h == "opret" and cph_day(at) <= today
    }
    missed, first = 0, fra.replace(day=1)
    while first <= last:
        following = (first + timedelta(days=32)).replace(day=1)
        days = [first + timedelta(days=n) for n in range((following - first).days)]
        if first >= fra and days[-1] <= last:
            covered = all(
                (s := status_on(citizen, day, today)) is not None and s.group in COVERED_BY_LAW
                and not exempt_on(citizen, day, today)
                for day in days
            )  # fmt: skip
            missed += covered and not created & set(days)
        first = following
    return str(missed)


def advised(citizen: Citizen, ticks: list[Tick]) -> list[tuple[datetime, datetime]]:
    """The adviseringer (forfaldt, udstedt) the contract gives, computed here: at every tick,
    from what the platform knew then, every pair due by the tick and after the last one sent.
    The clock (anchor) is the latest of the last activity the platform accepted (the older
    history stored as storage would counts from the start), midnight of the day a
    duty stretch starts (duty: a duty group and no fritagelse) and the last due time; a pair is
    due 30 days on at the same wall-clock time if the duty held on every day in between, unless
    an activity came before it."""
    found: list[tuple[datetime, datetime]] = []
    last: datetime | None = None
    horizon = date.max  # every message sent before the tick is known at it
    for now, known in ticks:
        k = known[citizen.cpr]
        view = Citizen(citizen.cpr, citizen.statuses[: k.statuses], citizen.grants[: k.grants])
        acts = sorted(citizen.accepted[: k.accepted])

        def has_duty(day: date, view: Citizen = view, horizon: date = horizon) -> bool:
            return duty(view, day, horizon) and not exempt_on(view, day, horizon)

        edges = [s.fra for s in view.statuses] + [g.fra for g in view.grants]
        if not edges:
            continue
        day = min(edges + [cph_day(a) for a in acts]) - ONE_DAY
        anchor = last
        while day <= cph_day(now):
            if has_duty(day) and not has_duty(day - ONE_DAY):
                midnight = datetime.combine(day, datetime.min.time(), CPH).astimezone(UTC)
                anchor = midnight if anchor is None else max(anchor, midnight)
            today_acts = [a for a in acts if cph_day(a) == day]
            if anchor is not None and (day - cph_day(anchor)).days == 30:
                start = cph_day(anchor)
                wall = anchor.astimezone(CPH)
                due = datetime.combine(day, wall.time().replace(tzinfo=None), CPH)
                due = due.replace(fold=0).astimezone(UTC)
                held = all(has_duty(start + timedelta(days=i)) for i in range(31))
                if held and due <= now and not any(anchor < a < due for a in today_acts):
                    found.append((due, now))
                    anchor = last = due
            for moment in today_acts:
                anchor = moment if anchor is None else max(anchor, moment)
            day += ONE_DAY
    return found


# -- generating the data ------------------------------------------------------------------------


def random_moment(rng: random.Random, day: date) -> datetime:
    """A moment on a Copenhagen day, often close to midnight (UTC is then another day)."""
    hour, minute = rng.choice([(0, rng.randrange(60)), (23, rng.randrange(60)),
                               (rng.randrange(24), rng.randrange(60))])  # fmt: skip
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CPH).astimezone(UTC)


def status_message(cpr: str, status: Status) -> dict[str, Any]:
    return {
        "messageId": ids(), "cpr": cpr, "jobcenter": status.jobcenter, "akasseNr": None,
        "maalgruppe": status.group, "gyldigFra": status.fra.isoformat(),
        "gyldigTil": status.til.isoformat() if status.til else None,
        "tidspunkt": status.tidspunkt.isoformat(),
    }  # fmt: skip


def random_status(rng: random.Random, t0: date, received: date, at: datetime) -> Status:
    fra = t0 - timedelta(days=rng.randrange(330)) if rng.random() < 0.9 else t0 + ONE_DAY * 3
    til = None if rng.random() < 0.5 else fra + timedelta(days=rng.randint(1, 150))
    return Status(fra, til, rng.choice(GROUPS), rng.choice(JOBCENTRE), at, received)


async def send_exemption(platform: Any, rng: random.Random, citizen: Citizen, t0: date) -> None:
    """A fritagelse from the citizen's jobcenter on its first day (the only one that may grant
    it); none if the platform knows no status of his then. A revocation likewise."""
    today = cph_day(await clock_now(platform))
    fra = t0 - timedelta(days=rng.randrange(300))
    if (then := status_on(citizen, fra, today)) is None:
        return
    kode = then.jobcenter
    grant = Grant(fra, None if rng.random() < 0.5 else fra + timedelta(days=rng.randint(1, 90)),
                  today, then.jobcenter)  # fmt: skip
    exemption_id = ids()
    base = {"cpr": citizen.cpr, "exemptionId": exemption_id, "jobcenter": kode,
            "begrundelse": "LAS § 75 stk. 5", "alternativDokumentation": "samtaler"}  # fmt: skip
    await platform.front.send(topics.jobcenter_exemption(kode), {
        **base, "messageId": ids(), "handling": "tildel", "gyldigFra": grant.fra.isoformat(),
        "gyldigTil": grant.til.isoformat() if grant.til else None,
    })  # fmt: skip
    revoke = grant.fra + timedelta(days=rng.randrange(60))
    at_revoke = status_on(citizen, revoke, today)
    if rng.random() < 0.4 and at_revoke is not None and at_revoke.jobcenter == kode:
        grant.revoked_from.append((revoke, today))
        await platform.front.send(topics.jobcenter_exemption(kode), {
            **base, "messageId": ids(), "handling": "tilbagekald", "gyldigFra": revoke.isoformat(),
            "gyldigTil": None,
        })  # fmt: skip
    citizen.grants.append(grant)


async def live_activity(platform: Any, rng: random.Random, citizens: list[Citizen]) -> None:
    """Jobnet changes by a random third of the citizens, accepted at the platform's clock."""
    sent: dict[str, tuple[Citizen, str, str]] = {}
    now = await clock_now(platform)
    for citizen in rng.sample(citizens, len(citizens) // 3):
        live = [j for j, v in citizen.live.items() if v > 0]
        action = rng.choice(["opret", "opret", "ret", "slet"]) if live else "opret"
        joblog_id = ids() if action == "opret" else rng.choice(live)
        base = None if action == "opret" else citizen.live[joblog_id]
        message = jobnet(action, citizen.cpr, joblog_id, now, grundversion=base)
        await platform.front.send(topics.JOBNET_INBOUND, message)
        citizen.live[joblog_id] = -1 if action == "slet" else (base or 0) + 1
        sent[message["beskedId"]] = (citizen, joblog_id, action)
    accepted = await platform.front.wait_for(
        topics.JOBNET_OUTBOUND, lambda m: m.get("kildeBeskedId") in sent, count=len(sent)
    )
    for out in accepted:  # activity is when the platform accepted the change
        citizen, joblog_id, action = sent[out["kildeBeskedId"]]
        moment = datetime.fromisoformat(out["senestAendret"])
        citizen.activity.append((joblog_id, action, moment))
        citizen.accepted.append(moment)


async def generate(
    platform: Any, rng: random.Random, ticks: list[Tick]
) -> tuple[list[Citizen], date]:
    t0 = await today(platform)
    cprs: set[str] = set()
    while len(cprs) < CITIZENS:
        cprs.add(new_cpr(rng))
    citizens = [Citizen(cpr) for cpr in sorted(cprs)]
    tick = platform.tick

    async def recorded(now: datetime) -> None:
        """Each tick with what the platform had been sent when it came (everything sent before
        a tick is processed before it: the tests settle first)."""
        known = {c.cpr: Known(len(c.statuses), len(c.grants), len(c.accepted)) for c in citizens}
        ticks.append((max([now, *(t for t, _ in ticks[-1:])]), known))
        await tick(now)

    platform.tick = recorded
    stamp = iter(range(10**6))

    def at() -> datetime:  # distinct tidspunkt, in a random order
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=next(stamp) + rng.random())

    docs = []
    for citizen in citizens:
        for _ in range(rng.randint(0, 5)):
            joblog_id, day = ids(), t0 - timedelta(days=rng.randint(2, 330))
            steps = [("opret", random_moment(rng, day))]
            for handling in ("ret", "slet"):
                if rng.random() < 0.35:
                    day = min(day + timedelta(days=rng.randrange(40)), t0 - ONE_DAY)
                    steps.append((handling, max(random_moment(rng, day), steps[-1][1])))
            for version, (handling, moment) in enumerate(steps, start=1):
                docs.append(history(citizen.cpr, joblog_id, version, handling, moment))
                citizen.activity.append((joblog_id, handling, moment))
                citizen.accepted.append(moment)  # in the read model: activity known
    if docs:  # before the status messages, so the notifier sees the activity
        await record_history(platform.db, docs)

    messages = []
    for citizen in citizens:
        for _ in range(rng.randint(1, 4)):
            status = random_status(rng, t0, t0, at())
            citizen.statuses.append(status)
            messages.append(status_message(citizen.cpr, status))
    rng.shuffle(messages)  # the order of arrival does not matter, tidspunkt does
    for message in messages:
        await platform.front.send(topics.CITIZEN_STATUS, message)
    await platform.settle()
    for citizen in citizens:  # a jobcenter grants fritagelser to the citizens it knows it has
        if rng.random() < 0.35:
            await send_exemption(platform, rng, citizen, t0)
    await platform.settle()

    for n in range(LIVE_DAYS):
        await live_activity(platform, rng, citizens)
        if n == 1:  # corrections of the past, and new exemptions, on a later day
            for citizen in rng.sample(citizens, 10):
                status = random_status(rng, t0, cph_day(await clock_now(platform)), at())
                citizen.statuses.append(status)
                await platform.front.send(
                    topics.CITIZEN_STATUS, status_message(citizen.cpr, status)
                )
            await platform.settle()
            for citizen in rng.sample(citizens, 5):
                await send_exemption(platform, rng, citizen, t0)
        await platform.settle()
        await advance(platform, days=1)  # the notifier fires what fell due
    await live_activity(platform, rng, citizens)
    await platform.settle()
    await advance(platform, seconds=1)
    del platform.tick  # (the class's own again)
    published = await collect_notices(platform, citizens)
    expected = set()
    for citizen in citizens:  # the oracle's own adviseringer, which the notifier's must equal
        citizen.notices = advised(citizen, ticks)
        expected |= {(citizen.cpr, forfaldt, udstedt) for forfaldt, udstedt in citizen.notices}
    assert sorted(published) == sorted(expected), (
        f"published only: {sorted(published - expected)}; expected only: "
        f"{sorted(expected - published)}"
    )
    print(f"\nudsøgning oracle: {len(expected)} adviseringer over {len(ticks)} ticks")
    assert expected, "the generated data should give adviseringer"
    await received_days(platform, citizens)
    return citizens, t0


async def received_days(platform: Any, citizens: list[Citizen]) -> None:
    """Check the day each status message was received (the as-of cut) against the platform's
    record of it; a tick from another test session could have moved the clock meanwhile."""
    stored = {
        (doc["cpr"], doc["gyldigFra"], doc["tidspunkt"].replace(microsecond=0)): doc["modtaget"]
        async for doc in platform.db.status_messages.find(
            {"cpr": {"$in": [c.cpr for c in citizens]}}
        )
    }
    for citizen in citizens:
        for status in citizen.statuses:
            key = (citizen.cpr, status.fra.isoformat(), status.tidspunkt.replace(microsecond=0))
            assert cph_day(stored[key]) == status.received, "the clock moved during the test"


async def collect_notices(
    platform: Any, citizens: list[Citizen]
) -> set[tuple[str, datetime, datetime]]:
    """The citizens' adviseringer as published on dfdg.notices (all the notifier stored; the
    monthly duty's reminders, which have a `noticeType`, are not adviseringer)."""
    by_cpr = {c.cpr: c for c in citizens}
    stored = await platform.db.notices.count_documents(
        {"cpr": {"$in": list(by_cpr)}, "modtager": "borger", "noticeType": {"$exists": False}}
    )

    def advisering(m: dict[str, Any]) -> bool:
        return m["cpr"] in by_cpr and m["modtager"] == "borger" and "noticeType" not in m

    published = await platform.front.wait_for(topics.NOTICES_BORGER, advisering, count=stored)
    await platform.front.caught_up()
    published = platform.front.matching(topics.NOTICES_BORGER, advisering)
    seen = {(m["cpr"], m["forfaldt"]): m for m in published}  # a redelivery is one notice
    assert len(seen) == stored
    return {
        (m["cpr"], datetime.fromisoformat(m["forfaldt"]), datetime.fromisoformat(m["udstedt"]))
        for m in seen.values()
    }


# -- the test -----------------------------------------------------------------------------------


def criteria_list(t0: date, today: date) -> list[dict[str, Any]]:
    month_start = (today - timedelta(days=95)).replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - ONE_DAY
    periods = [
        (today - timedelta(days=399), today), (today - timedelta(days=29), today),
        (today - timedelta(days=120), today - timedelta(days=60)), (t0, today - ONE_DAY),
        (today - timedelta(days=5), today + timedelta(days=30)), (t0 + ONE_DAY, t0 + ONE_DAY),
        (month_start, month_end), (today, today),
    ]  # fmt: skip
    asked: list[dict[str, Any]] = []
    for kk in ("101", "147"):
        asked += [{"kk": kk, "fra": f, "til": t} for f, t in periods]
        asked += [{"kk": kk, "fra": f, "til": t, "kun": True} for f, t in periods[:4]]
    longest = today - timedelta(days=399)
    for group in DUTY:
        asked.append({"kk": "101", "fra": longest, "til": today, "group": group})
        asked.append({"kk": "101", "fra": month_start, "til": month_end, "group": group})
    for as_of in (t0, t0 + 2 * ONE_DAY):
        asked.append({"kk": "101", "fra": today - timedelta(days=200), "til": today,
                      "as_of": as_of})  # fmt: skip
        asked.append({"kk": "147", "fra": t0 - timedelta(days=30), "til": as_of, "as_of": as_of,
                      "kun": True})  # fmt: skip
        asked.append({"kk": "101", "fra": as_of, "til": as_of, "as_of": as_of})
    return asked


async def test_udsoegning_matches_an_independent_computation(platform, tmp_path: Path):
    seed = int(os.environ.get("UDSOEGNING_ORACLE_SEED", random.randrange(10**9)))
    rng = random.Random(seed)
    ticks: list[Tick] = []
    try:
        citizens, t0 = await generate(platform, rng, ticks)
    finally:
        platform.__dict__.pop("tick", None)
    day = await today(platform)
    mine = {c.cpr: c for c in citizens}

    compared = 0
    for asked in criteria_list(t0, day):
        kk, fra, til = asked["kk"], asked["fra"], asked["til"]
        as_of = asked.get("as_of")
        response = await call(
            platform, f"jc{kk}", UDS.format(kk), fra=fra.isoformat(), til=til.isoformat(),
            maalgruppe=asked.get("group"), kun_adviserede="true" if asked.get("kun") else None,
            as_of=as_of.isoformat() if as_of else None,
        )  # fmt: skip
        actual = {r["cpr"]: list(r.values()) for r in csv_rows(response) if r["cpr"] in mine}
        expected = {}
        for citizen in citizens:
            row = expected_row(citizen, kk, fra, til, asked.get("group"), bool(asked.get("kun")),
                               as_of or day)  # fmt: skip
            if row is not None:
                expected[citizen.cpr] = row
        for cpr in sorted(set(actual) | set(expected)):
            assert actual.get(cpr) == expected.get(cpr), (
                f"seed {seed}, {asked}: {cpr} is {actual.get(cpr)}, expected {expected.get(cpr)};"
                f" facts {mine[cpr]}"
            )
        compared += len(expected)
    assert compared > 100, "the generated data should fill the extractions"

    # the monthly duty's column (maanedlig=true): the same rows, one column more
    months_compared = 0
    for asked in [a for a in criteria_list(t0, day) if not a.get("kun")][:10]:
        kk, fra, til, as_of = asked["kk"], asked["fra"], asked["til"], asked.get("as_of")
        response = await call(
            platform, f"jc{kk}", UDS.format(kk), fra=fra.isoformat(), til=til.isoformat(),
            maalgruppe=asked.get("group"), maanedlig="true",
            as_of=as_of.isoformat() if as_of else None,
        )  # fmt: skip
        assert response.status_code == 200, response.text
        lines = response.content.decode().splitlines()
        assert lines[0] == HEADER + ";maaneder_uden_registrering"
        actual = {cells[0]: cells for line in lines[1:] if (cells := line.split(";"))[0] in mine}
        for citizen in citizens:
            row = expected_row(citizen, kk, fra, til, asked.get("group"), False, as_of or day)
            if row is None:
                assert citizen.cpr not in actual, (seed, asked, citizen.cpr)
                continue
            row.append(expected_months(citizen, fra, til, as_of or day))
            assert actual.get(citizen.cpr) == row, (
                f"seed {seed}, {asked}: {citizen.cpr} is {actual.get(citizen.cpr)}, expected"
                f" {row}; facts {citizen}"
            )
            months_compared += row[-1] != "0"
    assert months_compared > 0, "some citizen should have missed a month"

    # the operator's command writes the same CSV, through the same code
    await operator_command_writes_the_same_csv(platform, tmp_path, day)


async def operator_command_writes_the_same_csv(platform: Any, tmp_path: Path, today: date):
    from ops.cli import app

    fra = (today - timedelta(days=399)).isoformat()
    http = await call(platform, "jc101", UDS.format("101"), fra=fra, til=today.isoformat())
    output = tmp_path / "udsoegning-101.csv"
    env = {
        "MONGODB_URL": platform.settings.mongodb_url,
        "MONGODB_DATABASE": platform.settings.mongodb_database,
        "JOBLOG_CLOCK": "simulated",
    }
    args = ["udsoegning", "101", fra, today.isoformat(), "--output", str(output)]
    result = await asyncio.to_thread(CliRunner().invoke, app, args, env=env)
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == http.content
    rows = len(csv_rows(http))
    assert f"{rows} rows written" in result.stdout
    entry = await platform.db.access_log.find_one(
        {"hvem": {"$regex": "^operator:"}, "fil": str(output)}
    )
    assert entry["hvad"] == "udsoegning" and entry["fuldfoert"] is True
    assert entry["raekker"] == rows and entry["kriterier"]["fra"] == fra
    assert await platform.db.access_log.count_documents({"udsoegning": entry["_id"]}) == rows

    refused = await asyncio.to_thread(
        CliRunner().invoke, app,
        ["udsoegning", "101", today.isoformat(), fra, "-o", str(tmp_path / "x.csv")], env=env,
    )  # fmt: skip
    assert refused.exit_code == 2 and "after til" in refused.output
    assert not (tmp_path / "x.csv").exists()
