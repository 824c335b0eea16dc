"""DFDG at Denmark's size: the udsøgning, the notifier's sweep and the storage service's writes
on a national store, at two sizes in the same run (default 50,000 and 200,000 citizens).

Each size gets its own database, seeded through the project's own write code: the records in
storage's shapes (`history_doc`, the stored status and exemption messages, the notifier's
notices, timers and due queue) inserted in bulk, and the read models made by the same updates
the services make (`shared.readmodel.updates`), folded per citizen and inserted. Citizens are spread
over the 98 jobcentres with 12.5 % at 101; each has a quarter's activity: 12 joblog changes
(4 joblogs created, each edited twice), a status change for one in five, a fritagelse for one
in fifty, a notice pair for one in ten; 2 % have their advisering timer due at the sweep.

Measured at each size: the udsøgning of 101 for the quarter (seconds, rows; peak memory in a
second run under tracemalloc), the same `as_of` a day in the quarter, one tick's sweep
(seconds, notices sent), a herd tick (a quarter of the citizens, 50,000 of 200,000, due at once
with one pair each: seconds, notices, each checked sent exactly once on the notice topics and
stored published, and the rise of the process's resident memory during the herd, sampled), and
the platform's throughput of new Jobnet creates on the seeded store against an empty one (the
same run, the same Kafka).

    .venv/bin/python -m bench.scale [N1 N2]     (writes bench/results/scale.json)

It starts its own `bench` profile, unless `BENCH_SCALE_EXTERNAL=1` and the environment names a
Kafka and a database (the `export` lines of `ops.cli infra up --profile …`): then it uses those.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import resource
import sys
import time
import tracemalloc
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from rich.progress import Progress

from bench.common import write_result
from bench.throughput import BENCH_PROFILE, platform_run
from harness import FrontEnd, jobnet, new_cpr, start_groups_at_end, test_settings
from infra import local
from services.in_process import start_services
from services.jobcenter_api.access_log import AccessLog
from services.jobcenter_api.extraction import order, start
from services.notifier.advisering import add_local_days
from services.notifier.store import due_key
from services.storage.repository import _plain as stored_message
from services.storage.repository import history_doc
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal
from shared.contract import topics
from shared.contract.citizen import ExemptionAction, ExemptionMessage, Maalgruppe, StatusMessage
from shared.contract.events import Handling, Joblog, StoredJoblog
from shared.contract.kommuner import KOMMUNER
from shared.contract.tid import as_utc
from shared.platform.kafka import end_offsets, records_since
from shared.platform.log import mask_cprs
from shared.platform.settings import Settings
from shared.readmodel import collections
from shared.readmodel import updates as read_model
from shared.readmodel.aktivitet import filters as activity_filters
from shared.readmodel.writer import ReadModelWriter

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
"""The extraction's and the sweep's time: the wall clock's hour, so that the write runs after
the sweep (which tick at the wall clock) find no more timers due."""
QUARTER = (NOW.date() - timedelta(days=91), NOW.date() - timedelta(days=1))
AS_OF = (NOW.date() - timedelta(days=15)).isoformat()
AT_101 = 0.125
DUE_SHARE = 0.02
HERD_SHARE = 0.25
BATCH = 2_000
WRITES = 400
OTHERS = sorted(set(KOMMUNER) - {"101"})
JOBLOG = Joblog.model_validate(
    {"type": "ansoegning", "stilling": "Lagermedarbejder", "virksomhed": "Acme A/S", "land": "DK"}
)


@dataclass
class Seed:
    """One batch of citizens' records and read-model updates."""

    status: list[dict[str, Any]]
    exemptions: list[dict[str, Any]]
    history: list[dict[str, Any]]
    notices: list[dict[str, Any]]
    timers: list[dict[str, Any]]
    queue: list[dict[str, Any]]
    updates: list[read_model.Update]


def moment(rng: random.Random, first: date, last: date) -> datetime:
    day = first + timedelta(days=rng.randrange((last - first).days + 1))
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        seconds=rng.randrange(86_400)
    )


