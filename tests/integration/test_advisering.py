"""Adviseringer end to end: statuses, exemptions and joblogs in through Kafka, ticks on
dfdg.timers, notices out on dfdg.notices and in db.notices; and restarts of the notifier between
and during ticks.

The simulated clock is shared by the session (and by other sessions on the same Kafka, whose
ticks every platform reads), so each test starts at the platform's actual clock and only moves
it forward. Notices are read from dfdg.notices with their headers and counted only when this
session's platform sent them (another platform on the same Kafka also stores our citizens and
may send the same deterministic notice ids)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from harness import exemption, ids, jobnet, new_cpr, status
from ops.simulation.driver import sent_notices
from services.notifier import app as notifier_app
from services.notifier.advisering import notice_id
from services.notifier.ports import NotifierPorts
from services.notifier.store import due_key
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal
from shared.contract import topics
from shared.contract.tid import COPENHAGEN, as_utc, day_of
from shared.platform.kafka import end_offsets
from shared.platform.runtime import Service

pytestmark = pytest.mark.integration


def cph_time(day: date, hour: int = 0, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=COPENHAGEN)


def parse(value: str) -> datetime:
    return as_utc(datetime.fromisoformat(value))


class NoticeLog:
    """The notices this session's platform sent on dfdg.notices since the log was opened."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform
        self.start: dict[Any, int] = {}

    async def open(self) -> NoticeLog:
        admin = as_principal(self.platform.settings, ADMIN)
        self.start = await end_offsets(admin, topics.notice_topics())
        return self

    async def read(self, cprs: set[str]) -> list[dict[str, Any]]:
        return await sent_notices(self.platform.settings, self.start, cprs)


async def clock_now(platform: Any) -> datetime:
    """The platform's clock as it is, after everything sent so far is processed. It may be ahead
    of `platform.now`: every platform on the same Kafka reads every tick on dfdg.timers. A tick
    at the clock's time, processed, makes sure no earlier tick is still on its way."""
    while True:
        await platform.settle()
        doc = await platform.db.clock.find_one({"_id": "platform"}) or {}
        seen = max(platform.now, as_utc(doc.get("now", platform.now)))
        await platform.tick(seen)
        doc = await platform.db.clock.find_one({"_id": "platform"}) or {}
        if as_utc(doc["now"]) == seen:
            return platform.now


async def new_citizens(platform: Any, n: int) -> tuple[list[str], date, NoticeLog]:
    """n fresh cprs, the first day of the test (the day after the clock's day, so that the day
    starts after the clock and a duty from it starts at its midnight) and an open notice log."""
    now = await clock_now(platform)
    return (
        [new_cpr() for _ in range(n)],
        day_of(now) + timedelta(days=1),
        await NoticeLog(platform).open(),
    )


async def stored(platform: Any, cpr: str) -> list[dict[str, Any]]:
    return await platform.db.notices.find({"cpr": cpr}).sort("forfaldt", 1).to_list()


def pair_ok(notices: list[dict[str, Any]], due: datetime, dage: int) -> None:
    assert sorted(n["modtager"] for n in notices) == ["borger", "jobcenter"]
    assert {parse(n["forfaldt"]) for n in notices} == {due}
    assert {n["dageUdenAktivitet"] for n in notices} == {dage}
    assert len({n["noticeId"] for n in notices}) == 2


def current_notifier(platform: Any) -> Service[NotifierPorts]:
    [notifier] = [s for s in platform.services if s.runtime.name == notifier_app.SPEC.name]
    assert isinstance(notifier.ports, NotifierPorts)
    return notifier


async def replace_notifier(platform: Any) -> Service[NotifierPorts]:
    """Stop the running notifier (as if its process ended) and start a fresh one."""
    old = current_notifier(platform)
    await old.__aexit__(None, None, None)
    platform.services.remove(old)
    new = await platform.restart_notifier()
    platform.services.append(new)
    return new


# --- the 30-day rule ---------------------------------------------------------------------------


