"""Issue 21 B: deletion when the data's time is up, on the real broker and database.

The job runs as the retention service runs it (its `Job`, with the service's outbox: both
adapters send its changes out), at a chosen moment years after the data was made: the platform's
clock stays where the session has it, so storage, the adapters and the notifier go on as before.
A run at a moment years on deletes whatever of the session is due then, so each test looks at
its own citizens only."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from harness import application, ids, jobnet
from ops.rebuild import rebuild
from ops.replay import replay
from ops.retention import retention as operator_run
from services.retention.app import RetentionPorts
from services.retention.job import LEASE, Busy, Job, Report
from services.retention.store import RetentionStore
from shared.contract import retention, topics
from shared.contract.tid import day_of, start_of_day
from shared.platform.runtime import Service
from shared.readmodel.facts import FactsReader
from tests.integration.test_api import call, clock_now

pytestmark = pytest.mark.integration

FULL = application(
    noter="ring igen fredag", link="https://acme.dk/job/1", adresse="Vej 1",
    kontaktperson={"navn": "Anna", "telefon": "12345678"}, soegtDato=None,
)  # fmt: skip
KEPT = {"type", "stilling", "virksomhed", "land"}


def service(platform: Any) -> Service[RetentionPorts]:
    [found] = [s for s in platform.services if s.runtime.name == "retention"]
    return found  # type: ignore[return-value]


def job(platform: Any, **changes: Any) -> Job:
    """The service's job under an owner of its own (the service's runner keeps its own lease)."""
    return replace(service(platform).ports.job, owner=f"test-{uuid.uuid4()}", **changes)


def noon(day: date) -> datetime:
    return start_of_day(day) + timedelta(hours=12)


def changed_on(out: dict[str, Any]) -> date:
    return day_of(datetime.fromisoformat(out["senestAendret"]))


async def create(platform: Any, cpr: str, **joblog: Any) -> dict[str, Any]:
    """A Jobnet create, accepted: its outbound message."""
    log_id = ids()
    message = jobnet("opret", cpr, log_id, await clock_now(platform), joblog={**FULL, **joblog})
    await platform.front.send(topics.JOBNET_INBOUND, message)
    [out] = await platform.front.wait_for(
        topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id and m["version"] == 1
    )
    return {**out, "sent": message}


async def edit(platform: Any, cpr: str, log_id: str, version: int, **joblog: Any) -> dict:
    message = jobnet(
        "ret", cpr, log_id, await clock_now(platform), grundversion=version,
        joblog={**FULL, **joblog},
    )  # fmt: skip
    await platform.front.send(topics.JOBNET_INBOUND, message)
    [out] = await platform.front.wait_for(
        topics.JOBNET_OUTBOUND,
        lambda m: m.get("joblogId") == log_id and m["version"] == version + 1,
    )
    return {**out, "sent": message}


AKASSE_WORD = {"valgfrie_felter": "OPTIONAL_FIELDS", "joblog": "WHOLE_LOG"}


def retention_changes(platform: Any, log_id: str, sletning: str) -> tuple[list, list]:
    """The retention changes of a joblog seen on Jobnet's and a-kasse 067's outbound topics."""
    jobnet_seen = platform.front.matching(
        topics.JOBNET_OUTBOUND,
        lambda m: m.get("joblogId") == log_id and m.get("sletning") == sletning,
    )
    akasse_seen = platform.front.matching(
        topics.akasse_outbound("067"),
        lambda m: m.get("logId") == log_id and m.get("retentionDeletion") == AKASSE_WORD[sletning],
    )
    return jobnet_seen, akasse_seen


async def wait_told(platform: Any, log_id: str, sletning: str, akasse: str) -> tuple[dict, dict]:
    """The first retention change of the joblog on each outbound topic (one run that stopped
    and the next may each have sent it: the same message)."""
    front = platform.front
    out, *_ = await front.wait_for(
        topics.JOBNET_OUTBOUND,
        lambda m: m.get("joblogId") == log_id and m.get("sletning") == sletning,
    )
    ak, *_ = await front.wait_for(
        topics.akasse_outbound("067"),
        lambda m: m.get("logId") == log_id and m.get("retentionDeletion") == akasse,
    )
    return out, ak


async def days_on(platform: Any, day: date, days: int) -> datetime:
    """A moment `days` Copenhagen days after `day` (31 times 24 hours can end on day 30, when
    summer time ends), and after every time the platform has seen."""
    later = start_of_day(day + timedelta(days=days)) + timedelta(hours=1)
    return max(later, await clock_now(platform) + timedelta(minutes=1))


async def records_naming(platform: Any, log_id: str, art: str) -> list[dict]:
    return await platform.db.sletninger.find({"art": art, "joblogIds": log_id}).to_list()


async def history_of(platform: Any, log_id: str) -> list[dict]:
    found = platform.db.joblog_history.find({"_id": {"$gte": f"{log_id}:", "$lt": f"{log_id};"}})
    return sorted(await found.to_list(), key=lambda d: d["version"])


async def test_a_tick_of_a_new_day_runs_the_job_and_compacts_the_message_ids_past_their_days(
    platform,
):
    """The service runs on the platform clock: the first tick of a day after the last day run
    starts the day's run. 31 days on, a message id accepted today is past its 30 days."""
    cpr = await platform.new_member()
    made = await create(platform, cpr)
    besked = made["sent"]["beskedId"]
    day = changed_on(made)
    key = retention.queue_key(retention.BESKED, day, besked)
    await platform.settle()  # the service put the change in its queue
    assert await platform.db.beskeder.find_one({"_id": besked}) is not None
    assert await platform.db.udloeb.find_one({"_id": key}) is not None

    now = await days_on(platform, day, 31)
    await platform.tick(now)
    runner = service(platform).ports.runner
    deadline = asyncio.get_running_loop().time() + 60
    while runner.last != day_of(now):  # the run the tick started, in the background
        assert asyncio.get_running_loop().time() < deadline, "the day's run did not finish"
        await asyncio.sleep(0.05)
    assert await platform.db.beskeder.find_one({"_id": besked}) is None
    assert await platform.db.udloeb.find_one({"_id": key}) is None
    record = await platform.db.sletninger.find_one({"art": "beskeder", "tidspunkt": now})
    assert record is not None and record["antal"] >= 1 and "joblogIds" not in record
    assert (await platform.db.sletning_tilstand.find_one({"_id": "job"}))["dag"] == str(day_of(now))
    assert await platform.db.joblogs.find_one({"_id": made["joblogId"]}) is not None  # not due