def citizen(rng: random.Random, cpr: str, seed: Seed) -> None:
    jobcenter = "101" if rng.random() < AT_101 else rng.choice(OTHERS)
    start_day = QUARTER[0] - timedelta(days=rng.randrange(200))
    statuses = [(jobcenter, "dagpenge", start_day)]
    if rng.random() < 0.2:  # a status change within the quarter
        changed = rng.choice(["jobparat_kontanthjaelp", "dagpenge"])
        statuses.append((rng.choice([jobcenter, *rng.sample(OTHERS, 1)]), changed, QUARTER[0]))
    for kode, group, fra in statuses:
        at = moment(rng, fra - timedelta(days=3), fra)
        message = StatusMessage(
            messageId=uuid.uuid4(), cpr=cpr, jobcenter=kode, maalgruppe=Maalgruppe(group),
            gyldigFra=fra, tidspunkt=at,
        )  # fmt: skip
        seed.status.append(
            {"_id": str(message.messageId), **stored_message(message), "modtaget": at}
        )
        seed.updates += read_model.status_updates(message, at)
    if rng.random() < 0.02:
        at = moment(rng, *QUARTER)
        grant = ExemptionMessage(
            messageId=uuid.uuid4(), cpr=cpr, exemptionId=uuid.uuid4(), jobcenter=jobcenter,
            handling=ExemptionAction("tildel"), gyldigFra=at.date(), begrundelse="LAS § 75",
        )  # fmt: skip
        seed.exemptions.append(
            {"_id": str(grant.messageId), **stored_message(grant), "modtaget": at}
        )
        seed.updates.append(read_model.exemption_update(grant, at))
    for _ in range(4):  # 4 joblogs, each created and edited twice: 12 changes
        joblog_id = uuid.uuid4()
        times = sorted(moment(rng, *QUARTER) for _ in range(3))
        for version, (handling, at) in enumerate(
            zip((Handling.OPRET, Handling.RET, Handling.RET), times, strict=True), start=1
        ):
            entry = StoredJoblog(
                joblogId=joblog_id, cpr=cpr, version=version, joblog=JOBLOG, oprettet=times[0],
                senestAendret=at, kilde="jobnet", kildeBeskedId=uuid.uuid4(),
            )  # fmt: skip
            doc = history_doc(entry, handling, uuid.uuid4(), at, at, None)
            seed.history.append(doc)
            seed.updates.append(read_model.history_update(doc))
    if rng.random() < 0.1:  # a notice pair
        due = moment(rng, *QUARTER)
        for modtager in ("borger", "jobcenter"):
            notice_id = str(uuid.uuid4())
            seed.notices.append({
                "_id": notice_id, "noticeId": notice_id, "modtager": modtager, "cpr": cpr,
                "jobcenter": jobcenter, "maalgruppe": "dagpenge", "forfaldt": due,
                "udstedt": due, "published": True, "checkpoint": [],
            })  # fmt: skip
            if modtager == "borger":
                seed.updates.append(read_model.notice_update(cpr, notice_id, due, due))
    due_at = (
        NOW - timedelta(hours=rng.randrange(1, 48))
        if rng.random() < DUE_SHARE
        else NOW + timedelta(days=rng.randrange(1, 30))
    )
    seed.timers.append({"_id": cpr, "due": due_at, "revision": 1})
    seed.queue.append({"_id": due_key(due_at, cpr), "cpr": cpr})


def make_batch(rng: random.Random, count: int, seen: set[str]) -> Seed:
    seed = Seed([], [], [], [], [], [], [])
    while len(seed.timers) < count:
        cpr = new_cpr(rng)
        if cpr not in seen:
            seen.add(cpr)
            citizen(rng, cpr, seed)
    return seed