async def test_no_activity_for_30_days_gives_one_pair_then_a_repeat_after_30_more(platform):
    front = platform.front
    [cpr], d0, log = await new_citizens(platform, 1)
    await front.send(topics.CITIZEN_STATUS, status(cpr, d0, jobcenter="147", akasse_nr="067"))
    await platform.settle()
    due = as_utc(cph_time(d0 + timedelta(days=30)))

    await platform.tick(due - timedelta(seconds=1))
    assert await log.read({cpr}) == []

    await platform.tick(due)
    notices = await log.read({cpr})
    pair_ok(notices, due, 30)
    for notice in notices:
        assert notice["cpr"] == cpr and notice["jobcenter"] == "147"
        assert notice["maalgruppe"] == "dagpenge" and notice["senesteAktivitet"] is None
        assert parse(notice["udstedt"]) == due
    docs = await stored(platform, cpr)
    assert {d["_id"] for d in docs} == {n["noticeId"] for n in notices}
    assert all(d["published"] for d in docs)

    # nothing more until another 30 days have passed; then one more pair, 60 days without
    await platform.tick(due + timedelta(days=29, hours=23))
    assert len(await log.read({cpr})) == 2
    second = as_utc(cph_time(d0 + timedelta(days=60)))
    await platform.tick(second)
    notices = await log.read({cpr})
    assert len(notices) == 4
    pair_ok([n for n in notices if parse(n["forfaldt"]) == second], second, 60)
    assert len(await stored(platform, cpr)) == 4


async def test_activity_on_day_29_prevents_the_notice(platform):
    front = platform.front
    [cpr, control], d0, log = await new_citizens(platform, 2)
    for who in (cpr, control):
        await front.send(topics.CITIZEN_STATUS, status(who, d0, akasse_nr="067"))
    await platform.settle()

    day_29 = cph_time(d0 + timedelta(days=29), 14, 5)
    await platform.tick(day_29)
    log_id = ids()
    await front.send(topics.JOBNET_INBOUND, jobnet("opret", cpr, log_id, day_29))
    await front.wait_for(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id)
    await platform.settle()

    first_due = as_utc(cph_time(d0 + timedelta(days=30)))
    await platform.tick(first_due + timedelta(hours=1))
    notices = await log.read({cpr, control})
    assert [n for n in notices if n["cpr"] == cpr] == []
    pair_ok([n for n in notices if n["cpr"] == control], first_due, 30)

    # the clock restarted at the activity (accepted at the platform's clock: the day-29 tick)
    due = as_utc(cph_time(d0 + timedelta(days=59), 14, 5))
    await platform.tick(due - timedelta(minutes=1))
    assert [n for n in await log.read({cpr}) if n["cpr"] == cpr] == []
    await platform.tick(due)
    notices = await log.read({cpr})
    citizen = await platform.db.borgere.find_one({"_id": cpr})
    timer = await platform.db.timers.find_one({"_id": cpr})
    assert len(notices) == 2, f"{citizen}\n{timer}\n{due}"
    pair_ok(notices, due, 30)
    assert {parse(n["senesteAktivitet"]) for n in notices} == {as_utc(day_29)}


async def test_exempt_citizen_gets_none_and_the_end_of_an_exemption_restarts_the_clock(platform):
    front = platform.front
    [exempt, until_day_10], d0, log = await new_citizens(platform, 2)
    for cpr in (exempt, until_day_10):
        await front.send(topics.CITIZEN_STATUS, status(cpr, d0))
    await platform.settle()  # a fritagelse is granted to a citizen the platform knows
    await front.send(topics.jobcenter_exemption("101"), exemption(exempt, d0))
    await front.send(
        topics.jobcenter_exemption("101"),
        exemption(until_day_10, d0 + timedelta(days=5), d0 + timedelta(days=10)),
    )
    await platform.settle()

    await platform.tick(cph_time(d0 + timedelta(days=39), 23))
    assert await log.read({exempt, until_day_10}) == []
    timer = await platform.db.timers.find_one({"_id": exempt})
    assert timer is not None and timer["due"] is None

    due = as_utc(cph_time(d0 + timedelta(days=40)))
    await platform.tick(due)
    assert await log.read({exempt}) == []
    pair_ok(await log.read({until_day_10}), due, 30)
    assert await stored(platform, exempt) == []


