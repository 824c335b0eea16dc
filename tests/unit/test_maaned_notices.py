"""The monthly notices (issue 21 A.2): the pure decisions of services/notifier/maaned.py, and the
notifier's handlers (services/notifier/maaned_sweep.py) with the in-memory fakes of
tests/unit/test_notifier_handlers.py."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.notifier import handlers, maaned_sweep, notices
from services.notifier.maaned import (
    PAAMINDELSE,
    PAAMINDELSE_DAYS,
    UDEN_REGISTRERING,
    Frist,
    MaanedNotice,
    affyr,
    afgoerelse_tid,
    frister,
    notice_id,
    paamindelse_tid,
    ved_aendring,
)
from services.notifier.maaned_store import frist_key
from services.notifier.records import StoredNotice, TopicOffset
from services.notifier.store import notice_document, stored_notice
from shared.contract import topics
from shared.contract.citizen import ExemptionPeriod, Maalgruppe, Period
from shared.contract.maanedlig import Maaned
from shared.platform.settings import Settings
from shared.readmodel.facts import Facts, facts_of
from tests.unit.test_notifier_handlers import PLATFORM, WALL, Fakes, change, citizens, tick

CPR = "0101901234"
JP, DP = Maalgruppe.JOBPARAT_KONTANTHJAELP, Maalgruppe.DAGPENGE
MARCH, APRIL = Maaned(2026, 3), Maaned(2026, 4)
REMINDER = datetime(2026, 3, 26, 23, tzinfo=UTC)  # 27 March 00:00 CET: 5 days left (27-31)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def period(fra: date, til: date | None = None, group: Maalgruppe = JP, kode: str = "101"):
    return Period(fra, til, group, kode, None)


def fritagelse(fra: date, til: date | None) -> ExemptionPeriod:
    return ExemptionPeriod(uuid.uuid4(), fra, til, "101", "sygdom", None)


SINCE_JANUARY = [period(date(2026, 1, 1))]


def fire(frist: Frist, periods, now: datetime, exemptions=(), oprettet=()):
    return affyr(frist, periods, list(exemptions), list(oprettet), now, PAAMINDELSE_DAYS)


# -- when they fall due ------------------------------------------------------------------------


def test_the_reminder_falls_due_at_midnight_of_the_day_from_which_the_days_remain():
    assert paamindelse_tid(MARCH, 5) == REMINDER
    assert paamindelse_tid(MARCH, 1) == utc(2026, 3, 30, 22)  # 31 March 00:00 CEST
    assert paamindelse_tid(Maaned(2026, 2), 5) == utc(2026, 2, 23, 23)  # 24-28 February
    assert paamindelse_tid(Maaned(2028, 2), 5) == utc(2028, 2, 24, 23)  # 25-29 (leap year)
    for days in (0, 29):
        with pytest.raises(ValueError):
            paamindelse_tid(MARCH, days)
    assert frister(CPR, MARCH, 5) == [
        Frist(CPR, MARCH, PAAMINDELSE, REMINDER),
        Frist(CPR, MARCH, UDEN_REGISTRERING, utc(2026, 3, 31, 22, 5)),  # 1 April 00:05 CEST
    ]


def test_the_setting_defaults_to_the_rules_number_of_days():
    assert Settings.model_fields["paamindelse_days"].default == PAAMINDELSE_DAYS == 5


def test_a_change_queues_the_current_month_while_the_citizen_is_covered_now_or_later():
    in_march = utc(2026, 3, 10, 12)
    assert ved_aendring(CPR, SINCE_JANUARY, in_march, 5) == frister(CPR, MARCH, 5)
    from_may = [period(date(2026, 1, 1), date(2026, 5, 1), DP), period(date(2026, 5, 1))]
    assert ved_aendring(CPR, from_may, in_march, 5) == frister(CPR, MARCH, 5)  # the chain starts
    assert ved_aendring(CPR, [period(date(2026, 1, 1), group=DP)], in_march, 5) == []
    ended = [period(date(2025, 1, 1), date(2026, 3, 1))]  # the last covered day: 28 February
    assert ved_aendring(CPR, ended, in_march, 5) == []
    assert ved_aendring(CPR, [], in_march, 5) == []
    # the month is Copenhagen's: 31 March 22:30 UTC is already April
    assert ved_aendring(CPR, SINCE_JANUARY, utc(2026, 3, 31, 22, 30), 5) == frister(CPR, APRIL, 5)


# -- the reminder ------------------------------------------------------------------------------


def test_a_reminder_goes_when_the_month_is_whole_and_nothing_is_registered_yet():
    [reminder, _] = frister(CPR, MARCH, 5)
    sent, queued = fire(reminder, SINCE_JANUARY, REMINDER)
    assert queued == []
    assert sent == [
        MaanedNotice(
            notice_id(CPR, MARCH, PAAMINDELSE), PAAMINDELSE, "borger", CPR, "101",
            "jobparat_kontanthjaelp", "2026-03", REMINDER, REMINDER,
        )
    ]  # fmt: skip
    assert sent[0].payload() == {
        "noticeId": str(notice_id(CPR, MARCH, PAAMINDELSE)),
        "noticeType": "maanedlig_paamindelse", "modtager": "borger", "cpr": CPR,
        "jobcenter": "101", "maalgruppe": "jobparat_kontanthjaelp", "maaned": "2026-03",
        "forfaldt": "2026-03-27T00:00:00+01:00", "udstedt": "2026-03-27T00:00:00+01:00",
    }  # fmt: skip


def test_no_reminder_once_registered_in_the_month_and_a_registration_before_it_does_not_count():
    [reminder, _] = frister(CPR, MARCH, 5)
    assert fire(reminder, SINCE_JANUARY, REMINDER, oprettet=[utc(2026, 3, 2, 9)]) == ([], [])
    [notice], _ = fire(reminder, SINCE_JANUARY, REMINDER, oprettet=[utc(2026, 2, 27, 9)])
    assert notice.noticeType == PAAMINDELSE


@pytest.mark.parametrize(
    ("periods", "exemptions"),
    [
        ([period(date(2026, 1, 1), date(2026, 3, 30))], []),  # known to end on the 29th
        ([period(date(2026, 3, 2))], []),  # began on the 2nd
        ([period(date(2026, 1, 1), date(2026, 3, 20)), period(date(2026, 3, 20), group=DP)], []),
        (SINCE_JANUARY, [fritagelse(date(2026, 3, 5), date(2026, 3, 8))]),
    ],
    ids=["ends-in-the-month", "began-on-the-2nd", "to-dagpenge", "fritagelse"],
)
def test_no_reminder_when_the_duty_cannot_apply_for_the_whole_month(periods, exemptions):
    [reminder, _] = frister(CPR, MARCH, 5)
    assert fire(reminder, periods, REMINDER, exemptions=exemptions) == ([], [])


def test_a_duty_that_began_on_the_1st_gets_its_reminder():
    [reminder, _] = frister(CPR, MARCH, 5)
    [notice], _ = fire(reminder, [period(date(2026, 3, 1))], REMINDER)
    assert notice.maaned == "2026-03"


def test_a_late_reminder_goes_while_the_month_runs_and_not_after_it():
    [reminder, _] = frister(CPR, MARCH, 5)
    late = utc(2026, 3, 30, 12)
    [notice], _ = fire(reminder, SINCE_JANUARY, late)
    assert notice.forfaldt == REMINDER and notice.udstedt == late
    assert fire(reminder, SINCE_JANUARY, MARCH.slut) == ([], [])


# -- the month's end ---------------------------------------------------------------------------


def test_a_missed_month_goes_to_the_jobcenter_of_its_last_day_and_the_next_month_is_queued():
    [_, end] = frister(CPR, MARCH, 5)
    moved = [
        period(date(2026, 1, 1), date(2026, 3, 15)),
        period(date(2026, 3, 15), group=Maalgruppe.OVERGANGSYDELSE, kode="147"),
    ]
    now = MARCH.slut + timedelta(minutes=1)
    [notice], queued = fire(end, moved, now, oprettet=[utc(2026, 2, 27, 9), utc(2026, 4, 1, 9)])
    assert notice == MaanedNotice(
        notice_id(CPR, MARCH, UDEN_REGISTRERING), UDEN_REGISTRERING, "jobcenter", CPR, "147",
        "overgangsydelse", "2026-03", MARCH.slut, now,
    )  # fmt: skip
    assert queued == frister(CPR, APRIL, 5)


def test_a_registered_month_sends_nothing_and_still_queues_the_next():
    [_, end] = frister(CPR, MARCH, 5)
    registered = fire(end, SINCE_JANUARY, MARCH.slut, oprettet=[utc(2026, 3, 31, 21, 59)])
    assert registered == ([], frister(CPR, APRIL, 5))


def test_the_chain_ends_with_the_cover_and_walks_on_to_a_later_one():
    [_, end] = frister(CPR, MARCH, 5)
    ended = [period(date(2026, 1, 1), date(2026, 4, 1)), period(date(2026, 4, 1), group=DP)]
    sent, queued = fire(end, ended, MARCH.slut)
    assert len(sent) == 1 and queued == []
    from_june = [period(date(2026, 1, 1), date(2026, 6, 1), DP), period(date(2026, 6, 1))]
    assert fire(end, from_june, MARCH.slut) == ([], frister(CPR, APRIL, 5))


def test_only_a_creation_registers_as_the_facts_read_it():
    def entry(handling: str, at: datetime) -> dict:
        return {"joblogId": "j", "version": 1, "handling": handling, "accepteret": at}

    doc = {
        "_id": CPR,
        "aktivitet": [entry("ret", utc(2026, 3, 5)), entry("slet", utc(2026, 3, 6)),
                      entry("opret", utc(2026, 2, 5))],
    }  # fmt: skip
    facts = facts_of(doc)
    assert facts.oprettet == [utc(2026, 2, 5)] and len(facts.activities) == 3
    [_, end] = frister(CPR, MARCH, 5)
    [notice], _ = fire(end, SINCE_JANUARY, MARCH.slut, oprettet=facts.oprettet)
    assert notice.noticeType == UDEN_REGISTRERING


def test_the_notice_ids_are_fixed_per_citizen_month_and_type():
    ids = {notice_id(c, m, t) for c in (CPR, "0202901234") for m in (MARCH, APRIL)
           for t in (PAAMINDELSE, UDEN_REGISTRERING)}  # fmt: skip
    assert len(ids) == 8
    assert notice_id(CPR, MARCH, PAAMINDELSE) == uuid.UUID("5448b3f0-f887-5123-b717-b8f82ab01a33")


def test_a_monthly_notice_is_stored_and_read_back_as_one():
    [_, end] = frister(CPR, MARCH, 5)
    [notice], _ = fire(end, SINCE_JANUARY, MARCH.slut)
    stored = StoredNotice(notice, (TopicOffset("jobcenter.101.notices", 0, 7),))
    doc = notice_document(stored)
    assert doc["noticeType"] == UDEN_REGISTRERING and doc["forfaldt"] == MARCH.slut
    assert stored_notice(doc) == stored


def test_the_monthly_rule_loads_no_io_library():
    probe = "import sys, services.notifier.maaned as m; print([n for n in ('pymongo', "
    probe += "'aiokafka', 'faststream') if n in sys.modules])"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stderr


# -- the handlers, with fakes ------------------------------------------------------------------


def covered(cpr: str) -> Facts:
    return Facts(cpr, [period(date(2026, 1, 1))])


async def test_a_batch_of_changes_makes_sure_of_the_covered_citizens_frister_in_one_insert():
    fakes = Fakes()
    cprs = citizens(3)
    fakes.facts.facts_of = {cprs[0]: covered(cprs[0]), cprs[1]: covered(cprs[1])}
    fakes.clock.moment = utc(2026, 3, 10)
    ports = fakes.ports()
    await handlers.handle_changes([change(cpr) for cpr in cprs], ports)
    assert fakes.maaned.adds == 1 and fakes.facts.reads == 1
    expected = [frist_key(f) for cpr in cprs[:2] for f in frister(cpr, MARCH, 5)]
    assert sorted(fakes.maaned.entries) == sorted(expected)
    await handlers.handle_changes([change(cprs[2])], ports)  # dagpenge (no facts): nothing
    assert fakes.maaned.adds == 1
    await handlers.handle_change(change(cprs[0]), ports)  # one record: the same entries again
    assert sorted(fakes.maaned.entries) == sorted(expected)


async def test_the_days_are_the_setting_s():
    fakes = Fakes()
    fakes.facts.facts_of = {CPR: covered(CPR)}
    fakes.clock.moment = utc(2026, 3, 10)
    await maaned_sweep.make_sure([covered(CPR)], fakes.ports(paamindelse_days=10))
    [reminder, _] = sorted((f for f, _, _ in fakes.maaned.entries.values()), key=frist_key)
    assert reminder.forfald == paamindelse_tid(MARCH, 10) == utc(2026, 3, 21, 23)


async def test_the_ticks_send_the_reminders_then_the_missed_months_a_chunk_at_a_time_in_bulk():
    """Three covered citizens, the first registered in March; chunks of two (the fake's): per chunk
    one claim, one read of the facts, one insert of the notices, one done; each notice once,
    with the platform's header; April's entries queued for all three."""
    fakes = Fakes()
    cprs = citizens(3)
    fakes.facts.facts_of = {cpr: covered(cpr) for cpr in cprs}
    registered = Facts(cprs[0], covered(cprs[0]).periods, oprettet=[utc(2026, 3, 3)])
    fakes.clock.moment = utc(2026, 3, 2)
    ports = fakes.ports()
    await maaned_sweep.make_sure(fakes.facts.facts_of.values(), ports)
    fakes.facts.facts_of[cprs[0]] = registered

    await handlers.handle_tick(tick(REMINDER - timedelta(seconds=1)), ports)
    assert fakes.topics.all() == []
    await handlers.handle_tick(tick(REMINDER), ports)
    reminders = fakes.topics.records[topics.NOTICES_BORGER]
    assert sorted(r.key for r in reminders) == cprs[1:]
    assert fakes.maaned.claims == fakes.facts.reads == fakes.store.inserts == 2  # chunks 2 + 1
    assert all(("dfdg-platform", PLATFORM.encode()) in r.headers for r in reminders)
    assert {r.payload["noticeType"] for r in reminders} == {PAAMINDELSE}

    await handlers.handle_tick(tick(afgoerelse_tid(MARCH)), ports)
    missed = fakes.topics.records[topics.jobcenter_notices("101")]
    assert sorted(r.key for r in missed) == cprs[1:]
    assert {(r.payload["noticeType"], r.payload["maaned"]) for r in missed} == {
        (UDEN_REGISTRERING, "2026-03")
    }
    assert set(fakes.topics.records) == {topics.NOTICES_BORGER, topics.jobcenter_notices("101")}
    assert all(n.published for n in fakes.store.notices.values()) and len(fakes.store.notices) == 4
    assert sorted(fakes.maaned.entries) == sorted(
        frist_key(f) for cpr in cprs for f in frister(cpr, APRIL, 5)
    )
    assert sorted(fakes.sent) == ["borger", "borger", "jobcenter", "jobcenter"]


async def test_months_passed_while_the_platform_was_down_are_judged_each_in_turn():
    fakes = Fakes()
    fakes.facts.facts_of = {CPR: covered(CPR)}
    fakes.clock.moment = utc(2026, 3, 2)
    ports = fakes.ports()
    await maaned_sweep.make_sure([covered(CPR)], ports)
    await handlers.handle_tick(tick(utc(2026, 5, 15)), ports)  # March's and April's ends passed
    sent = [r.payload for r in fakes.topics.all()]
    assert sorted((n["noticeType"], n["maaned"]) for n in sent) == [
        (UDEN_REGISTRERING, "2026-03"), (UDEN_REGISTRERING, "2026-04"),
    ]  # fmt: skip
    assert sorted(f.forfald for f, _, _ in fakes.maaned.entries.values()) == [
        paamindelse_tid(Maaned(2026, 5), 5), afgoerelse_tid(Maaned(2026, 5)),
    ]  # fmt: skip


async def test_entries_another_instance_holds_are_left_to_it():
    fakes = Fakes()
    fakes.facts.facts_of = {CPR: covered(CPR)}
    fakes.clock.moment = utc(2026, 3, 2)
    await maaned_sweep.make_sure([covered(CPR)], fakes.ports())
    key = frist_key(frister(CPR, MARCH, 5)[0])
    frist, _, _ = fakes.maaned.entries[key]
    fakes.maaned.entries[key] = (frist, "notifier-b#1", WALL + timedelta(seconds=30))
    assert await maaned_sweep.fire_due(REMINDER, fakes.ports()) == 0
    assert fakes.topics.all() == [] and key in fakes.maaned.entries


@pytest.mark.parametrize("kind", [PAAMINDELSE, UDEN_REGISTRERING])
@pytest.mark.parametrize(
    "when", ["before_store", "after_insert", "mid_publish", "after_publish", "before_done"]
)
async def test_a_crash_in_a_chunk_leaves_it_leased_and_the_refire_sends_each_notice_once(
    kind, when
):
    """The process ends between the bulk steps of a chunk of reminders or of month's ends:
    before the notices were stored (the topics' offsets asked), after they were stored (none
    sent), after one was sent, after all were sent (not
    marked), after they were marked (before the entries were done). The entries stay leased;
    a fresh instance recovers what was stored and not marked, and once the leases lapsed the
    chunk fires again and finds its notices: each exactly once, the fired entries gone and
    (at the month's end) the next month's there."""
    fakes = Fakes()
    cprs = citizens(2)
    fakes.facts.facts_of = {cpr: covered(cpr) for cpr in cprs}
    fakes.clock.moment = utc(2026, 3, 2)
    ports = fakes.ports()
    await maaned_sweep.make_sure(fakes.facts.facts_of.values(), ports)
    at = REMINDER if kind == PAAMINDELSE else afgoerelse_tid(MARCH)
    topic = topics.NOTICES_BORGER if kind == PAAMINDELSE else topics.jobcenter_notices("101")
    if kind == UDEN_REGISTRERING:
        await handlers.handle_tick(tick(REMINDER), ports)
    publish, done, mark = fakes.topics.publish, fakes.maaned.done, fakes.store.mark_published
    ours = lambda: fakes.topics.records.get(topic, [])  # noqa: E731

    async def crashing_publish(topic_: str, key: str, body: bytes, headers: dict) -> None:
        if when == "after_insert" or (when == "mid_publish" and ours()):
            raise RuntimeError("the process ends")
        await publish(topic_, key, body, headers)

    async def crash(*args: object) -> None:
        raise RuntimeError("the process ends")

    fakes.topics.publish = crashing_publish  # type: ignore[method-assign]
    end_offsets = fakes.topics.end_offsets
    if when == "before_store":
        fakes.topics.end_offsets = crash  # type: ignore[method-assign,assignment]
    if when == "after_publish":
        fakes.store.mark_published = crash  # type: ignore[method-assign]
    if when == "before_done":
        fakes.maaned.done = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await maaned_sweep.fire_due(at, ports)
    fakes.topics.publish, fakes.maaned.done = publish, done  # type: ignore[method-assign]
    fakes.store.mark_published = mark  # type: ignore[method-assign]
    fakes.topics.end_offsets = end_offsets  # type: ignore[method-assign]
    assert len(ours()) == {"before_store": 0, "after_insert": 0, "mid_publish": 1}.get(when, 2)
    stored_before = 0 if kind == PAAMINDELSE else 2  # the reminders, at the month's end
    assert len(fakes.store.notices) == stored_before + (0 if when == "before_store" else 2)
    assert all(
        lease is not None for f, lease, _ in fakes.maaned.entries.values() if f.noticeType == kind
    )

    fresh = fakes.ports(owner="notifier-b")
    await notices.recover(fresh)
    fakes.maaned.lapse()
    await handlers.handle_tick(tick(at + timedelta(minutes=1)), fresh)
    ids = [json.loads(r.value)["noticeId"] for r in fakes.topics.all()]
    assert len(ids) == len(set(ids)) == len(fakes.store.notices) == stored_before + 2
    assert sorted(r.key for r in ours()) == cprs
    assert all(n.published for n in fakes.store.notices.values())
    left = frister(CPR, MARCH, 5)[1:] if kind == PAAMINDELSE else frister(CPR, APRIL, 5)
    assert sorted(fakes.maaned.entries) == sorted(
        frist_key(Frist(cpr, f.maaned, f.noticeType, f.forfald)) for cpr in cprs for f in left
    )


# -- the documents -----------------------------------------------------------------------------


def test_the_contract_describes_the_monthly_notices_and_the_setting():
    root = Path(__file__).resolve().parents[2]
    contract = (root / "docs" / "contract.md").read_text()
    for name in MaanedNotice.__dataclass_fields__:
        assert f"`{name}`" in contract, name
    for kind in (PAAMINDELSE, UDEN_REGISTRERING):
        assert f"`{kind}`" in contract, kind
    assert "`JOBLOG_PAAMINDELSE_DAYS`" in (root / "docs" / "operations.md").read_text()


def test_the_notifiers_asyncapi_document_has_both_kinds_on_both_notice_topics():
    import yaml

    from ops.docs import KAFKA_SERVICES, asyncapi_yaml

    [notifier] = [kind for kind in KAFKA_SERVICES if kind.name == "notifier"]
    spec = yaml.safe_load(asyncapi_yaml(notifier))
    found = set()
    for channel in spec["channels"].values():
        (message,) = channel["messages"].values()
        payload = spec["components"]["messages"][message["$ref"].split("/")[-1]]["payload"]
        found.add((channel["address"], payload["$ref"].split("/")[-1]))
    for address in (topics.NOTICES_BORGER, topics.jobcenter_notices("<kode>")):
        assert {(address, "DueNotice"), (address, "MaanedNotice")} <= found


async def test_a_month_is_judged_five_minutes_after_its_end_so_its_last_creation_counts():
    """A creation accepted in the month's last second, in the read model a moment after the
    month ended: the month's end is not yet due at the end itself, and counts it when due."""
    fakes = Fakes()
    fakes.facts.facts_of = {CPR: covered(CPR)}
    fakes.clock.moment = utc(2026, 3, 2)
    ports = fakes.ports()
    await maaned_sweep.make_sure(fakes.facts.facts_of.values(), ports)
    await handlers.handle_tick(tick(MARCH.slut), ports)  # the end itself: not judged yet
    jobcenter = topics.jobcenter_notices("101")
    assert fakes.topics.records.get(jobcenter, []) == []
    last_second = MARCH.slut - timedelta(seconds=1)
    fakes.facts.facts_of[CPR] = Facts(CPR, covered(CPR).periods, oprettet=[last_second])
    await handlers.handle_tick(tick(afgoerelse_tid(MARCH)), ports)
    assert fakes.topics.records.get(jobcenter, []) == []