async def seed_store(db: Any, citizens: int, rng: random.Random) -> None:
    """The store in batches; the next batch is made in a thread while this one is written."""
    writer = ReadModelWriter(db)
    seen: set[str] = set()
    loop = asyncio.get_running_loop()
    with Progress(transient=False) as progress:
        task = progress.add_task(f"seeding {citizens:,} citizens", total=citizens)
        done = 0
        seed = make_batch(rng, min(BATCH, citizens), seen)
        while seed.timers:
            following = done + len(seed.timers)
            upcoming = loop.run_in_executor(
                None, make_batch, rng, min(BATCH, citizens - following), seen
            )
            for name, docs in (
                (collections.STATUS_MESSAGES, seed.status),
                (collections.EXEMPTION_MESSAGES, seed.exemptions),
                (collections.JOBLOG_HISTORY, seed.history), (collections.NOTICES, seed.notices),
                (collections.TIMERS, seed.timers), (collections.DUE_QUEUE, seed.queue),
            ):  # fmt: skip
                if docs:
                    await db[name].insert_many(docs, ordered=False)
            await writer.insert_folded(seed.updates)
            done = following
            progress.update(task, completed=done)
            seed = await upcoming


async def udsoegning(db: Any, as_of: str | None, traced: bool) -> tuple[float, int, float]:
    """(seconds, rows, peak MiB under tracemalloc or 0) of 101's quarter, streamed."""
    fra, til = (day.isoformat() for day in QUARTER)
    wanted = order("101", fra, til, None, False, as_of, NOW, 400)
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    extraction = await start(db, AccessLog(db), wanted, "bench", NOW)
    async for _piece in extraction.csv():
        pass
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else 0.0
    if traced:
        tracemalloc.stop()
    return seconds, extraction.rows, peak


async def sweep(settings: Settings, db: Any) -> tuple[float, int]:
    """One tick at NOW through the real notifier: (seconds until it has fired, notices)."""
    front = FrontEnd(settings)
    await front.start()
    await start_groups_at_end(settings)
    before = await db[collections.NOTICES].estimated_document_count()
    async with AsyncExitStack() as stack:
        await start_services(stack, settings)
        await tick(front, db, NOW - timedelta(days=3))  # the services started: nothing due
        started = time.perf_counter()
        await tick(front, db, NOW)
        seconds = time.perf_counter() - started
    await front.stop()
    return seconds, await db[collections.NOTICES].estimated_document_count() - before


def herd_at(wall_clock: datetime) -> datetime:
    """The herd's tick, an hour after the wall clock when the herd is set up (the seeding of
    200,000 takes minutes past NOW, and the notifier's own scheduler ticks at the wall clock:
    a herd due before the wall clock would fire before its tick is measured). It falls before
    any other timer is due (the seeded ones are due a day or more after NOW). A reform day: the
    herd's activity history is cleared and each was last notified 30 days before two hours
    before the tick, so exactly one pair falls due for each, half an hour before the tick."""
    return wall_clock.replace(second=0, microsecond=0) + timedelta(hours=1)


