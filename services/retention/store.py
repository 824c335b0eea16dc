"""The retention job's reads and writes: every one by `_id` (equality, `$in` or a range), so
MongoDB and the local FerretDB answer each from the `_id` index, and each bulk.

- `udloeb`, the queue (a read model of the accepted changes, `shared.contract.retention`):
  `_id` "<kind>|<day>|<id>", read one day of one kind at a time.
- `joblogs` / `joblog_history`: the projections read, a retention version inserted (the commit
  point, as storage's: `_id` "<joblogId>:<version>"), older versions cleared or deleted, the
  projection replaced (by the cleared version, or by the tombstone).
- `aktivitet`: an erased joblog's activity deleted (the entries read, by `_id` `$in`);
  `borgere`: the citizen's floor `slettetTil` raised, and `slettet_aktivitet` keeps it for
  `joblog rebuild`.
- `beskeder`, `access_log`: ids deleted by `$in`.
- `sletninger`: a record per chunk and kind, replaced by a run that does the chunk again.
- `sletning_tilstand`: the lease (one job at a time: the service or `joblog retention`) and the
  day of the last run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

from pymongo import ASCENDING, ReplaceOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.contract.events import JoblogType
from shared.contract.retention import day_range, due_range, optional_fields, parse_key
from shared.platform.db import insert_new
from shared.readmodel import collections
from shared.readmodel.aktivitet import activities_of, with_activity
from shared.readmodel.document import Document

IN_MAX = 10_000
"""Ids per `$in` (what the local FerretDB pushes down to its index)."""
STATE = "job"
RYDDET = "ryddet"
"""On a history entry whose optional fields the job cleared."""


def history_id(joblog_id: str, version: int) -> str:
    return f"{joblog_id}:{version}"


class RetentionStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.queue = db[collections.RETENTION_QUEUE]
        self.joblogs = db[collections.JOBLOGS]
        self.history = db[collections.JOBLOG_HISTORY]
        self.citizens = db[collections.CITIZENS]
        self.activity = db[collections.ACTIVITY]
        self.floors = db[collections.ERASED_ACTIVITY]
        self.messages = db[collections.FINISHED]
        self.access_log = db[collections.ACCESS_LOG]
        self.records = db[collections.DELETIONS]
        self.state = db[collections.RETENTION_STATE]

    # -- the queue ---------------------------------------------------------------------------

    async def add_entries(self, keys: Iterable[str]) -> None:
        """The entries the queue lacks of these: one `_id $in`, then one insert of the rest (a
        joblog changed twice in a day: the second has its `ryd` entry already). FerretDB inserts
        a batch that holds a duplicate again one document at a time, a commit each (3 times the
        CPU in a script of 100-entry batches with 10 known); on MongoDB it is one indexed read."""
        wanted = sorted(set(keys))
        if not wanted:
            return
        there = {d["_id"] async for d in self.queue.find({"_id": {"$in": wanted}}, {"_id": 1})}
        if docs := [{"_id": key} for key in wanted if key not in there]:
            await insert_new(self.queue, docs)

    async def first_due(self, kind: str, last_day: date) -> date | None:
        """The day of the kind's oldest entry due (one read of the due part of the queue)."""
        cursor = self.queue.find({"_id": due_range(kind, last_day)}, {"_id": 1})
        async for doc in cursor.sort("_id", ASCENDING).limit(1):
            return parse_key(doc["_id"])[1]
        return None

    async def entries_of_day(self, kind: str, day: date) -> list[str]:
        """One day's entries of a kind, in `_id` order (one `_id` range)."""
        found = self.queue.find({"_id": day_range(kind, day)}, {"_id": 1})
        return sorted([doc["_id"] async for doc in found])

    async def drop_entries(self, keys: list[str]) -> None:
        for part in _parts(keys):
            await self.queue.delete_many({"_id": {"$in": part}})

    # -- joblogs -----------------------------------------------------------------------------

    async def current(self, joblog_ids: Iterable[str]) -> dict[str, Document]:
        """The projections (current versions, or tombstones) of these joblogs that exist."""
        found: dict[str, Document] = {}
        for part in _parts(sorted(set(joblog_ids))):
            async for doc in self.joblogs.find({"_id": {"$in": part}}):
                found[doc["_id"]] = doc
        return found

    async def add_versions(self, docs: list[Document]) -> dict[str, Document | None]:
        """Insert history entries (unordered); the `_id`s that were taken, each with the entry
        that holds it."""
        if not docs:
            return {}
        taken = sorted(await insert_new(self.history, docs))
        holders = {doc["_id"]: doc async for doc in self.history.find({"_id": {"$in": taken}})}
        return {key: holders.get(key) for key in taken}

    async def clear_history(self, ids: list[str]) -> None:
        """Clear the optional fields of these history entries, by the type each entry has (one
        update per type), marking each `ryddet` (cleared: `joblog rebuild` queues it no more)."""
        for kind in JoblogType:
            fields = {f"joblog.{name}": "" for name in optional_fields(kind)}
            for part in _parts(sorted(set(ids))):
                await self.history.update_many(
                    {"_id": {"$in": part}, "joblog.type": kind.value},
                    {"$unset": fields, "$set": {RYDDET: True}},
                )

    async def project(self, docs: list[Document]) -> None:
        """Each projection replaced by the given (newer) version, never by an older one."""
        replaces = [
            ReplaceOne({"_id": doc["_id"], "version": {"$lt": doc["version"]}}, doc) for doc in docs
        ]
        if replaces:
            await self.joblogs.bulk_write(replaces, ordered=False)

    async def bury(self, tombstones: list[Document]) -> None:
        """Each projection replaced by its joblog's tombstone."""
        if tombstones:
            await self.joblogs.bulk_write(
                [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in tombstones],
                ordered=False,
            )

    async def delete_history(self, ids: list[str]) -> None:
        for part in _parts(ids):
            await self.history.delete_many({"_id": {"$in": part}})

    # -- the citizens' read model ------------------------------------------------------------

    async def activity_of(self, cprs: Iterable[str]) -> dict[str, Document]:
        """The citizens' joblog ids and activity (`with_activity`'s fields)."""
        found = await activities_of(self.activity, cprs)
        return {cpr: with_activity({"_id": cpr}, entries) for cpr, entries in found.items()}

    async def forget(self, gone: Mapping[str, tuple[list[str], list[Document], datetime]]) -> None:
        """Per citizen: the activity entries (as read) of his erased joblogs deleted, and his
        floor raised (`slettet_aktivitet` first: the rebuild's record)."""
        if not gone:
            return
        await self.floors.bulk_write(
            [
                UpdateOne({"_id": cpr}, {"$max": {"til": until}}, upsert=True)
                for cpr, (_, _, until) in gone.items()
            ],
            ordered=False,
        )
        await self.citizens.bulk_write(
            [
                UpdateOne({"_id": cpr}, {"$max": {"slettetTil": until}})
                for cpr, (_, _, until) in gone.items()
            ],
            ordered=False,
        )
        erased = [entry["_id"] for _, entries, _ in gone.values() for entry in entries]
        for part in _parts(erased):
            await self.activity.delete_many({"_id": {"$in": part}})

    # -- message ids, the access log ---------------------------------------------------------

    async def delete_messages(self, ids: list[str]) -> None:
        for part in _parts(ids):
            await self.messages.delete_many({"_id": {"$in": part}})

    async def first_read(self, before: str) -> str | None:
        """The oldest access-log entry before the `_id` bound (one read of the due part)."""
        cursor = self.access_log.find({"_id": {"$lt": before}}, {"_id": 1})
        async for doc in cursor.sort("_id", ASCENDING).limit(1):
            found: str = doc["_id"]
            return found
        return None

    async def reads_between(self, lo: str, hi: str) -> list[str]:
        found = self.access_log.find({"_id": {"$gte": lo, "$lt": hi}}, {"_id": 1})
        return sorted([doc["_id"] async for doc in found])

    async def delete_reads(self, ids: list[str]) -> None:
        for part in _parts(ids):
            await self.access_log.delete_many({"_id": {"$in": part}})

    # -- the records, the job's state --------------------------------------------------------

    async def record(self, docs: list[Document]) -> None:
        if docs:
            await self.records.bulk_write(
                [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs],
                ordered=False,
            )

    async def take_lease(self, owner: str, wall_now: datetime, until: datetime) -> bool:
        """The job's lease: free, lapsed or already `owner`'s."""
        free = {
            "_id": STATE,
            "$or": [{"leaseUntil": None}, {"leaseUntil": {"$lt": wall_now}}, {"ejer": owner}],
        }
        update = {"$set": {"ejer": owner, "leaseUntil": until}}
        try:
            taken = await self.state.find_one_and_update(
                free, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:  # it exists and another holds it
            return False
        return taken is not None

    async def release(self, owner: str, ran_for: date | None) -> None:
        update: Document = {"$set": {"leaseUntil": None}}
        if ran_for is not None:
            update["$max"] = {"dag": ran_for.isoformat()}
        await self.state.update_one({"_id": STATE, "ejer": owner}, update)

    async def last_run(self) -> date | None:
        doc = await self.state.find_one({"_id": STATE})
        return date.fromisoformat(doc["dag"]) if doc and doc.get("dag") else None


def _parts(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), IN_MAX):
        yield ids[start : start + IN_MAX]
