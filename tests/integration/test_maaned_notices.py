"""The monthly duty's notices (lov 371, issue 21 A.2) end to end on the real broker and
database: statuses and joblogs in through Kafka, ticks of the simulated clock, the reminders on
dfdg.notices.borger and the missed months on jobcenter.<kode>.notices; a crash of the notifier
between the bulk steps of a chunk, then a fresh one: each monthly notice exactly once; and a
herd (every citizen judged at the same month's end) over several chunks.

The simulated clock is the session's and only moves forward, so each test starts from the
month the platform's clock is in (helpers of tests/integration/test_advisering.py)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness import exemption, ids, jobnet, new_cpr, status
from ops.rebuild import maaned_entries
from services.notifier.maaned import (
    PAAMINDELSE,
    UDEN_REGISTRERING,
    afgoerelse_tid,
    notice_id,
    paamindelse_tid,
)
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal
from shared.contract import topics
from shared.contract.maanedlig import Maaned
from shared.contract.tid import as_utc, day_of
from shared.platform.kafka import end_offsets, records_since
from tests.integration.test_advisering import Crash, clock_now, current_notifier, replace_notifier

pytestmark = pytest.mark.integration

JP, OVERGANG = "jobparat_kontanthjaelp", "overgangsydelse"


class MonthlyLog:
    """The monthly notices this session's platform sent since the log was opened, with their
    topics."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform
        self.start: dict[Any, int] = {}

    async def open(self) -> MonthlyLog:
        admin = as_principal(self.platform.settings, ADMIN)
        self.start = await end_offsets(admin, topics.notice_topics())
        return self

    async def read(self, cprs: set[str]) -> list[tuple[str, dict[str, Any]]]:
        settings = self.platform.settings
        ours = (topics.PLATFORM_HEADER, settings.group_prefix.encode())
        found = []
        async for record in records_since(as_principal(settings, ADMIN), self.start):
            notice = json.loads(record.value or b"{}")
            mine = ours in list(record.headers or ()) and notice.get("cpr") in cprs
            if mine and "noticeType" in notice:
                found.append((record.topic, notice))
        return found


async def this_month(platform: Any) -> tuple[Maaned, MonthlyLog]:
    now = await clock_now(platform)
    return Maaned.of(day_of(now)), await MonthlyLog(platform).open()


async def stored(platform: Any, cprs: list[str]) -> list[dict[str, Any]]:
    wanted = {"cpr": {"$in": cprs}, "noticeType": {"$exists": True}}
    return await platform.db.notices.find(wanted).to_list()


async def queued(platform: Any, cprs: list[str]) -> list[tuple[str, str, str]]:
    entries = await platform.db.maaned_forfald.find({"cpr": {"$in": cprs}}).to_list()
    return sorted((e["cpr"], e["maaned"], e["noticeType"]) for e in entries)


def reminder_time(maaned: Maaned, platform: Any) -> Any:
    """The reminder's instant, or (the month's reminder passed already) a second on."""
    return max(paamindelse_tid(maaned, 5), platform.now + timedelta(seconds=1))


async def test_a_month_s_reminder_and_its_missed_month_to_the_jobcenter_of_its_end(platform):
    front = platform.front
    current, log = await this_month(platform)
    month = current.next()
    moved, registered, second, exempt, dagpenge = (new_cpr() for _ in range(5))
    first = month.first_day
    await front.send(topics.CITIZEN_STATUS, status(moved, first, JP, "101", None))
    later = datetime.now(UTC) + timedelta(seconds=1)
    await front.send(
        topics.CITIZEN_STATUS,
        status(moved, first + timedelta(days=14), OVERGANG, "147", None, at=later),
    )  # a move between covered målgrupper and jobcentre keeps the duty
    await front.send(topics.CITIZEN_STATUS, status(registered, first, JP, "101", None))
    await front.send(topics.CITIZEN_STATUS, status(second, first + timedelta(days=1), JP))
    await front.send(topics.CITIZEN_STATUS, status(exempt, first, JP, "101", None))
    await front.send(topics.CITIZEN_STATUS, status(dagpenge, first, "dagpenge"))
    await platform.settle()
    days = (first + timedelta(days=3), first + timedelta(days=5))
    await front.send(topics.jobcenter_exemption("101"), exemption(exempt, *days))
    cprs = [moved, registered, second, exempt, dagpenge]
    await platform.settle()

    await platform.tick(afgoerelse_tid(current))  # the month before: nobody's whole month
    await platform.tick(month.start + timedelta(hours=12))
    log_id = ids()
    await front.send(
        topics.JOBNET_INBOUND,
        jobnet("opret", registered, log_id, month.start + timedelta(hours=12)),
    )
    await front.wait_for(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id)
    await platform.settle()
    assert await log.read(set(cprs)) == []

    await platform.tick(paamindelse_tid(month, 5))
    [(topic, reminder)] = await log.read(set(cprs))
    assert topic == topics.NOTICES_BORGER
    assert reminder == {
        "noticeId": str(notice_id(moved, month, PAAMINDELSE)), "noticeType": PAAMINDELSE,
        "modtager": "borger", "cpr": moved, "jobcenter": "147", "maalgruppe": OVERGANG,
        "maaned": str(month), "forfaldt": reminder["forfaldt"], "udstedt": reminder["udstedt"],
    }  # fmt: skip
    assert as_utc(datetime.fromisoformat(reminder["forfaldt"])) == paamindelse_tid(month, 5)

    await platform.tick(afgoerelse_tid(month))
    sent = await log.read(set(cprs))
    assert len(sent) == 2
    [(topic, missed)] = [(t, n) for t, n in sent if n["noticeType"] == UDEN_REGISTRERING]
    assert topic == topics.jobcenter_notices("147")
    assert (missed["cpr"], missed["modtager"], missed["jobcenter"], missed["maalgruppe"]) == (
        moved, "jobcenter", "147", OVERGANG,
    )  # fmt: skip
    assert (
        missed["maaned"] == str(month)
        and as_utc(datetime.fromisoformat(missed["forfaldt"])) == month.slut
    )
    docs = await stored(platform, cprs)
    assert sorted(d["_id"] for d in docs) == sorted(n["noticeId"] for _, n in sent)
    assert all(d["published"] for d in docs)
    citizen = await platform.db.borgere.find_one({"_id": moved})
    assert reminder["noticeId"] not in citizen.get("adviseringer", {})  # no advisering
    following = str(month.next())
    assert await queued(platform, cprs) == sorted(
        (cpr, following, kind)
        for cpr in (moved, registered, second, exempt)
        for kind in (PAAMINDELSE, UDEN_REGISTRERING)
    )