async def herd(settings: Settings, db: Any, citizens: int) -> dict[str, Any]:
    """A quarter of the citizens (none of the sweep's) due at once, one pair each: one tick
    through the real notifier; (seconds, notices sent, whether each was sent exactly once and
    stored published, the rise of the resident memory during the tick in MiB). The platform
    clock is put back afterwards."""
    timers, queue, clock = db[collections.TIMERS], db[collections.DUE_QUEUE], db[collections.CLOCK]
    wanted = int(citizens * HERD_SHARE)
    at = herd_at(datetime.now(UTC))
    notified = add_local_days(at - timedelta(hours=2), -30)
    due = at - timedelta(minutes=30)
    chosen: list[str] = []
    later = {"due": {"$gt": NOW + timedelta(hours=12)}}
    async for doc in timers.find(later, {"_id": 1}).sort("_id", 1):
        chosen.append(doc["_id"])
        if len(chosen) == wanted:
            break
    for start_at in range(0, len(chosen), BATCH):
        part = chosen[start_at : start_at + BATCH]
        await timers.update_many(
            {"_id": {"$in": part}}, {"$set": {"due": due, "lastNotifiedDue": notified}}
        )
        await queue.insert_many([{"_id": due_key(due, cpr), "cpr": cpr} for cpr in part])
        for where in activity_filters(part):
            await db[collections.ACTIVITY].delete_many(where)
    del chosen
    saved = await clock.find_one({"_id": "platform"})
    admin = as_principal(settings, ADMIN)
    front = FrontEnd(settings)
    await front.start(watch=False)  # the notices are counted on their topics afterwards
    await start_groups_at_end(settings)
    async with AsyncExitStack() as stack:
        await start_services(stack, settings)
        # the services started; a timer the sweep moved on to a time before this fires here, so
        # the herd's figures count from after it (what the herd's own tick stored and sent)
        await tick(front, db, due - timedelta(minutes=29))
        before = await db[collections.NOTICES].estimated_document_count()
        since = await end_offsets(admin, topics.notice_topics())
        started = time.perf_counter()
        async with ResidentMemory() as memory:
            await tick(front, db, at)
        seconds = time.perf_counter() - started
    await front.stop()
    sent = await db[collections.NOTICES].estimated_document_count() - before
    herd_ids = {  # every notice of the tick (issued at its time)
        doc["_id"] async for doc in db[collections.NOTICES].find({"udstedt": at}, {"_id": 1})
    }
    unpublished = await db[collections.NOTICES].count_documents(
        {"_id": {"$in": sorted(herd_ids)}, "published": {"$ne": True}}
    ) if herd_ids else 0  # fmt: skip
    counts: dict[str, int] = {}
    strays: list[str] = []  # the first few sent but not issued at the tick
    ours = (topics.PLATFORM_HEADER, settings.group_prefix.encode())
    async for record in records_since(admin, since):
        if ours in list(record.headers or ()):
            notice_id = str(json.loads(record.value or b"{}").get("noticeId"))
            counts[notice_id] = counts.get(notice_id, 0) + 1
            if notice_id not in herd_ids and len(strays) < 3:
                strays.append(mask_cprs((record.value or b"").decode(errors="replace")))
    once = set(counts.values()) <= {1} and set(counts) == herd_ids and not unpublished
    if not once:  # what it saw, to tell a lost or doubled notice from a stray one
        print(
            f"herd not exactly once: {sum(1 for n in counts.values() if n > 1)} sent twice or "
            f"more, {len(set(counts) - herd_ids)} sent but not of the tick, "
            f"{len(herd_ids - set(counts))} of the tick not sent, {unpublished} not marked; "
            f"the first strays: {strays}"
        )
    if saved is not None:
        await clock.replace_one({"_id": "platform"}, saved)
    return {
        "herd_due": wanted, "herd_seconds": round(seconds, 2), "herd_notices": sent,
        "herd_exactly_once": once, "herd_rss_growth_mib": round(memory.growth_mib, 1),
    }  # fmt: skip


class ResidentMemory:
    """The process's resident memory, sampled while the block runs: how far it rose above what
    it was at the start (the services run in this process; the bench keeps nothing per notice
    meanwhile)."""

    def __init__(self) -> None:
        self.start = self.peak = 0
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> ResidentMemory:
        self.start = self.peak = _resident_bytes()
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        self.peak = max(self.peak, _resident_bytes())

    async def _sample(self) -> None:
        while True:
            self.peak = max(self.peak, _resident_bytes())
            await asyncio.sleep(0.1)

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.start) / 2**20


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:  # the kernel's, not a disk's
        return int(statm.read().split()[1]) * resource.getpagesize()


async def tick(front: FrontEnd, db: Any, now: datetime) -> None:
    """Send a tick and wait until the notifier has fired every timer due by then."""
    await front.tick(now)
    while not (
        (doc := await db[collections.CLOCK].find_one({"_id": "platform"}))
        and doc.get("fired")
        and as_utc(doc["fired"]) >= now
    ):
        await asyncio.sleep(0.05)


async def writes(settings: Settings) -> float:
    """Jobnet creates per second through the platform on this database (then dropped)."""
    cprs = [new_cpr() for _ in range(50)]
    now = datetime.now(UTC)
    messages = [jobnet("opret", cprs[i % 50], str(uuid.uuid4()), now) for i in range(WRITES)]
    return await platform_run(settings, messages, cprs)


