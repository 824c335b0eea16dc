"""`joblog rebuild`: the read models made anew from the stored records.

For when a read model changes shape or is lost. Each record collection is read once, in the
order stored, and turned into the same idempotent updates the services make as they go
(shared/readmodel/updates.py), written in bulk; the notifier's due queue is made from its timers,
and the monthly notices' queue is made sure of: the current month's entries of every citizen
covered now or later (so a store from before the monthly notices, or one whose queue was lost,
is followed from this month on; entries there stay, and a notice sent already is not sent again:
its id is fixed); and the retention queue (`udloeb`) from the history. What the retention job
deleted stays deleted: its history is gone, the tombstone it leaves gives nothing, its own
versions are no activity, and each citizen's floor (`slettet_aktivitet`) comes back with him.

Without `--fresh` the updates are added to what is there: safe while the platform runs, and
what was already there stays. `--fresh` drops the read models first (`borgere`, `aktivitet`,
`jobcenter_borgere`, `forfald`): stop storage and the notifier while it runs, since what they
write in between could be dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import typer
from pymongo.asynchronous.database import AsyncDatabase
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from infra import local
from services.notifier.maaned import PAAMINDELSE_DAYS, ved_aendring
from services.notifier.maaned_store import MaanedQueue
from services.notifier.store import due_key
from services.retention.store import RYDDET
from shared.contract import retention
from shared.contract.citizen import ExemptionMessage, StatusMessage
from shared.contract.tid import as_utc, day_of
from shared.platform.clock import CLOCK_ID
from shared.platform.db import batched, connect, insert_new
from shared.platform.log import logs_to_file
from shared.platform.settings import Settings
from shared.readmodel import collections
from shared.readmodel import updates as read_model
from shared.readmodel.document import Document
from shared.readmodel.facts import facts_of
from shared.readmodel.writer import ReadModelWriter

BATCH = 1000


@dataclass(frozen=True)
class Source:
    """A record collection and how each of its documents becomes read-model updates."""

    collection: str
    query: Document
    updates: Callable[[Document], Iterable[read_model.Update]]


def _status(doc: Document) -> list[read_model.Update]:
    return read_model.status_updates(StatusMessage.model_validate(doc), doc["modtaget"])


def _exemption(doc: Document) -> list[read_model.Update]:
    return [read_model.exemption_update(ExemptionMessage.model_validate(doc), doc["modtaget"])]


def _notice(doc: Document) -> list[read_model.Update]:
    return [read_model.notice_update(doc["cpr"], doc["_id"], doc["forfaldt"], doc["udstedt"])]


def _history(doc: Document) -> list[read_model.Update]:
    """A version's activity and the day it changed its joblog in the retention queue. The
    platform's own retention versions are no activity of the citizen; a tombstone (what an
    erasure leaves, no cpr) gives nothing: an erased joblog stays erased; a version the job
    cleared is queued no more (its joblog's cleared version is, to be erased)."""
    platforms = doc.get("kilde") == retention.KILDE
    if platforms and not doc.get("cpr"):
        return []
    day = day_of(doc.get("senestAendret") or doc["accepteret"])
    if platforms:
        return [_queued(retention.queue_key(retention.SLET, day, doc["joblogId"]))]
    activity = read_model.history_update(doc)
    if doc.get(RYDDET):
        return [activity]
    return [activity, _queued(retention.queue_key(retention.RYD, day, doc["joblogId"]))]


def _queued(key: str) -> read_model.Update:
    return read_model.Update(collections.RETENTION_QUEUE, key, {"$set": {"genopbygget": True}})


def _floor(doc: Document) -> list[read_model.Update]:
    """How far a citizen's erased joblogs' activity went (see `facts_of`)."""
    return [
        read_model.Update(read_model.CITIZENS, doc["_id"], {"$max": {"slettetTil": doc["til"]}})
    ]


SOURCES = (
    Source(collections.STATUS_MESSAGES, {}, _status),
    Source(collections.EXEMPTION_MESSAGES, {}, _exemption),
    Source(collections.JOBLOG_HISTORY, {}, _history),
    # the adviseringer to the citizens (a monthly notice has a `noticeType`, an advisering none)
    Source(collections.NOTICES, {"modtager": "borger", "noticeType": {"$exists": False}}, _notice),
    Source(collections.ERASED_ACTIVITY, {}, _floor),
)


@dataclass
class Report:
    records: dict[str, int] = field(default_factory=dict)
    due_entries: int = 0
    maaned_citizens: int = 0
    """Citizens whose current month's monthly entries were made sure of."""


Progressed = Callable[[str, int, int], None]
"""(what, done, total) after each batch."""


async def rebuild(
    db: AsyncDatabase[Document],
    fresh: bool = False,
    progressed: Progressed | None = None,
    paamindelse_days: int = PAAMINDELSE_DAYS,
) -> Report:
    if fresh:
        for name in (
            read_model.CITIZENS,
            read_model.ACTIVITY,
            read_model.MEMBERS,
            collections.DUE_QUEUE,
        ):
            await db.drop_collection(name)
    writer = ReadModelWriter(db)
    report = Report()
    for source in SOURCES:
        total = await db[source.collection].estimated_document_count()
        done = 0
        async for batch in batched(db[source.collection].find(source.query), BATCH):
            await writer.apply_bulk(u for doc in batch for u in source.updates(doc))
            done += len(batch)
            if progressed:
                progressed(source.collection, done, total)
        report.records[source.collection] = done
    report.due_entries = await _due_queue(db, progressed)
    report.maaned_citizens = await maaned_entries(db, paamindelse_days, progressed)
    report.records[collections.FINISHED] = await _message_ids(db, progressed)
    return report


async def maaned_entries(
    db: AsyncDatabase[Document], days: int, progressed: Progressed | None = None
) -> int:
    """The current month's monthly entries (the platform's clock: the simulated one's latest
    tick, else the wall clock) of every citizen covered now or later, one insert a batch."""
    clock = await db[collections.CLOCK].find_one({"_id": CLOCK_ID}) or {}
    now = as_utc(clock["now"]) if clock.get("now") else datetime.now(UTC)
    queue = MaanedQueue(db)
    total = await db[read_model.CITIZENS].estimated_document_count()
    done = followed = 0
    async for batch in batched(db[read_model.CITIZENS].find({}, {"status": 1}), BATCH):
        frister = [
            f for doc in batch for f in ved_aendring(doc["_id"], facts_of(doc).periods, now, days)
        ]
        await queue.add(frister)
        followed += len({f.cpr for f in frister})
        done += len(batch)
        if progressed:
            progressed(collections.MAANED_QUEUE, done, total)
    return followed


async def _due_queue(db: AsyncDatabase[Document], progressed: Progressed | None) -> int:
    """A due-queue entry for every timer with a due time (FerretDB has no `$ne null` index
    either: the timers are read once, whole)."""
    total = await db[collections.TIMERS].estimated_document_count()
    done = added = 0
    async for batch in batched(db[collections.TIMERS].find({}, {"due": 1}), BATCH):
        entries = [
            {"_id": due_key(doc["due"], doc["_id"]), "cpr": doc["_id"]}
            for doc in batch
            if doc.get("due") is not None
        ]
        if entries:
            await insert_new(db[collections.DUE_QUEUE], entries)  # (those already there stay)
            added += len(entries)
        done += len(batch)
        if progressed:
            progressed(collections.TIMERS, done, total)
    return added


async def _message_ids(db: AsyncDatabase[Document], progressed: Progressed | None) -> int:
    """The retention queue's entry of every message id still kept (`beskeder`), by the day its
    version was accepted (one `_id $in` of the history per batch)."""
    total = await db[collections.FINISHED].estimated_document_count()
    done = 0
    async for batch in batched(db[collections.FINISHED].find({}), BATCH):
        made = [doc["historik"] for doc in batch if doc.get("historik")]
        found = db[collections.JOBLOG_HISTORY].find({"_id": {"$in": made}}, {"accepteret": 1})
        accepted = {doc["_id"]: doc["accepteret"] async for doc in found}
        keys = [
            retention.queue_key(retention.BESKED, day_of(accepted[doc["historik"]]), doc["_id"])
            for doc in batch
            if doc.get("historik") in accepted
        ]
        if keys:
            await insert_new(db[collections.RETENTION_QUEUE], [{"_id": key} for key in keys])
        done += len(batch)
        if progressed:
            progressed(collections.FINISHED, done, total)
    return done


async def run_rebuild(settings: Settings, fresh: bool, console: Console) -> Report:
    client, db = connect(settings)
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            tasks: dict[str, object] = {}

            def progressed(what: str, done: int, total: int) -> None:
                if what not in tasks:
                    tasks[what] = progress.add_task(what, total=total)
                progress.update(tasks[what], completed=done, total=max(total, done))  # type: ignore[arg-type]

            return await rebuild(db, fresh, progressed, settings.paamindelse_days)
    finally:
        await client.close()


def rebuild_command(
    fresh: Annotated[
        bool, typer.Option("--fresh", help="drop the read models first (platform stopped)")
    ] = False,
) -> None:
    """Rebuild the read models (borgere, jobcenter_borgere, the due queue) from the records."""
    console = Console(stderr=True)
    logs_to_file(local.ROOT / ".local" / "rebuild.log")
    report = asyncio.run(run_rebuild(Settings(), fresh, console))
    for name, count in report.records.items():
        print(f"{name}: {count} records")
    print(f"due queue: {report.due_entries} entries")
    print(f"monthly queue: this month's entries of {report.maaned_citizens} citizens")
