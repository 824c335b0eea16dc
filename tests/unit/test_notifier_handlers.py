"""The notifier's handlers (services/notifier/handlers.py, notices.py) with in-memory fakes of
their ports: the store, the facts, the clock, the outbox and the notice topics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from services.notifier import handlers, notices
from services.notifier.advisering import DueNotice, add_local_days, notice_id
from services.notifier.maaned import Frist
from services.notifier.maaned_store import frist_key
from services.notifier.ports import NotifierPorts, SentRecord
from services.notifier.records import StoredNotice, Timer, TopicOffset
from services.notifier.store import due_key
from shared.contract import topics
from shared.contract.citizen import Maalgruppe, Period
from shared.contract.events import CitizenChange
from shared.contract.inbound import Inbound
from shared.contract.rejections import Reason
from shared.contract.tid import COPENHAGEN, as_utc
from shared.platform.runtime import Tick
from shared.readmodel.facts import Facts
from tests.fakes import FakeOutbox

CPR = "0101901234"
D0 = date(2026, 3, 2)
DUE = as_utc(datetime.combine(D0 + timedelta(days=30), time(), tzinfo=COPENHAGEN))
WALL = datetime(2026, 6, 1, 12, tzinfo=UTC)
PLATFORM = "dfdg-test"


# -- fakes -------------------------------------------------------------------------------------


@dataclass
class StoredTimer:
    due: datetime | None
    last_notified_due: datetime | None = None
    revision: int = 0
    lease: str | None = None
    lease_until: datetime | None = None

    def record(self, cpr: str) -> Timer:
        return Timer(cpr, self.due, self.last_notified_due, self.revision, self.lease)


@dataclass
class FakeStore:
    """The timers, the due queue and the notices in dicts, as `NotifierStore` keeps them."""

    timers: dict[str, StoredTimer] = field(default_factory=dict)
    queue: dict[str, str] = field(default_factory=dict)  # entry id: cpr
    notices: dict[str, StoredNotice] = field(default_factory=dict)
    writes: int = 0
    chunks: int = 0
    timer_reads: int = 0
    bulk_writes: int = 0
    claims: int = 0
    releases: int = 0
    inserts: int = 0

    async def timer(self, cpr: str) -> Timer | None:
        stored = self.timers.get(cpr)
        return None if stored is None else stored.record(cpr)

    async def set_due(self, cpr: str, due: datetime | None) -> None:
        self.writes += 1
        if due is not None:
            self.queue[due_key(due, cpr)] = cpr
        stored = self.timers.setdefault(cpr, StoredTimer(None))
        old, stored.due, stored.revision = stored.due, due, stored.revision + 1
        if old is not None and (due is None or due_key(old, cpr) != due_key(due, cpr)):
            self.queue.pop(due_key(old, cpr), None)

    async def due(self, now: datetime) -> AsyncIterator[list[tuple[str, str]]]:
        upto = due_key(now, ";")
        yield [(entry, cpr) for entry, cpr in sorted(self.queue.items()) if entry < upto]

    async def drop_if_stale(self, entry_id: str, cpr: str) -> None:
        stored = self.timers.get(cpr)
        if stored is None or stored.due is None or due_key(stored.due, cpr) != entry_id:
            self.queue.pop(entry_id, None)

    async def claim(
        self, cpr: str, now: datetime, owner: str, wall_now: datetime, until: datetime
    ) -> Timer | None:
        stored = self.timers.get(cpr)
        if stored is None or stored.due is None or stored.due > now:
            return None
        if stored.lease_until is not None and stored.lease_until >= wall_now:
            return None
        stored.lease, stored.lease_until = owner, until
        return stored.record(cpr)

    async def release(self, timer: Timer, due: datetime | None, notified: datetime | None) -> bool:
        stored = self.timers[timer.cpr]
        stored.lease = stored.lease_until = None
        if notified:
            stored.last_notified_due = notified
        if stored.revision != timer.revision:
            return False
        if due is not None:
            self.queue[due_key(due, timer.cpr)] = timer.cpr
        assert timer.due is not None
        if due is None or due_key(due, timer.cpr) != due_key(timer.due, timer.cpr):
            self.queue.pop(due_key(timer.due, timer.cpr), None)
        stored.due = due
        return True

    async def timers_of(self, cprs: list[str]) -> dict[str, Timer]:
        self.timer_reads += 1
        return {cpr: t.record(cpr) for cpr, t in self.timers.items() if cpr in cprs}

    async def set_due_many(
        self, dues: dict[str, datetime | None], before: dict[str, Timer]
    ) -> None:
        self.bulk_writes += 1
        for cpr, due in dues.items():
            await self.set_due(cpr, due)

    async def due_chunks(self, now: datetime) -> AsyncIterator[list[tuple[str, str]]]:
        upto, after = due_key(now, ";"), ""
        while chunk := [(e, c) for e, c in sorted(self.queue.items()) if after < e < upto][:2]:
            self.chunks += 1
            yield chunk
            after = chunk[-1][0]

    async def claim_many(
        self, cprs: list[str], now: datetime, owner: str, wall_now: datetime, until: datetime
    ) -> tuple[dict[str, Timer], dict[str, Timer]]:
        self.claims += 1
        claimed = {}
        for cpr in cprs:
            if (timer := await self.claim(cpr, now, owner, wall_now, until)) is not None:
                claimed[cpr] = timer
        others = {
            cpr: t.record(cpr)
            for cpr, t in self.timers.items()
            if cpr in cprs and cpr not in claimed
        }
        return claimed, others

    async def drop_stale(self, entries: list[tuple[str, str]], timers: dict[str, Timer]) -> None:
        for entry, cpr in entries:
            await self.drop_if_stale(entry, cpr)

    async def release_many(
        self, fired: list[tuple[Timer, datetime | None, datetime | None]]
    ) -> list[Timer]:
        self.releases += 1
        return [t for t, due, notified in fired if not await self.release(t, due, notified)]

    async def add_pending(
        self, notices: Iterable[DueNotice], checkpoint: Iterable[TopicOffset]
    ) -> tuple[list[StoredNotice], bool]:
        self.inserts += 1
        marks = tuple(checkpoint)
        records = [StoredNotice(n, marks) for n in notices]
        before = [r.id for r in records if r.id in self.notices]
        for record in records:
            self.notices.setdefault(record.id, record)
        stored = [self.notices[r.id] for r in records]
        return [r for r in stored if not r.published], bool(before)

    async def pending(self) -> list[StoredNotice]:
        return [r for r in self.notices.values() if not r.published]

    async def settled(self, notices: Sequence[Any]) -> None:
        """No markers here: `pending` reads the notices themselves."""

    async def mark_published(self, ids: Iterable[str]) -> None:
        for id_ in ids:
            if id_ in self.notices:
                self.notices[id_] = replace(self.notices[id_], published=True)


@dataclass
class FakeMaanedQueue:
    """The monthly queue in a dict (entry id: [frist, lease, lease until]), as `MaanedQueue`
    keeps it; its bulk steps counted."""

    entries: dict[str, tuple[Frist, str | None, datetime | None]] = field(default_factory=dict)
    chunk: int = 2
    adds: int = 0
    claims: int = 0
    dones: int = 0

    async def add(self, frister: Iterable[Frist]) -> None:
        wanted = list(frister)
        if wanted:
            self.adds += 1
        for frist in wanted:
            self.entries.setdefault(frist_key(frist), (frist, None, None))

    async def due_chunks(self, now: datetime) -> AsyncIterator[list[Frist]]:
        upto, after = f"{due_key(now, ';')}", ""
        while True:
            keys = [k for k in sorted(self.entries) if after < k < upto][: self.chunk]
            if not keys:
                return
            yield [self.entries[k][0] for k in keys]
            after = keys[-1]

    async def claim(
        self, frister: list[Frist], owner: str, wall_now: datetime, until: datetime
    ) -> tuple[list[Frist], str]:
        self.claims += 1
        token = f"{owner}#{self.claims}"
        claimed = []
        for frist in frister:
            entry = self.entries.get(frist_key(frist))
            if entry is not None and (entry[2] is None or entry[2] < wall_now):
                self.entries[frist_key(frist)] = (frist, token, until)
                claimed.append(frist)
        return claimed, token

    async def done(self, fired: list[Frist], token: str, following: list[Frist]) -> None:
        self.dones += 1
        await self.add(following)
        for frist in fired:
            if (entry := self.entries.get(frist_key(frist))) is not None and entry[1] == token:
                del self.entries[frist_key(frist)]

    def lapse(self) -> None:
        """Every lease lapses (its holder died)."""
        self.entries = {k: (f, None, None) for k, (f, _, _) in self.entries.items()}


@dataclass
class FakeFacts:
    facts_of: dict[str, Facts] = field(default_factory=dict)
    reads: int = 0

    async def facts(self, cpr: str) -> Facts:
        return self.facts_of.get(cpr, Facts(cpr))

    async def facts_many(self, cprs: Sequence[str]) -> dict[str, Facts]:
        self.reads += 1
        return {cpr: await self.facts(cpr) for cpr in cprs}


@dataclass
class FakeTickClock:
    simulated: bool = True
    ticks: list[datetime] = field(default_factory=list)
    fired: list[datetime] = field(default_factory=list)
    moment: datetime = WALL

    async def now(self) -> datetime:
        return max([self.moment, *self.ticks])

    async def store_tick(self, now: datetime) -> None:
        self.ticks.append(now)

    async def store_fired(self, now: datetime) -> None:
        self.fired.append(now)


@dataclass
class Record:
    key: str
    value: bytes
    headers: list[tuple[str, bytes]]

    @property
    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.value)
        return result


@dataclass
class FakeNoticeTopics:
    """Each notice topic as one partition, a list of records."""

    records: dict[str, list[Record]] = field(default_factory=dict)

    async def publish(self, topic: str, key: str, body: bytes, headers: dict[str, str]) -> None:
        as_sent = [(name, value.encode()) for name, value in headers.items()]
        self.records.setdefault(topic, []).append(Record(key, body, as_sent))

    async def end_offsets(self, names: list[str]) -> list[TopicOffset]:
        return [TopicOffset(name, 0, len(self.records.get(name, []))) for name in names]

    async def records_since(self, start: dict[tuple[str, int], int]) -> AsyncIterator[SentRecord]:
        for (topic, _), offset in start.items():
            for record in self.records.get(topic, [])[offset:]:
                yield SentRecord(record.value, record.headers)

    def all(self) -> list[Record]:
        return [record for records in self.records.values() for record in records]


@dataclass
class Fakes:
    store: FakeStore = field(default_factory=FakeStore)
    facts: FakeFacts = field(default_factory=FakeFacts)
    clock: FakeTickClock = field(default_factory=FakeTickClock)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    topics: FakeNoticeTopics = field(default_factory=FakeNoticeTopics)
    sent: list[str] = field(default_factory=list)
    maaned: FakeMaanedQueue = field(default_factory=FakeMaanedQueue)

    def ports(
        self, owner: str = "notifier-a", days: int = 30, paamindelse_days: int = 5
    ) -> NotifierPorts:
        return NotifierPorts(
            store=self.store, facts=self.facts, clock=self.clock, outbox=self.outbox,
            notices=self.topics, count_sent=self.sent.append, owner=owner,
            platform_id=PLATFORM, advisering_days=days, lease=timedelta(minutes=1),
            maaned=self.maaned, paamindelse_days=paamindelse_days, wall_clock=lambda: WALL,
        )  # fmt: skip


def on_duty(cpr: str = CPR, fra: date = D0) -> Facts:
    return Facts(cpr, [Period(fra, None, Maalgruppe.DAGPENGE, "147", "067")])


def change(cpr: str = CPR) -> Inbound:
    body = CitizenChange(cpr=cpr, aarsag="status", tidspunkt=WALL).model_dump_json().encode()
    return Inbound(topics.CITIZEN_CHANGES, 0, 1, cpr, body)


def activity(cpr: str = CPR) -> Inbound:
    body = CitizenChange(cpr=cpr, aarsag="joblog", tidspunkt=WALL).model_dump_json().encode()
    return Inbound(topics.CITIZEN_CHANGES, 0, 1, cpr, body)


def tick(now: datetime) -> Inbound:
    return Inbound(topics.TIMERS, 0, 7, "clock", Tick(now=now).model_dump_json().encode())


def pair(cpr: str = CPR, due: datetime = DUE) -> list[DueNotice]:
    """The pair due at `due` (30 days without activity, sent at the due time)."""
    return [
        DueNotice(notice_id(cpr, due, m), m, cpr, "147", "dagpenge", None, 30, due, due)
        for m in ("borger", "jobcenter")
    ]


# -- a citizen's change ------------------------------------------------------------------------


async def test_a_change_recomputes_the_timer_and_an_unchanged_one_is_not_rewritten():
    fakes = Fakes()
    fakes.facts.facts_of[CPR] = on_duty()
    ports = fakes.ports()

    await handlers.handle_change(change(), ports)
    timer = await fakes.store.timer(CPR)
    assert timer is not None and timer.due == DUE and timer.revision == 1
    assert fakes.store.queue == {due_key(DUE, CPR): CPR}

    await handlers.handle_change(change(), ports)  # nothing new: the timer stays as it is
    assert fakes.store.writes == 1

    # the duty ends before the due day: no timer due, and its queue entry goes
    ended = Facts(CPR, [Period(D0, D0 + timedelta(days=10), Maalgruppe.DAGPENGE, "147", "067")])
    fakes.facts.facts_of[CPR] = ended
    await handlers.handle_change(change(), ports)
    timer = await fakes.store.timer(CPR)
    assert timer is not None and timer.due is None and fakes.store.writes == 2
    assert fakes.store.queue == {}


async def test_a_joblog_activity_alone_is_left_to_the_timer_s_firing():
    """An activity never brings the due time forward (the property test in test_advisering),
    so the notifier neither reads nor writes for one; the timer, due at the earlier time, fires
    then and finds the activity: no notice, and it moves on 30 days after the activity."""
    fakes = Fakes()
    fakes.facts.facts_of[CPR] = on_duty()
    ports = fakes.ports()
    await handlers.handle_change(change(), ports)
    reads, writes = fakes.facts.reads, fakes.store.writes
    active = as_utc(DUE - timedelta(days=5))
    fakes.facts.facts_of[CPR] = replace(on_duty(), last_activity=active, activities=[active])
    await handlers.handle_changes([activity(), activity()], ports)
    await handlers.handle_change(activity(), ports)
    assert (fakes.facts.reads, fakes.store.writes) == (reads, writes)
    timer = await fakes.store.timer(CPR)
    assert timer is not None and timer.due == DUE  # where it was

    await handlers.handle_tick(tick(DUE), ports)
    assert fakes.topics.all() == []
    timer = await fakes.store.timer(CPR)
    assert timer is not None and timer.due == add_local_days(active, 30) and timer.lease is None
    # a batch of an activity and a status change recomputes the one with the status
    await handlers.handle_changes([activity(), change()], ports)
    assert fakes.facts.reads == reads + 2  # the tick's facts, then this batch's


async def test_the_number_of_days_is_the_setting_s_in_the_timer_and_in_the_notices():
    """JOBLOG_ADVISERING_DAYS reaches the rule: with 10 the pair falls due 10 days after the
    duty starts and says 10 days without activity (not the default 30)."""
    fakes = Fakes()
    fakes.facts.facts_of[CPR] = on_duty()
    ports = fakes.ports(days=10)
    await handlers.handle_change(change(), ports)
    due = as_utc(datetime.combine(D0 + timedelta(days=10), time(), tzinfo=COPENHAGEN))
    timer = await fakes.store.timer(CPR)
    assert timer is not None and timer.due == due
    await handlers.handle_tick(tick(due), ports)
    sent = [r.payload for r in fakes.topics.all()]
    assert len(sent) == 2 and {n["dageUdenAktivitet"] for n in sent} == {10}


# -- a tick ------------------------------------------------------------------------------------


async def test_a_tick_fires_the_due_timers_and_sends_both_notices_with_the_platform_header():
    fakes = Fakes()
    fakes.facts.facts_of = {CPR: on_duty(), "0202901234": on_duty("0202901234")}
    ports = fakes.ports()
    for cpr in fakes.facts.facts_of:
        await handlers.recompute(cpr, ports)

    await handlers.handle_tick(tick(DUE - timedelta(seconds=1)), ports)
    assert fakes.topics.all() == []

    await handlers.handle_tick(tick(DUE), ports)
    borger = fakes.topics.records[topics.NOTICES_BORGER]
    jobcenter = fakes.topics.records[topics.jobcenter_notices("147")]
    assert (
        sorted(r.key for r in borger)
        == sorted(r.key for r in jobcenter)
        == sorted(fakes.facts.facts_of)
    )
    assert set(fakes.topics.records) == {topics.NOTICES_BORGER, topics.jobcenter_notices("147")}
    for record in borger + jobcenter:
        assert ("dfdg-platform", PLATFORM.encode()) in record.headers
        assert ("content-type", b"application/json") in record.headers
    [mine] = [r.payload for r in borger if r.key == CPR]
    assert mine == {
        "noticeId": str(notice_id(CPR, DUE, "borger")), "modtager": "borger", "cpr": CPR,
        "jobcenter": "147", "maalgruppe": "dagpenge", "senesteAktivitet": None,
        "dageUdenAktivitet": 30, "forfaldt": "2026-04-01T00:00:00+02:00",
        "udstedt": "2026-04-01T00:00:00+02:00",
    }  # fmt: skip
    assert sorted(fakes.sent) == ["borger", "borger", "jobcenter", "jobcenter"]
    assert all(n.published for n in fakes.store.notices.values())
    assert len(fakes.store.notices) == 4
    # the timer moved on to the next due time, 30 days later, and was let go
    timer = await fakes.store.timer(CPR)
    next_due = as_utc(datetime(2026, 5, 1, tzinfo=COPENHAGEN))
    assert timer is not None and timer.last_notified_due == DUE and timer.due == next_due
    assert timer.lease is None
    assert (
        due_key(next_due, CPR) in fakes.store.queue and due_key(DUE, CPR) not in fakes.store.queue
    )
    assert fakes.clock.ticks == fakes.clock.fired == [DUE - timedelta(seconds=1), DUE]

    await handlers.handle_tick(tick(DUE + timedelta(minutes=1)), ports)  # nothing new due
    assert len(fakes.topics.all()) == 4


async def test_a_timer_another_instance_holds_is_not_fired_and_a_stale_entry_is_dropped():
    fakes = Fakes()
    held, later = CPR, "0202901234"
    fakes.facts.facts_of = {held: on_duty(held), later: on_duty(later, D0 + timedelta(days=10))}
    ports = fakes.ports()
    for cpr in (held, later):
        await handlers.recompute(cpr, ports)
    fakes.store.timers[held].lease = "notifier-b"
    fakes.store.timers[held].lease_until = WALL + timedelta(seconds=30)
    stale = due_key(DUE - timedelta(days=1), later)  # a crash between queue and timer
    fakes.store.queue[stale] = later

    assert await handlers.fire_due(DUE, ports) == 0

    assert fakes.topics.all() == []
    assert fakes.store.timers[held].due == DUE and fakes.store.timers[held].lease == "notifier-b"
    assert due_key(DUE, held) in fakes.store.queue  # left to the instance holding it
    assert stale not in fakes.store.queue
    assert due_key(DUE + timedelta(days=10), later) in fakes.store.queue

    # once its lease has lapsed, this instance fires it
    fakes.store.timers[held].lease_until = WALL - timedelta(seconds=1)
    assert await handlers.fire_due(DUE, ports) == 2
    assert [r.key for r in fakes.topics.all()] == [held, held]
    assert fakes.store.timers[held].lease is None


async def test_a_timer_recomputed_while_it_fired_is_recomputed_again():
    fakes = Fakes()
    fakes.facts.facts_of[CPR] = on_duty()
    ports = fakes.ports()
    await handlers.recompute(CPR, ports)
    release = fakes.store.release

    async def recomputed_meanwhile(timer: Timer, due: Any, notified: Any) -> bool:
        fakes.store.timers[CPR].revision += 1
        return await release(timer, due, notified)

    fakes.store.release = recomputed_meanwhile  # type: ignore[method-assign]
    assert await handlers.fire_due(DUE, ports) == 2
    timer = await fakes.store.timer(CPR)
    assert timer is not None and timer.last_notified_due == DUE
    assert timer.due == as_utc(datetime(2026, 5, 1, tzinfo=COPENHAGEN))


async def test_a_bad_tick_is_refused_to_the_platforms_rejected_topic():
    fakes = Fakes()
    bad = Inbound(topics.TIMERS, 0, 3, "clock", b'{"now": "tomorrow"}')

    await handlers.handle_tick(bad, fakes.ports())

    [refused] = fakes.outbox.rejected
    assert refused.topic == topics.PLATFORM_REJECTED and refused.inbound == bad
    assert refused.refusal.reason == Reason.MALFORMED and refused.refusal.field == "now"
    assert fakes.clock.ticks == fakes.clock.fired == []


async def test_a_real_clock_tick_far_from_the_wall_clock_is_refused():
    fakes = Fakes(clock=FakeTickClock(simulated=False))
    ports = fakes.ports()
    far = tick(WALL - timedelta(minutes=6))

    await handlers.handle_tick(far, ports)

    [refused] = fakes.outbox.rejected
    assert refused.topic == topics.PLATFORM_REJECTED and refused.refusal.field == "now"
    assert refused.refusal.reason == Reason.FIELD_INVALID and fakes.clock.fired == []

    await handlers.handle_tick(tick(WALL - timedelta(minutes=4)), ports)  # near enough
    assert len(fakes.outbox.rejected) == 1
    assert fakes.clock.fired == [WALL - timedelta(minutes=4)] and fakes.clock.ticks == []


async def test_a_change_that_fails_is_kept_on_the_platforms_rejected_topic():
    fakes = Fakes()
    inbound = change()

    await handlers.keep(inbound, RuntimeError("boom"), fakes.ports())

    [kept] = fakes.outbox.rejected
    assert kept.topic == topics.PLATFORM_REJECTED and kept.refusal.reason == Reason.INTERNAL_ERROR


# -- after a crash -----------------------------------------------------------------------------


async def test_recovery_sends_only_the_pending_notices_not_found_in_their_topic():
    fakes = Fakes()
    ports = fakes.ports()
    other = "0202901234"
    # a crashed instance stored three notices; it sent the first (ours, with our header), and
    # another platform on the same Kafka sent the second's id (not ours: still to send)
    sent, by_other, unsent = [*pair(CPR)[:1], *pair(other)[:1], *pair(other)[1:]]
    checkpoint = await fakes.topics.end_offsets([topics.NOTICES_BORGER, "jobcenter.147.notices"])
    await fakes.store.add_pending([sent, by_other, unsent], checkpoint)
    await notices.publish_notices([StoredNotice(sent, ())], replace(ports, store=FakeStore()))
    other_platform = replace(ports, platform_id="dfdg-other", store=FakeStore())
    await notices.publish_notices([StoredNotice(by_other, ())], other_platform)
    fakes.sent.clear()
    before = len(fakes.topics.all())

    await handlers.handle_tick(tick(DUE), ports)  # recovery comes before the first tick

    again = fakes.topics.all()[before:]
    assert sorted(json.loads(r.value)["noticeId"] for r in again) == sorted(
        [str(by_other.noticeId), str(unsent.noticeId)]
    )
    assert all(("dfdg-platform", PLATFORM.encode()) in r.headers for r in again)
    assert all(n.published for n in fakes.store.notices.values())
    assert sorted(fakes.sent) == ["borger", "jobcenter"]

    # once per process: a notice left pending later is not looked for before the next tick
    await fakes.store.add_pending(pair(CPR)[1:], checkpoint)
    await handlers.handle_tick(tick(DUE + timedelta(minutes=1)), ports)
    assert len(fakes.topics.all()) == before + 2


async def test_a_timer_fired_again_after_a_crash_sends_only_what_is_not_in_the_topic():
    fakes = Fakes()
    fakes.facts.facts_of[CPR] = on_duty()
    ports = fakes.ports()
    await handlers.recompute(CPR, ports)
    borger, jobcenter = pair(CPR)
    # the crashed instance stored the pair and sent the citizen's notice only
    checkpoint = await fakes.topics.end_offsets(
        [topics.NOTICES_BORGER, topics.jobcenter_notices("147")]
    )
    await fakes.store.add_pending([borger, jobcenter], checkpoint)
    await notices.publish_notices([StoredNotice(borger, ())], replace(ports, store=FakeStore()))
    ports.recovery.done = True  # (this instance started before the crash)

    assert await handlers.fire_due(DUE, ports) == 2  # the pair was due (and is accounted for)

    assert [json.loads(r.value)["modtager"] for r in fakes.topics.all()] == ["borger", "jobcenter"]
    assert all(n.published for n in fakes.store.notices.values())
    timer = await fakes.store.timer(CPR)
    assert timer is not None and timer.last_notified_due == DUE


# -- the sweep in bulk -------------------------------------------------------------------------


def citizens(n: int) -> list[str]:
    return [f"{i + 1:02d}0190{1000 + i}" for i in range(n)]


async def test_a_sweep_fires_a_chunk_at_a_time_with_one_read_insert_and_release_each():
    """Five citizens due at once, chunks of two (the fake's): per chunk one claim, one read of
    the facts, one insert of the notices (all of the chunk's citizens), one release; each
    notice once."""
    fakes = Fakes()
    cprs = citizens(5)
    fakes.facts.facts_of = {cpr: on_duty(cpr) for cpr in cprs}
    ports = fakes.ports()
    for cpr in cprs:
        await handlers.recompute(cpr, ports)

    assert await handlers.fire_due(DUE, ports) == 10

    assert fakes.store.chunks == 3
    assert fakes.store.claims == fakes.facts.reads == fakes.store.inserts == 3
    assert fakes.store.releases == 3
    ids = [r.payload["noticeId"] for r in fakes.topics.all()]
    assert sorted(ids) == sorted(
        str(notice_id(cpr, DUE, m)) for cpr in cprs for m in ("borger", "jobcenter")
    )
    assert all(n.published for n in fakes.store.notices.values())
    next_due = as_utc(datetime(2026, 5, 1, tzinfo=COPENHAGEN))
    assert sorted(fakes.store.queue) == sorted(due_key(next_due, cpr) for cpr in cprs)
    assert all(fakes.store.timers[cpr].lease is None for cpr in cprs)

    assert await handlers.fire_due(DUE + timedelta(minutes=1), ports) == 0  # nothing due now


async def test_a_chunk_whose_send_fails_leaves_its_timers_leased_and_the_refire_sends_the_rest():
    """A crash in the middle of a chunk's publishing (one of its notices sent): the timers stay
    leased; after the lease lapsed, recovery and the fire again send each notice once."""
    fakes = Fakes()
    cprs = citizens(2)
    fakes.facts.facts_of = {cpr: on_duty(cpr) for cpr in cprs}
    ports = fakes.ports()
    for cpr in cprs:
        await handlers.recompute(cpr, ports)
    publish = fakes.topics.publish

    async def one_then_crash(topic: str, key: str, body: bytes, headers: dict[str, str]) -> None:
        if fakes.topics.all():
            raise RuntimeError("the process ends")
        await publish(topic, key, body, headers)

    fakes.topics.publish = one_then_crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await handlers.fire_due(DUE, ports)
    fakes.topics.publish = publish  # type: ignore[method-assign]
    assert len(fakes.topics.all()) == 1 and len(fakes.store.notices) == 4
    assert all(fakes.store.timers[cpr].lease == "notifier-a" for cpr in cprs)

    fresh = fakes.ports(owner="notifier-b")
    await notices.recover(fresh)  # what was stored and not marked, unless it is in the topic
    for cpr in cprs:
        fakes.store.timers[cpr].lease_until = WALL - timedelta(seconds=1)
    assert await handlers.fire_due(DUE + timedelta(minutes=1), fresh) == 4  # found, not sent
    ids = [r.payload["noticeId"] for r in fakes.topics.all()]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert all(n.published for n in fakes.store.notices.values())
    assert all(fakes.store.timers[cpr].last_notified_due == DUE for cpr in cprs)


# -- the reaction to a batch of changes --------------------------------------------------------


async def test_a_batch_of_changes_is_recomputed_with_one_read_and_one_write_per_collection():
    fakes = Fakes()
    cprs = citizens(3)
    fakes.facts.facts_of = {cpr: on_duty(cpr) for cpr in cprs}
    ports = fakes.ports()
    await handlers.recompute(cprs[2], ports)  # already right: not written again
    writes = fakes.store.writes

    await handlers.handle_changes([change(cprs[0]), change(cprs[1]), change(cprs[0])], ports)
    await handlers.handle_changes([change(cpr) for cpr in cprs], ports)

    assert fakes.store.timer_reads == fakes.facts.reads == fakes.store.bulk_writes == 2
    assert fakes.store.writes == writes + 2  # the two new timers, once each
    assert all(fakes.store.timers[cpr].due == DUE for cpr in cprs)
    assert sorted(fakes.store.queue) == sorted(due_key(DUE, cpr) for cpr in cprs)


async def test_a_batch_with_a_record_that_is_no_change_fails_whole():
    """So `deliver_whole` handles it record by record: the bad one kept, the others through."""
    fakes = Fakes()
    bad = Inbound(topics.CITIZEN_CHANGES, 0, 2, CPR, b"{}")
    with pytest.raises(ValueError):
        await handlers.handle_changes([change(), bad], fakes.ports())
    assert fakes.store.timers == {}
