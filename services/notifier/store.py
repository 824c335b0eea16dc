"""The notifier's durable state: one timer per citizen and the notices sent (DFDG collections).

- `timers`: `_id` = cpr, `due` (next due time or null), `lastNotifiedDue`, `revision` (bumped
  by every recomputation) and a lease (`lease`, `leaseUntil`) held while one instance fires it.
  Only due timers are ever read, a batch at a time, so a million timers are never in memory.
- `notices`: `_id` = noticeId (deterministic), the payload, `published` (an outbox flag) and
  `checkpoint`: the end offsets of its notice topics (a `{topic, partition, offset}` each) before
  it was first sent, so recovery after a crash can look in the topic whether it went out.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.notifier.advisering import DueNotice
from shared.db import Document

BATCH = 500


def _free(wall_now: datetime) -> dict[str, Any]:
    return {"$or": [{"leaseUntil": None}, {"leaseUntil": {"$lt": wall_now}}]}


class NotifierStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.timers = db.timers
        self.notices = db.notices

    async def create_indexes(self) -> None:
        await self.timers.create_index([("due", ASCENDING)])
        await self.notices.create_index([("cpr", ASCENDING), ("forfaldt", ASCENDING)])
        await self.notices.create_index([("jobcenter", ASCENDING), ("forfaldt", ASCENDING)])
        await self.notices.create_index([("published", ASCENDING)])

    # -- timers ------------------------------------------------------------------------------

    async def timer(self, cpr: str) -> Document | None:
        return await self.timers.find_one({"_id": cpr})

    async def set_due(self, cpr: str, due: datetime | None) -> None:
        update = {"$set": {"due": due}, "$inc": {"revision": 1}}
        try:
            await self.timers.update_one({"_id": cpr}, update, upsert=True)
        except DuplicateKeyError:  # a concurrent upsert created it first (FerretDB): update it
            await self.timers.update_one({"_id": cpr}, update)

    async def due_batch(self, now: datetime, wall_now: datetime) -> list[str]:
        cursor = (
            self.timers.find({"due": {"$lte": now}, **_free(wall_now)}, {"_id": 1})
            .sort("due", ASCENDING)
            .limit(BATCH)
        )
        return [doc["_id"] async for doc in cursor]

    async def claim(
        self, cpr: str, now: datetime, owner: str, wall_now: datetime, until: datetime
    ) -> Document | None:
        """Take the lease on a due timer; None if it is not due or another instance holds it."""
        return await self.timers.find_one_and_update(
            {"_id": cpr, "due": {"$lte": now}, **_free(wall_now)},
            {"$set": {"lease": owner, "leaseUntil": until}},
            return_document=ReturnDocument.AFTER,
        )

    async def release(
        self, timer: Document, due: datetime | None, notified: datetime | None
    ) -> bool:
        """Move the timer on and give up the lease. False if it was recomputed meanwhile (then
        only the notified due time is recorded and the caller recomputes)."""
        done = {"$unset": {"lease": "", "leaseUntil": ""}}
        notified_set = {"lastNotifiedDue": notified} if notified else {}
        result = await self.timers.update_one(
            {"_id": timer["_id"], "revision": timer.get("revision")},
            {"$set": {"due": due, **notified_set}, **done},
        )
        if result.matched_count:
            return True
        await self.timers.update_one(
            {"_id": timer["_id"]}, {**({"$set": notified_set} if notified_set else {}), **done}
        )
        return False

    # -- notices -----------------------------------------------------------------------------

    async def add_pending(
        self, notices: Iterable[DueNotice], checkpoint: list[dict[str, Any]]
    ) -> tuple[list[Document], bool]:
        """Store the notices (once: ids are deterministic); return those not yet published, and
        whether any of them was stored before (by a run that may have crashed after sending).

        Only point operations on `_id`: FerretDB 1.24 answers `{"_id": {"$in": …}}` by scanning
        the collection (about 0.2 s at 5,000 notices, per call)."""
        pending: list[Document] = []
        stored_before = False
        for notice in notices:
            doc = {
                "_id": str(notice.noticeId), **notice.payload(), "forfaldt": notice.forfaldt,
                "udstedt": notice.udstedt, "published": False, "checkpoint": checkpoint,
            }  # fmt: skip
            try:
                await self.notices.insert_one(doc)
            except DuplicateKeyError:
                stored_before = True
                found = await self.notices.find_one({"_id": doc["_id"]})
                if found is not None and not found.get("published"):
                    pending.append(found)
            else:
                pending.append(doc)
        return pending, stored_before

    async def pending(self) -> list[Document]:
        return await self.notices.find({"published": False}).to_list()

    async def mark_published(self, ids: Iterable[str]) -> None:
        for notice_id in ids:  # one by one: see add_pending
            await self.notices.update_one({"_id": notice_id}, {"$set": {"published": True}})
