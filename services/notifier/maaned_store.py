"""The monthly notices' queue (`maaned_forfald`, a DFDG collection): one entry per frist (a
citizen's reminder or month's end, `services/notifier/maaned.py`), `_id` =
"<due, UTC>|<cpr>|<noticeType>", with `maaned` and, while an instance fires it, a lease
(`lease`, `leaseUntil`). A tick reads exactly the due part as `_id` ranges, a chunk at a time
(an index search on MongoDB and on the local FerretDB), never the whole queue; the entry is
the frist's whole state, so a chunk is claimed, fired and removed with no per-citizen read.

Exactly once with the notices' outbox: an entry is removed only after its notice was stored
(deterministic id), sent and marked, and after the next month's entries were added; a crash
leaves it leased, and once the lease lapsed a sweep fires it again and finds its notice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any
from uuid import uuid4

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.notifier.maaned import Frist, maaned_of
from shared.contract.tid import as_utc
from shared.platform.db import insert_new
from shared.readmodel import collections
from shared.readmodel.document import Document

CHUNK = 500
"""Entries a sweep fires together: one `_id` range read, one claim and read back, one read of
the citizens, one insert, publish and mark of the notices, one insert of the next month's
entries, one delete."""


def frist_key(frist: Frist) -> str:
    """An entry's `_id`: the due time (UTC, milliseconds) orders the queue, then the citizen."""
    due = as_utc(frist.forfald).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    return f"{due}|{frist.cpr}|{frist.noticeType}"


def due_upto(now: datetime) -> str:
    """The bound of the entries due at or before `now` (';' sorts after every digit)."""
    return f"{as_utc(now).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}|;"


def frist_document(frist: Frist) -> Document:
    return {
        "_id": frist_key(frist), "cpr": frist.cpr, "maaned": str(frist.maaned),
        "noticeType": frist.noticeType, "forfald": frist.forfald,
    }  # fmt: skip


def frist_of(doc: Document) -> Frist:
    return Frist(doc["cpr"], maaned_of(doc["maaned"]), doc["noticeType"], as_utc(doc["forfald"]))


class MaanedQueue:
    def __init__(self, db: AsyncDatabase[Document], chunk: int = CHUNK) -> None:
        self.queue = db[collections.MAANED_QUEUE]
        self.chunk = chunk

    async def add(self, frister: Iterable[Frist]) -> None:
        """Make sure of these entries (one unordered insert; those there already stay as they
        are, leases and all)."""
        docs = list({frist_key(f): frist_document(f) for f in frister}.values())
        if docs:
            await insert_new(self.queue, docs)

    async def due_chunks(self, now: datetime) -> AsyncIterator[list[Frist]]:
        """The entries due by `now`, oldest first, as `_id` ranges of at most `chunk` entries,
        each read starting after the last entry of the one before (memory stays flat; entries
        the sweep removes or adds meanwhile cannot disturb a cursor, and the next month's that
        are due already, after downtime, come in a later chunk)."""
        upto, after = due_upto(now), None
        while True:
            wanted: dict[str, Any] = {"$lt": upto}
            if after is not None:
                wanted["$gt"] = after
            cursor = self.queue.find({"_id": wanted}).sort("_id", ASCENDING).limit(self.chunk)
            docs = [doc async for doc in cursor]
            if not docs:
                return
            yield [frist_of(doc) for doc in docs]
            if len(docs) < self.chunk:
                return
            after = docs[-1]["_id"]

    async def claim(
        self, frister: list[Frist], owner: str, wall_now: datetime, until: datetime
    ) -> tuple[list[Frist], str]:
        """The lease on those of the entries no other instance holds, in one update (`_id`
        `$in`) under a token of this claim (each entry's update is atomic, so those carrying
        the token afterwards are exactly this claim's), then one read back. Returns the frister
        claimed and the token."""
        token = f"{owner}#{uuid4()}"
        ids = [frist_key(f) for f in frister]
        free = {"$or": [{"leaseUntil": None}, {"leaseUntil": {"$lt": wall_now}}]}
        await self.queue.update_many(
            {"_id": {"$in": ids}, **free}, {"$set": {"lease": token, "leaseUntil": until}}
        )
        held = self.queue.find({"_id": {"$in": ids}}, {"lease": 1})
        mine = {doc["_id"] async for doc in held if doc.get("lease") == token}
        return [f for f in frister if frist_key(f) in mine], token

    async def done(self, fired: list[Frist], token: str, following: list[Frist]) -> None:
        """The fired entries removed (one delete, only while this claim still holds them),
        after the next month's were added (one insert)."""
        await self.add(following)
        if fired:
            ids = [frist_key(f) for f in fired]
            await self.queue.delete_many({"_id": {"$in": ids}, "lease": token})