async def test_a_fritagelse_ends_with_the_stay_at_the_jobcenter_that_granted_it(platform):
    """Jobcenter 101 grants an open-ended fritagelse from a day the citizen was its own, after he
    has moved to 147 (and to a control who stays): for the one who moved it ends on the day he
    moved, so 147's adviseringer come 30 days after and 147's udsøgning shows him not exempt;
    the one who stayed stays exempt."""
    front = platform.front
    [moved, stayed], d0, log = await new_citizens(platform, 2)
    move = d0 + timedelta(days=10)
    first = datetime.now(UTC)
    for cpr in (moved, stayed):
        await front.send(topics.CITIZEN_STATUS, status(cpr, d0, akasse_nr=None, at=first))
    await front.send(
        topics.CITIZEN_STATUS,
        status(moved, move, jobcenter="147", akasse_nr=None, at=first + timedelta(seconds=1)),
    )
    await platform.settle()
    for cpr in (moved, stayed):  # from a day both were 101's: storage accepts it
        await front.send(topics.jobcenter_exemption("101"), exemption(cpr, d0 + timedelta(days=5)))
    await platform.settle()
    await front.caught_up()
    assert not front.matching(  # theirs (other tests' refusals may be on the topic)
        topics.jobcenter_rejected("101"), lambda m: any(c in m["raw"] for c in (moved, stayed))
    )

    due = as_utc(cph_time(move + timedelta(days=30)))
    await platform.tick(due - timedelta(seconds=1))
    assert await log.read({moved, stayed}) == []
    await platform.tick(due)
    notices = await log.read({moved, stayed})
    pair_ok(notices, due, 30)
    assert {(n["cpr"], n["jobcenter"]) for n in notices} == {(moved, "147")}

    day = str(day_of(due))
    for token, kode, cpr, fritaget in (
        ("jc147", "147", moved, "nej"),
        ("jc101", "101", stayed, "ja"),
    ):
        async with platform.api.client(token) as client:
            response = await client.get(
                f"/v1/jobcentre/{kode}/udsoegning", params={"fra": day, "til": day}
            )
        assert response.status_code == 200, response.text
        [row] = [line for line in response.text.splitlines() if line.startswith(cpr)]
        assert row.split(";")[2] == fritaget, (kode, row)


async def test_citizen_whose_duty_ends_gets_none(platform):
    front = platform.front
    [ends, to_ingen, other_group], d0, log = await new_citizens(platform, 3)
    await front.send(topics.CITIZEN_STATUS, status(ends, d0, til=d0 + timedelta(days=20)))
    await front.send(topics.CITIZEN_STATUS, status(to_ingen, d0, at=datetime.now(COPENHAGEN)))
    await front.send(topics.CITIZEN_STATUS, status(other_group, d0, at=datetime.now(COPENHAGEN)))
    await platform.settle()
    await platform.tick(cph_time(d0 + timedelta(days=10), 9))
    # the duty ends with `ingen` from day 12; a change to another duty group changes nothing
    later = datetime.now(COPENHAGEN) + timedelta(seconds=1)
    await front.send(
        topics.CITIZEN_STATUS,
        status(to_ingen, d0 + timedelta(days=12), "ingen", akasse_nr=None, at=later),
    )
    await front.send(
        topics.CITIZEN_STATUS,
        status(
            other_group, d0 + timedelta(days=12), "jobparat_kontanthjaelp", "147", None, at=later
        ),
    )
    await platform.settle()

    due = as_utc(cph_time(d0 + timedelta(days=30)))
    await platform.tick(due + timedelta(days=45))
    assert await log.read({ends, to_ingen}) == []
    assert await stored(platform, ends) == [] and await stored(platform, to_ingen) == []
    notices = await log.read({other_group})
    pair_ok([n for n in notices if parse(n["forfaldt"]) == due], due, 30)
    assert {(n["jobcenter"], n["maalgruppe"]) for n in notices} == {
        ("147", "jobparat_kontanthjaelp")
    }


# --- restarts ----------------------------------------------------------------------------------


async def test_restart_between_ticks_changes_nothing(platform):
    front = platform.front
    [cpr], d0, log = await new_citizens(platform, 1)
    await front.send(topics.CITIZEN_STATUS, status(cpr, d0))
    await platform.settle()
    first = as_utc(cph_time(d0 + timedelta(days=30)))
    await platform.tick(first)
    assert len(await log.read({cpr})) == 2

    await replace_notifier(platform)
    await platform.tick(first + timedelta(minutes=5))  # the same due time again: nothing
    await replace_notifier(platform)
    second = as_utc(cph_time(d0 + timedelta(days=60)))
    await platform.tick(second)
    await platform.tick(second + timedelta(hours=1))

    notices = await log.read({cpr})
    counts = count_ids(notices)
    assert len(counts) == 4 and set(counts.values()) == {1}, counts
    assert sorted({parse(n["forfaldt"]) for n in notices}) == [first, second]
    assert {d["_id"] for d in await stored(platform, cpr)} == set(counts)


class Crash(Exception):
    """The notifier's process ends here."""