async def test_a_refusals_outcome_leaves_beskeder_with_the_message_ids(platform):
    """A refused message's outcome (kept in `beskeder` so that a redelivery gets the same
    refusal) reaches no dfdg.joblog.changes: storage queues its expiry itself, and the day's
    run 31 days on deletes it like an accepted message's id."""
    cpr = await platform.new_member()
    stranger = jobnet("ret", cpr, ids(), await clock_now(platform), grundversion=1)
    await platform.front.send(topics.JOBNET_INBOUND, stranger)  # no such joblog: refused
    await platform.front.wait_for(
        topics.JOBNET_REJECTED, lambda m: m.get("id") == stranger["beskedId"]
    )
    outcome = await platform.db.beskeder.find_one({"_id": stranger["beskedId"]})
    assert outcome is not None and outcome["afvist"]["aarsag"] == "unknown_joblog"
    [entry] = await platform.db.udloeb.find(
        {"_id": {"$regex": f"^besked\\|.*\\|{outcome['_id']}$"}}
    ).to_list()
    _, day, _ = retention.parse_key(entry["_id"])  # the day storage refused it, on its clock

    now = await days_on(platform, day, 31)
    await platform.tick(now)
    runner = service(platform).ports.runner
    deadline = asyncio.get_running_loop().time() + 60
    while runner.last != day_of(now):
        assert asyncio.get_running_loop().time() < deadline, "the day's run did not finish"
        await asyncio.sleep(0.05)
    assert await platform.db.beskeder.find_one({"_id": stranger["beskedId"]}) is None