class CrashingTopics:
    """The notice topics of a notifier whose process ends while it sends the monthly notices of
    `cprs`: at the first (after they were stored), or after the first was sent (mid-publish);
    adviseringer and everyone else's pass."""

    def __init__(self, real: Any, cprs: set[str], when: str, crashed: asyncio.Event) -> None:
        self.real, self.cprs, self.when, self.crashed = real, cprs, when, crashed
        self.sent = 0
        self.first_sent = asyncio.Event()

    async def publish(self, topic: str, key: str, body: bytes, headers: dict[str, str]) -> None:
        if key not in self.cprs or b'"noticeType"' not in body:
            await self.real.publish(topic, key, body, headers)
            return
        self.crashed.set()
        if self.when == "after_insert":
            raise Crash
        if self.when == "mid_publish" and self.sent >= 1:
            await self.first_sent.wait()
            raise Crash
        self.sent += 1
        await self.real.publish(topic, key, body, headers)
        self.first_sent.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.mark.parametrize(
    ("kind", "when"),
    [(UDEN_REGISTRERING, "mid_publish"), (PAAMINDELSE, "after_mark")],
)  # each step of either kind with the fakes: tests/unit/test_maaned_notices.py
async def test_a_crash_between_the_bulk_steps_sends_each_monthly_notice_exactly_once(
    platform, kind, when
):
    """Three citizens whose month's notice falls due at once, in one chunk; the notifier's
    process ends between two of the chunk's bulk steps (after the first notice was sent, or
    after all were sent and marked, before the entries were done); a fresh notifier recovers
    what was stored and not marked, the dead one's leases lapse, the next tick fires the chunk
    again: every notice exactly once on the broker, all stored published, the fired entries
    gone and (at the month's end) the next month's there."""
    front = platform.front
    month, log = await this_month(platform)
    cprs = sorted(new_cpr() for _ in range(3))
    for cpr in cprs:
        await front.send(topics.CITIZEN_STATUS, status(cpr, month.first_day, JP, "101", None))
    await platform.settle()
    at = reminder_time(month, platform) if kind == PAAMINDELSE else afgoerelse_tid(month)
    if kind == UDEN_REGISTRERING:
        await platform.tick(reminder_time(month, platform))  # the reminders first, uncrashed
    ours = {str(notice_id(cpr, month, kind)) for cpr in cprs}

    ports = current_notifier(platform).ports
    queue: Any = ports.maaned
    real_topics, mark_published, done = ports.notices, ports.store.mark_published, queue.done
    crashed = asyncio.Event()

    async def crashing_mark(ids_: Any) -> None:
        wanted = list(ids_)
        if ours & set(wanted) and when != "after_mark":
            crashed.set()
            raise Crash
        await mark_published(wanted)

    async def crashing_done(fired: Any, token: str, following: Any) -> None:
        if {f.cpr for f in fired} & set(cprs):
            crashed.set()
            raise Crash
        await done(fired, token, following)

    ports.notices = CrashingTopics(real_topics, set(cprs), when, crashed)
    ports.store.mark_published = crashing_mark  # type: ignore[method-assign]
    queue.done = crashing_done
    try:
        await front.tick(at)
        await asyncio.wait_for(crashed.wait(), 60)
        await platform.settle()  # the tick's handler has ended (with the crash)
    finally:
        ports.notices = real_topics
        ports.store.mark_published = mark_published  # type: ignore[method-assign]
        queue.done = done
    docs = [d for d in await stored(platform, cprs) if d["_id"] in ours]
    assert {d["_id"] for d in docs} == ours
    assert all(bool(d["published"]) == (when == "after_mark") for d in docs)
    sent_before = [n for _, n in await log.read(set(cprs)) if n["noticeId"] in ours]
    assert len(sent_before) == {"after_insert": 0, "mid_publish": 1}.get(when, 3)

    await replace_notifier(platform)
    await platform.tick(at + timedelta(minutes=1))  # recovery: what was stored, not marked
    await platform.db.maaned_forfald.update_many(
        {"cpr": {"$in": cprs}}, {"$set": {"leaseUntil": None}}
    )
    await platform.tick(at + timedelta(minutes=2))  # the chunk fired again: nothing to send
    docs = [d for d in await stored(platform, cprs) if d["_id"] in ours]
    assert {d["_id"] for d in docs} == ours and all(d["published"] for d in docs)
    counts = Counter(n["noticeId"] for _, n in await log.read(set(cprs)) if n["noticeId"] in ours)
    assert counts == dict.fromkeys(ours, 1)
    entries = await queued(platform, cprs)
    if kind == UDEN_REGISTRERING:
        following = str(month.next())
        assert entries == sorted(
            (cpr, following, k) for cpr in cprs for k in (PAAMINDELSE, UDEN_REGISTRERING)
        )
    else:
        assert entries == [(cpr, str(month), UDEN_REGISTRERING) for cpr in cprs]