class CrashingTopics:
    """The notice topics of a notifier whose process ends while it sends `cpr`'s notices:
    before sending any, or after sending them all or only the first (and then before they are
    marked published)."""

    def __init__(self, real: Any, cpr: str, when: str, crashed: asyncio.Event) -> None:
        self.real, self.cpr, self.when, self.crashed = real, cpr, when, crashed
        self.first_sent = asyncio.Event()
        self.calls = 0

    async def publish(self, topic: str, key: str, body: bytes, headers: dict[str, str]) -> None:
        if key != self.cpr:
            await self.real.publish(topic, key, body, headers)
            return
        self.crashed.set()
        self.calls += 1
        if self.when == "before_sending":
            raise Crash
        if self.when == "after_sending_one" and self.calls > 1:
            await self.first_sent.wait()  # the first is sent, this one never
            raise Crash
        await self.real.publish(topic, key, body, headers)
        self.first_sent.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def count_ids(notices: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for notice in notices:
        counts[notice["noticeId"]] = counts.get(notice["noticeId"], 0) + 1
    return counts


@pytest.mark.parametrize("when", ["before_sending", "after_sending", "after_sending_one"])
async def test_crash_during_a_tick_then_a_fresh_notifier_sends_each_notice_exactly_once(
    platform, when
):
    front = platform.front
    [cpr], d0, log = await new_citizens(platform, 1)
    await front.send(topics.CITIZEN_STATUS, status(cpr, d0))
    await platform.settle()

    # the running notifier's ports (as its composition root returned them): its notice topics
    # and its store stand in for a process that ends while it sends this citizen's notices
    ports = current_notifier(platform).ports
    real_topics, mark_published = ports.notices, ports.store.mark_published
    crashed = asyncio.Event()
    due = as_utc(cph_time(d0 + timedelta(days=30)))
    pair = {str(notice_id(cpr, due, modtager)) for modtager in ("borger", "jobcenter")}

    async def crashing_mark(ids_: Any) -> None:
        wanted = list(ids_)
        if pair & set(wanted):  # sent (all, or the first of the pair), never marked
            raise Crash
        await mark_published(wanted)

    ports.notices = CrashingTopics(real_topics, cpr, when, crashed)
    ports.store.mark_published = crashing_mark  # type: ignore[method-assign]
    try:
        await front.tick(due)
        await asyncio.wait_for(crashed.wait(), 60)
        await platform.settle()  # the tick's handler has ended (with the crash)
    finally:
        ports.notices = real_topics
        ports.store.mark_published = mark_published  # type: ignore[method-assign]
    docs = await stored(platform, cpr)
    assert len(docs) == 2 and not any(d["published"] for d in docs)
    sent_before = len(await log.read({cpr}))
    assert sent_before == {"before_sending": 0, "after_sending": 2, "after_sending_one": 1}[when]

    # a fresh instance recovers what the crash left unmarked before it handles a tick; the
    # timer itself stays leased by the dead instance (for a minute of wall-clock time)
    await replace_notifier(platform)
    await platform.tick(due + timedelta(minutes=1))
    docs = await stored(platform, cpr)
    assert len(docs) == 2 and all(d["published"] for d in docs)
    counts = count_ids(await log.read({cpr}))
    assert counts == {d["_id"]: 1 for d in docs}

    # rather than wait for the lease to lapse, let it lapse now: the next tick fires the timer
    # again, finds its notices sent, sends nothing and moves the timer on
    await platform.db.timers.update_one({"_id": cpr}, {"$set": {"leaseUntil": None}})
    await platform.tick(due + timedelta(minutes=2))
    timer = await platform.db.timers.find_one({"_id": cpr})
    assert timer is not None and as_utc(timer["lastNotifiedDue"]) == due
    assert count_ids(await log.read({cpr})) == counts

    second = as_utc(cph_time(d0 + timedelta(days=60)))
    await platform.tick(second)
    counts = count_ids(await log.read({cpr}))
    assert len(counts) == 4 and set(counts.values()) == {1}, counts


# --- crashes between the bulk steps of a sweep's chunk -----------------------------------------


class CrashingChunk:
    """The notice topics of a notifier whose process ends between the bulk steps of a chunk
    holding `cprs`: after the notices were inserted (before any is sent), after the first was
    sent (mid-publish), after all were sent (before the mark), after the mark (before the
    timers are moved on), or after the timers were moved on (before the old queue entries are
    dropped: mid-release)."""

    def __init__(self, real: Any, cprs: set[str], when: str, crashed: asyncio.Event) -> None:
        self.real, self.cprs, self.when, self.crashed = real, cprs, when, crashed
        self.sent = 0
        self.first_sent = asyncio.Event()

    async def publish(self, topic: str, key: str, body: bytes, headers: dict[str, str]) -> None:
        if key not in self.cprs:
            await self.real.publish(topic, key, body, headers)
            return
        self.crashed.set()
        if self.when == "after_insert":
            raise Crash
        if self.when == "mid_publish" and self.sent >= 1:
            await self.first_sent.wait()  # the first is sent, this one never
            raise Crash
        self.sent += 1
        await self.real.publish(topic, key, body, headers)
        self.first_sent.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class CrashingQueue:
    """The due queue of a notifier whose process ends at its first delete of many entries."""

    def __init__(self, real: Any, crashed: asyncio.Event) -> None:
        self.real, self.crashed = real, crashed

    async def delete_many(self, *args: Any, **kwargs: Any) -> Any:
        self.crashed.set()
        raise Crash

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.mark.parametrize(
    "when", ["after_insert", "mid_publish", "after_publish", "after_mark", "mid_release"]
)
async def test_crash_between_the_bulk_steps_of_a_chunk_sends_each_notice_exactly_once(
    platform, when
):
    """Three citizens due at once, fired in one chunk; the notifier's process ends between two
    of the chunk's bulk steps; a fresh notifier recovers what was stored and not marked, the
    dead one's leases lapse, the next tick fires the chunk again: every notice exactly once on
    the broker, all stored published, each timer moved on with one queue entry."""
    front = platform.front
    cprs, d0, log = await new_citizens(platform, 3)
    for cpr in cprs:
        await front.send(topics.CITIZEN_STATUS, status(cpr, d0))
    await platform.settle()

    ports = current_notifier(platform).ports
    store: Any = ports.store
    real_topics, mark_published, release_many = (
        ports.notices,
        store.mark_published,
        store.release_many,
    )
    real_queue = store.queue
    crashed = asyncio.Event()
    due = as_utc(cph_time(d0 + timedelta(days=30)))
    ours = {str(notice_id(cpr, due, m)) for cpr in cprs for m in ("borger", "jobcenter")}

    async def crashing_mark(ids_: Any) -> None:
        wanted = list(ids_)
        if ours & set(wanted) and when in ("after_insert", "mid_publish", "after_publish"):
            raise Crash
        await mark_published(wanted)

    async def crashing_release(fired: Any) -> Any:
        if {timer.cpr for timer, _, _ in fired} & set(cprs):
            crashed.set()
            if when == "after_mark":
                raise Crash
            store.queue = CrashingQueue(real_queue, crashed)
        return await release_many(fired)

    ports.notices = CrashingChunk(real_topics, set(cprs), when, crashed)
    store.mark_published = crashing_mark
    store.release_many = crashing_release
    try:
        await front.tick(due)
        await asyncio.wait_for(crashed.wait(), 60)
        await platform.settle()  # the tick's handler has ended (with the crash)
    finally:
        ports.notices = real_topics
        store.mark_published, store.release_many = mark_published, release_many
        store.queue = real_queue
    docs = [d for cpr in cprs for d in await stored(platform, cpr)]
    assert {d["_id"] for d in docs} == ours
    marked = when in ("after_mark", "mid_release")
    assert all(bool(d["published"]) == marked for d in docs)
    sent_before = len(await log.read(set(cprs)))
    assert sent_before == {"after_insert": 0, "mid_publish": 1}.get(when, 6)

    await replace_notifier(platform)
    await platform.tick(due + timedelta(minutes=1))  # recovery: what was stored, not marked
    await platform.db.timers.update_many({"_id": {"$in": cprs}}, {"$set": {"leaseUntil": None}})
    await platform.tick(due + timedelta(minutes=2))  # the chunk fired again: nothing to send
    docs = [d for cpr in cprs for d in await stored(platform, cpr)]
    assert {d["_id"] for d in docs} == ours and all(d["published"] for d in docs)
    assert count_ids(await log.read(set(cprs))) == {id_: 1 for id_ in ours}
    second = as_utc(cph_time(d0 + timedelta(days=60)))
    for cpr in cprs:
        timer = await platform.db.timers.find_one({"_id": cpr})
        assert timer is not None and as_utc(timer["lastNotifiedDue"]) == due
        assert as_utc(timer["due"]) == second and not timer.get("lease")
        entries = await platform.db.forfald.find({"cpr": cpr}).to_list()
        assert [e["_id"] for e in entries] == [due_key(second, cpr)], entries

    await platform.tick(second)
    counts = count_ids(await log.read(set(cprs)))
    assert len(counts) == 12 and set(counts.values()) == {1}, counts