async def test_after_4_years_the_optional_fields_go_and_after_5_the_joblog_both_told(platform):
    cpr = await platform.new_member()
    first = await create(platform, cpr)
    log_id = first["joblogId"]
    second = await edit(platform, cpr, log_id, 1, noter="ring igen mandag")
    day = changed_on(second)
    read = await call(platform, "jobnet", f"/v1/citizens/{cpr}/joblogs")  # an access-log entry
    assert read.status_code == 200
    await platform.tick(await clock_now(platform) + timedelta(days=1))
    later = await create(platform, cpr)  # changed the day after: due a day later
    assert changed_on(later) > day
    await platform.settle()
    activity_before = (await FactsReader(platform.db).document(cpr))["aktivitet"]

    report = await job(platform).run(noon(retention.due_on(day, 4)))

    assert log_id in report.joblog_ids["valgfrie_felter"]
    assert later["joblogId"] not in report.joblog_ids["valgfrie_felter"]
    out, ak = await wait_told(platform, log_id, "valgfrie_felter", "OPTIONAL_FIELDS")
    assert out["version"] == ak["version"] == 3 and out["handling"] == "ret"
    assert out["kilde"] == ak["origin"] == "dfdg"
    assert set(out["joblog"]) == KEPT and out["senestAendret"] == second["senestAendret"]
    assert set(ak["entry"]) == {"kind", "jobTitle", "employer"}
    assert set(ak["entry"]["employer"]) == {"name", "country"}
    stored = await platform.db.joblogs.find_one({"_id": log_id})
    assert stored["version"] == 3 and set(stored["joblog"]) == KEPT
    assert [set(v["joblog"]) for v in await history_of(platform, log_id)] == [KEPT] * 3
    untouched = await platform.db.joblogs.find_one({"_id": later["joblogId"]})
    assert untouched["version"] == 1 and untouched["joblog"]["noter"] == FULL["noter"]
    [record] = await records_naming(platform, log_id, "valgfrie_felter")
    assert record["regel"] == {"aar": 4} and record["antal"] == len(record["joblogIds"])
    assert await platform.db.udloeb.find_one({"_id": f"ryd|{day}|{log_id}"}) is None
    assert await platform.db.udloeb.find_one({"_id": f"slet|{day}|{log_id}"}) is not None
    citizen = await FactsReader(platform.db).document(cpr)
    assert citizen["aktivitet"] == activity_before  # the platform's version is no activity

    report = await job(platform).run(noon(retention.due_on(day, 5)))

    assert log_id in report.joblog_ids["joblog"]
    assert later["joblogId"] not in report.joblog_ids.get("joblog", [])
    gone, ak_gone = await wait_told(platform, log_id, "joblog", "WHOLE_LOG")
    assert gone["handling"] == "slet" and gone["slettet"] is True and gone["version"] == 4
    assert gone["cpr"] == cpr and set(gone["joblog"]) == {"type"}
    assert ak_gone["type"] == "JOBLOG_DELETED" and ak_gone["memberCpr"] == cpr
    tombstone = await platform.db.joblogs.find_one({"_id": log_id})
    assert tombstone["cpr"] == "" and tombstone["slettet"] and set(tombstone["joblog"]) == {"type"}
    assert [v["version"] for v in await history_of(platform, log_id)] == [4]  # the tombstone
    [record] = await records_naming(platform, log_id, "joblog")
    assert record["regel"] == {"aar": 5}
    citizen = await FactsReader(platform.db).document(cpr)
    assert log_id not in citizen["joblogs"]
    assert all(a["joblogId"] != log_id for a in citizen["aktivitet"])
    assert citizen["slettetTil"] == datetime.fromisoformat(second["senestAendret"])
    assert (await platform.db.slettet_aktivitet.find_one({"_id": cpr}))["til"] == citizen[
        "slettetTil"
    ]
    assert later["joblogId"] in citizen["joblogs"]
    joblogs = await call(platform, "jobnet", f"/v1/citizens/{cpr}/joblogs")
    assert [j["joblogId"] for j in joblogs.json()] == [later["joblogId"]]
    assert await platform.db.access_log.count_documents({"cpr": cpr, "hvad": "joblogs"}) == 1
    assert report.deleted["adgangslog"] >= 1  # the read 5 years ago (the new one stays)