HERD = int(os.environ.get("JOBLOG_MAANED_HERD", "120"))
HERD_CHUNK = int(os.environ.get("JOBLOG_MAANED_HERD_CHUNK", "50"))
"""The herd test's size and chunk (more to measure: `JOBLOG_MAANED_HERD=2000
JOBLOG_MAANED_HERD_CHUNK=500`; the ticks' seconds are printed, not asserted)."""


async def test_a_herd_at_a_month_s_end_is_fired_in_chunks_each_notice_exactly_once(platform):
    """Every covered citizen is judged at the same instant: 120 of them, chunks of 50 (three
    chunks), the reminders then the missed months, each exactly once, to the right topics."""
    front = platform.front
    month, log = await this_month(platform)
    cprs = sorted(new_cpr() for _ in range(HERD))
    centre = {cpr: ("101", "147")[i % 2] for i, cpr in enumerate(cprs)}
    for cpr in cprs:
        await front.send(topics.CITIZEN_STATUS, status(cpr, month.first_day, JP, centre[cpr], None))
    await platform.settle()
    queue: Any = current_notifier(platform).ports.maaned
    chunk, queue.chunk = queue.chunk, HERD_CHUNK
    try:
        began = time.monotonic()
        await platform.tick(reminder_time(month, platform))
        reminded = time.monotonic()
        await platform.tick(afgoerelse_tid(month))
        print(
            f"\nherd of {HERD} (chunks of {HERD_CHUNK}): reminders' tick "
            f"{reminded - began:.2f} s, month's end tick {time.monotonic() - reminded:.2f} s"
        )
    finally:
        queue.chunk = chunk
    sent = await log.read(set(cprs))
    counts = Counter(n["noticeId"] for _, n in sent)
    expected = {str(notice_id(c, month, k)) for c in cprs for k in (PAAMINDELSE, UDEN_REGISTRERING)}
    assert counts == dict.fromkeys(expected, 1)
    for topic, notice in sent:
        if notice["noticeType"] == UDEN_REGISTRERING:
            assert topic == topics.jobcenter_notices(centre[notice["cpr"]])
        else:
            assert topic == topics.NOTICES_BORGER
    assert len(await stored(platform, cprs)) == 2 * HERD


async def test_the_rebuild_makes_sure_of_this_month_s_entries_of_the_covered_citizens(platform):
    """A store from before the monthly notices (or whose queue was lost): `joblog rebuild`
    queues the current month's entries of every citizen covered now or later, once."""
    clock = await platform.db.clock.find_one({"_id": "platform"})
    month = Maaned.of(day_of(as_utc(clock["now"])))  # the month the rebuild takes
    covered, later, dagpenge = new_cpr(), new_cpr(), new_cpr()
    await platform.front.send(topics.CITIZEN_STATUS, status(covered, month.first_day, JP))
    upcoming = month.next().next().first_day
    await platform.front.send(topics.CITIZEN_STATUS, status(later, upcoming, OVERGANG))
    await platform.front.send(topics.CITIZEN_STATUS, status(dagpenge, month.first_day))
    await platform.settle()
    cprs = [covered, later, dagpenge]
    await platform.db.maaned_forfald.delete_many({"cpr": {"$in": cprs}})
    assert await maaned_entries(platform.db, 5) >= 2
    assert await maaned_entries(platform.db, 5) >= 2  # on top of itself: the same entries
    assert await queued(platform, cprs) == sorted(
        (cpr, str(month), kind)
        for cpr in (covered, later)
        for kind in (PAAMINDELSE, UDEN_REGISTRERING)
    )