async def measure(env: dict[str, str], citizens: int) -> dict[str, Any]:
    settings = test_settings(env, MONGODB_DATABASE=f"scale_{citizens}")
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = mongo[settings.mongodb_database]
    await mongo.drop_database(db.name)
    started = time.perf_counter()
    await seed_store(db, citizens, random.Random(citizens))
    seeded = time.perf_counter() - started
    seconds, rows, _ = await udsoegning(db, None, traced=False)
    as_of_seconds, _, _ = await udsoegning(db, AS_OF, traced=False)
    _, _, peak = await udsoegning(db, None, traced=True)
    sweep_seconds, sent = await sweep(settings, db)
    print(citizens, "sweep", sweep_seconds, sent, flush=True)
    herd_figures = await herd(settings, db, citizens)
    print(citizens, herd_figures, flush=True)
    empty = await writes(test_settings(env))
    full = await writes(test_settings(env, MONGODB_DATABASE=db.name))  # drops the store
    await mongo.close()
    result = {
        "seed_seconds": round(seeded, 1), "udsoegning_seconds": round(seconds, 2),
        "udsoegning_rows": rows, "udsoegning_peak_mib": round(peak, 2),
        "as_of_seconds": round(as_of_seconds, 2), "sweep_seconds": round(sweep_seconds, 2),
        "notices_sent": sent, "write_per_s_empty": round(empty, 1),
        "write_per_s_full": round(full, 1), **herd_figures,
    }  # fmt: skip
    print(citizens, result, flush=True)
    return result


async def main(sizes: list[int]) -> None:
    external = os.environ.get("BENCH_SCALE_EXTERNAL") == "1"
    env = (
        {k: v for k, v in os.environ.items() if k.startswith(("KAFKA_", "JOBLOG_", "MONGODB_"))}
        if external
        else local.up(BENCH_PROFILE, fresh=True)
    )
    try:
        results = {n: await measure(env, n) for n in sizes}
    finally:
        if not external:
            local.down(BENCH_PROFILE)
    small, large = (results[n] for n in sizes)
    figures: dict[str, Any] = {"sizes": sizes}
    for key in small:
        figures[key] = [results[n][key] for n in sizes]
    figures["growth_udsoegning_4x"] = round(
        large["udsoegning_seconds"] / small["udsoegning_seconds"], 2
    )
    figures["write_full_vs_empty"] = [
        round(results[n]["write_per_s_full"] / results[n]["write_per_s_empty"], 3) for n in sizes
    ]
    write_result("scale", figures)
    print(readme_table(figures))


ROWS = (
    ("citizens in the store", "sizes", "{:,}"),
    ("udsøgning of 101 for the quarter, s", "udsoegning_seconds", "{}"),
    ("its rows", "udsoegning_rows", "{:,}"),
    ("its peak memory (tracemalloc), MiB", "udsoegning_peak_mib", "{}"),
    ("the same `as_of` a day in the quarter, s", "as_of_seconds", "{}"),
    ("one tick's sweep, 2 % of timers due, s", "sweep_seconds", "{}"),
    ("notices it sent", "notices_sent", "{:,}"),
    ("a herd tick: a quarter of the citizens due at once, s", "herd_seconds", "{}"),
    ("its notices (one pair each, each sent exactly once)", "herd_notices", "{:,}"),
    ("Jobnet creates/s through the platform, empty store", "write_per_s_empty", "{}"),
    ("the same on the seeded store", "write_per_s_full", "{}"),
)


def readme_table(record: dict[str, Any]) -> str:
    """The table of `scale.json` in docs/design.md (tests/unit/test_bench_results.py holds them
    equal)."""
    lines = ["| | " + " | ".join(f"{n:,}" for n in record["sizes"]) + " |"]
    lines.append("|---|" + "---:|" * len(record["sizes"]))
    for label, key, form in ROWS[1:]:
        if key not in record:  # a result from before the herd was measured
            continue
        lines.append(f"| {label} | " + " | ".join(form.format(v) for v in record[key]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    asyncio.run(main([int(a) for a in sys.argv[1:3]] if len(sys.argv) > 2 else [50_000, 200_000]))