async def test_a_dry_run_says_what_is_due_and_changes_nothing(platform):
    cpr = await platform.new_member()
    made = await create(platform, cpr)
    log_id, day = made["joblogId"], changed_on(made)
    await platform.settle()
    before = {
        name: await platform.db[name].count_documents({})
        for name in ("udloeb", "sletninger", "joblog_history", "beskeder", "access_log")
    }
    stored = await platform.db.joblogs.find_one({"_id": log_id})

    report = await job(platform, dry_run=True).run(noon(retention.due_on(day, 5)))

    assert log_id in report.joblog_ids["joblog"] and report.deleted["beskeder"] >= 1
    after = {name: await platform.db[name].count_documents({}) for name in before}
    assert after == before
    assert await platform.db.joblogs.find_one({"_id": log_id}) == stored
    await platform.front.caught_up()
    assert retention_changes(platform, log_id, "joblog") == ([], [])


async def erased(platform: Any) -> tuple[str, dict[str, Any]]:
    """A citizen's joblog, made and erased 5 years on."""
    cpr = await platform.new_member()
    made = await create(platform, cpr)
    await platform.settle()
    await job(platform).run(noon(retention.due_on(changed_on(made), 5)))
    await wait_told(platform, made["joblogId"], "joblog", "WHOLE_LOG")
    return cpr, made


async def assert_nothing_restored(platform: Any, cpr: str, log_id: str) -> None:
    await platform.settle()
    tombstone = await platform.db.joblogs.find_one({"_id": log_id})
    assert tombstone["kilde"] == retention.KILDE and tombstone["cpr"] == ""
    assert [v["cpr"] for v in await history_of(platform, log_id)] == [""]
    citizen = await FactsReader(platform.db).document(cpr)
    assert log_id not in citizen.get("joblogs", [])
    assert all(a["joblogId"] != log_id for a in citizen.get("aktivitet", []))
    joblogs = await call(platform, "jobnet", f"/v1/citizens/{cpr}/joblogs")
    assert joblogs.json() == []
    assert await platform.db.borgere.find_one({"_id": ""}) is None


async def test_a_rebuild_after_the_erasure_restores_nothing(platform):
    cpr, made = await erased(platform)
    cleared_cpr = await platform.new_member()
    kept = await create(platform, cleared_cpr)
    await platform.settle()
    await job(platform).run(noon(retention.due_on(changed_on(kept), 4)))
    await wait_told(platform, kept["joblogId"], "valgfrie_felter", "OPTIONAL_FIELDS")
    floor = (await FactsReader(platform.db).document(cpr))["slettetTil"]

    await rebuild(platform.db, fresh=True)

    await assert_nothing_restored(platform, cpr, made["joblogId"])
    assert (await FactsReader(platform.db).document(cpr))["slettetTil"] == floor
    queued = await platform.db.udloeb.find({}).to_list()
    assert all(not e["_id"].endswith(made["joblogId"]) for e in queued)  # no kind
    citizen = await FactsReader(platform.db).document(cleared_cpr)
    assert [a["version"] for a in citizen["aktivitet"]] == [1]  # not the platform's version 2
    key = f"slet|{changed_on(kept)}|{kept['joblogId']}"
    assert await platform.db.udloeb.find_one({"_id": key}) is not None


async def test_a_replay_of_a_refused_message_after_the_erasure_restores_nothing(platform):
    cpr = await platform.new_member()
    made = await create(platform, cpr)
    log_id = made["joblogId"]
    twin = jobnet("opret", cpr, log_id, await clock_now(platform), joblog=FULL)
    await platform.front.send(topics.JOBNET_INBOUND, twin)  # the id is taken: refused
    [refused] = await platform.front.wait_for(
        topics.JOBNET_REJECTED, lambda m: m.get("id") == twin["beskedId"]
    )
    assert refused["reason"] == "duplicate_joblog"
    await platform.settle()
    await job(platform).run(noon(retention.due_on(changed_on(made), 5)))
    await wait_told(platform, log_id, "joblog", "WHOLE_LOG")

    since = datetime.fromisoformat(refused["rejectedAt"]) - timedelta(milliseconds=1)
    done = await replay(platform.settings, topics.JOBNET_REJECTED, "duplicate_joblog", since)

    assert twin["beskedId"] in done.ids
    [again] = await platform.front.wait_for(
        topics.JOBNET_REJECTED,
        lambda m: m.get("id") == twin["beskedId"] and m["reason"] != "duplicate_joblog",
    )
    assert again["reason"] == "joblog_erased" and again["field"] == "joblogId"
    await assert_nothing_restored(platform, cpr, log_id)


async def test_a_redelivered_old_command_after_the_erasure_restores_nothing(platform):
    cpr, made = await erased(platform)
    log_id, original = made["joblogId"], made["sent"]
    assert await platform.db.beskeder.find_one({"_id": original["beskedId"]}) is None  # compacted
    edit_of_old = jobnet("ret", cpr, log_id, await clock_now(platform), grundversion=1, joblog=FULL)

    for message in (original, edit_of_old):  # the very create again, and an old copy's edit
        await platform.front.send(topics.JOBNET_INBOUND, message)
        [refused] = await platform.front.wait_for(
            topics.JOBNET_REJECTED, lambda m, sent=message: m.get("id") == sent["beskedId"]
        )
        assert refused["reason"] == "joblog_erased"
    await assert_nothing_restored(platform, cpr, log_id)


async def test_the_operators_command_runs_the_same_job_and_waits_for_no_other_run(platform):
    cpr = await platform.new_member()
    made = await create(platform, cpr)
    await platform.settle()
    at = noon(retention.due_on(changed_on(made), 5))
    holder = job(platform)
    await holder.store.take_lease(holder.owner, holder.wall_clock(), holder.wall_clock() + LEASE)
    with pytest.raises(Busy):  # the service's run, say, holds the job
        await operator_run(platform.settings, now=at)
    await holder.store.release(holder.owner, None)

    report = await operator_run(platform.settings, now=at)

    assert made["joblogId"] in report.joblog_ids["joblog"]
    await wait_told(platform, made["joblogId"], "joblog", "WHOLE_LOG")
    await assert_nothing_restored(platform, cpr, made["joblogId"])


class Crash(Exception):
    pass


CLEAR_STEPS = ("add_versions", "clear_history", "project", "publish", "add_entries", "record",
               "drop_entries")  # fmt: skip
ERASE_STEPS = ("add_versions", "publish", "forget", "bury", "delete_history", "record",
               "drop_entries")  # fmt: skip


def crashing(platform: Any, step: str) -> Job:
    """The job, stopping (an exception) right after its first `step`: a store write done, or
    the first change published."""
    normal = job(platform)
    store = RetentionStore(service(platform).runtime.database())
    if step == "publish":
        publish = normal.publish

        async def publish_then_crash(*args: Any) -> None:
            await publish(*args)
            raise Crash(step)

        return replace(normal, publish=publish_then_crash)
    done = getattr(store, step)

    async def then_crash(*args: Any) -> None:
        await done(*args)
        raise Crash(step)

    setattr(store, step, then_crash)
    return replace(normal, store=store)


@pytest.mark.parametrize("step", sorted(set(CLEAR_STEPS) | set(ERASE_STEPS)))
async def test_a_run_stopped_after_any_bulk_step_is_finished_by_the_next_without_duplicates(
    platform, step
):
    cpr = await platform.new_member()
    made = await create(platform, cpr)
    log_id, day = made["joblogId"], changed_on(made)
    await platform.settle()

    for steps, years, sletning, art, akasse in (
        (CLEAR_STEPS, 4, "valgfrie_felter", "valgfrie_felter", "OPTIONAL_FIELDS"),
        (ERASE_STEPS, 5, "joblog", "joblog", "WHOLE_LOG"),
    ):
        at = noon(retention.due_on(day, years))
        if step in steps:
            with pytest.raises(Crash):
                await crashing(platform, step).run(at)
        await job(platform).run(at)
        await wait_told(platform, log_id, sletning, akasse)
        assert len(await records_naming(platform, log_id, art)) == 1
        await platform.front.caught_up()
        jobnet_seen, akasse_seen = retention_changes(platform, log_id, sletning)
        assert len({(m["version"], m["kildeBeskedId"]) for m in jobnet_seen}) == 1
        assert len({(m["version"], m["originEventId"]) for m in akasse_seen}) == 1
        if sletning == "valgfrie_felter":
            versions = await history_of(platform, log_id)
            assert [v["version"] for v in versions] == [1, 2]  # one cleared version
            assert [set(v["joblog"]) for v in versions] == [KEPT, KEPT]
            assert await platform.db.udloeb.find_one({"_id": f"slet|{day}|{log_id}"})
    await assert_nothing_restored(platform, cpr, log_id)
    assert await platform.db.udloeb.count_documents({"_id": f"slet|{day}|{log_id}"}) == 0
    assert await platform.db.sletning_tilstand.find_one({"_id": "job", "leaseUntil": None})


class Reads(monitoring.CommandListener):
    """Every command the job sends, and the documents each find returned."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, str, Any]] = []
        self.returned = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in ("find", "delete", "update", "findAndModify", "insert"):
            command = event.command
            where = command.get("filter") or command.get("query")
            if name == "delete":
                where = [d["q"] for d in command["deletes"]]
            elif name == "update":
                where = [u["q"] for u in command["updates"]]
            self.commands.append((name, command[name], where))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cursor = event.reply.get("cursor") or {}
        self.returned += len(cursor.get("firstBatch", cursor.get("nextBatch", [])))

    def failed(self, event: Any) -> None:
        pass


def by_id(where: Any) -> bool:
    """A filter that names documents by `_id` alone (equality, `$in`, a range), besides which
    the database may apply conditions to the documents the index found."""
    filters = where if isinstance(where, list) else [where]
    return all(isinstance(f, dict) and "_id" in f for f in filters)


async def test_the_job_reads_only_what_is_due_and_only_by_id(platform):
    """Thousands of records not due beside a few due: every command the job sends names its
    documents by `_id`, and what its reads return grows with what is due, not with the store."""
    cpr = await platform.new_member()
    made = await create(platform, cpr)
    log_id, day = made["joblogId"], changed_on(made)
    await platform.settle()
    at = noon(retention.due_on(day, 5))
    await job(platform).run(at - timedelta(days=1))  # everything older than this one goes now
    db = platform.db
    today = day_of(at)
    not_due = 8000
    not_yet = {  # changed 3 years ago; cleared 4.5 years after; accepted 5 days ago
        retention.RYD: today - timedelta(days=365 * 3),
        retention.SLET: today - timedelta(days=365 * 4 + 180),
        retention.BESKED: today - timedelta(days=5),
    }
    due_now = {  # due this very day: the runs before left them (no such joblog or message)
        retention.RYD: retention.latest_due_day(today, 4),
        retention.BESKED: retention.latest_message_day(today, 30),
    }
    queued = [
        {"_id": retention.queue_key(kind, day, str(uuid.uuid4()))}
        for days, count in ((not_yet, not_due // 6), (due_now, 3))
        for kind, day in days.items()
        for _ in range(count)
    ]
    read_at = [at - timedelta(days=30, seconds=i) for i in range(not_due // 2)]
    read_at += [
        start_of_day(retention.latest_due_day(today, 5)) + timedelta(hours=i) for i in (1, 2, 3)
    ]
    reads = [{"_id": str(retention.uuid7(moment)), "cpr": None} for moment in read_at]
    await db.udloeb.insert_many(queued)
    await db.access_log.insert_many(reads)
    listener = Reads()
    client: AsyncMongoClient[dict] = AsyncMongoClient(
        platform.settings.mongodb_url, tz_aware=True, event_listeners=[listener]
    )
    try:
        watched = client[platform.settings.mongodb_database]
        measured = replace(job(platform), store=RetentionStore(watched), facts=FactsReader(watched))
        report: Report = await measured.run(at)
    finally:
        await client.close()
        await db.udloeb.delete_many({"_id": {"$in": [q["_id"] for q in queued]}})
        await db.access_log.delete_many({"_id": {"$in": [r["_id"] for r in reads]}})

    assert log_id in report.joblog_ids["joblog"]
    assert report.stale >= 3 and report.deleted["beskeder"] >= 3
    assert report.deleted["adgangslog"] >= 3
    handled = sum(report.deleted.values()) + report.stale
    print(
        f"retention run beside {not_due} records not due: {handled} due handled, "
        f"{len(listener.commands)} commands, {listener.returned} documents read"
    )
    assert listener.commands and all(by_id(where) for _, _, where in listener.commands if where)
    assert listener.returned <= 5 * handled + 10, (listener.returned, handled)
    assert listener.returned < not_due / 10
