"""The notifier's durable state: one timer per citizen and the notices sent (DFDG collections).

- `timers`: `_id` = cpr, `due` (next due time or null), `lastNotifiedDue`, `revision` (bumped
  by every recomputation) and a lease (`lease`, `leaseUntil`) held while one instance fires it.
- `forfald` (the due queue): one entry per timer's due time, `_id` = "<due, UTC>|<cpr>", so a
  tick reads exactly the due part of the queue as an `_id` range (an index search on MongoDB and
  on the local FerretDB, see shared/readmodel/updates.py), never all timers. An entry is added
  before its timer points to it and removed after the timer moved on, so a crash leaves at most
  a stale entry, which the sweep drops when it finds the timer due at another time. With no
  transactions, a writer and a sweep can interleave: the writer adds its entry again after
  pointing the timer to it, and whoever drops an entry reads the timer again after and puts the
  entry back if the timer now points to it; so no entry a timer points to stays lost.
- `notices`: `_id` = noticeId (deterministic), the payload, `published` (an outbox flag) and
  `checkpoint`: the end offsets of its notice topics (a `{topic, partition, offset}` each) before
  it was first sent, so recovery after a crash can look in the topic whether it went out.
- `afsendes`: one marker per `add_pending` (a sweep's chunk), `_id` = the least of its notice
  ids, `ids` = all of them; written before the notices, removed once all are marked published
  (`settled`). A starting notifier finds the notices a crash left unmarked through these (a
  few documents) instead of a `published: false` filter, which the local FerretDB answers by
  scanning every notice ever sent (9-11 s for 140,000 here).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.notifier.advisering import MODTAGER_BORGER, DueNotice
from services.notifier.maaned import MaanedNotice
from services.notifier.records import Notice, StoredNotice, Timer, TopicOffset, notice_topic
from shared.contract.tid import as_utc
from shared.platform.db import batched, drop_indexes, insert_new
from shared.readmodel import collections
from shared.readmodel import updates as read_model
from shared.readmodel.document import Document
from shared.readmodel.writer import ReadModelWriter

BATCH = 500
CHUNK = 500
"""Due-queue entries a sweep fires together: one `_id` range read, one claim, one read of the
timers and the citizens, one insert, publish and mark of the notices, one write of the timers."""


def due_key(due: datetime, cpr: str) -> str:
    """A queue entry's `_id`: the due time (UTC, milliseconds as stored) orders the queue."""
    return f"{as_utc(due).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}|{cpr}"


def due_upto(now: datetime) -> Document:
    """The `_id` filter of the entries due at or before `now` (';' sorts after every digit)."""
    return {"$lt": due_key(now, ";")}


def _free(wall_now: datetime) -> dict[str, Any]:
    return {"$or": [{"leaseUntil": None}, {"leaseUntil": {"$lt": wall_now}}]}


class NotifierStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.timers = db[collections.TIMERS]
        self.queue = db[collections.DUE_QUEUE]
        self.notices = db[collections.NOTICES]
        self.sending = db[collections.SENDING]
        self.read_model = ReadModelWriter(db)

    async def drop_unused_indexes(self) -> None:
        """Every read here is by `_id`: drop the secondary indexes earlier versions made."""
        unused = ["cpr_1_forfaldt_1", "jobcenter_1_forfaldt_1", "published_1"]
        await drop_indexes(self.notices, unused)

    # -- timers ------------------------------------------------------------------------------

    async def timer(self, cpr: str) -> Timer | None:
        return timer_of(await self.timers.find_one({"_id": cpr}))

    async def set_due(self, cpr: str, due: datetime | None) -> None:
        if due is not None:
            await self._enqueue(due, cpr)
        update = {"$set": {"due": due}, "$inc": {"revision": 1}}
        try:
            before = await self.timers.find_one_and_update({"_id": cpr}, update, upsert=True)
        except DuplicateKeyError:  # a concurrent upsert created it first (FerretDB): update it
            before = await self.timers.find_one_and_update({"_id": cpr}, update)
        await self._moved(cpr, before.get("due") if before else None, due)

    async def due(self, now: datetime) -> AsyncIterator[list[tuple[str, str]]]:
        """The queue's entries due by `now` (entry id, cpr), oldest first, in batches: one read
        of the due part of the queue per tick."""
        entries = self.queue.find({"_id": due_upto(now)}).sort("_id", ASCENDING)
        async for batch in batched(entries, BATCH):
            yield [(entry["_id"], entry["cpr"]) for entry in batch]

    async def drop_if_stale(self, entry_id: str, cpr: str) -> None:
        """A queue entry whose timer is not due at its time any more (moved on, or a crash
        between adding the entry and updating the timer) is removed; one whose timer another
        instance holds is left to it."""
        if not await self._points_to(entry_id, cpr):
            await self._drop(entry_id, cpr)

    async def _moved(self, cpr: str, old: datetime | None, due: datetime | None) -> None:
        """After the timer was pointed from `old` to `due`: its entry added again (a sweep may
        have dropped it meanwhile), and the old one dropped."""
        if due is not None:
            await self._enqueue(due, cpr)
        if old is not None and (due is None or due_key(old, cpr) != due_key(due, cpr)):
            await self._drop(due_key(old, cpr), cpr)

    async def _points_to(self, entry_id: str, cpr: str) -> bool:
        timer = await self.timer(cpr)
        return timer is not None and timer.due is not None and due_key(timer.due, cpr) == entry_id

    async def _drop(self, entry_id: str, cpr: str) -> None:
        """Remove an entry its timer no longer points to; if a writer pointed the timer to it
        meanwhile (after our read, before its own re-add), put it back."""
        await self.queue.delete_one({"_id": entry_id})
        if await self._points_to(entry_id, cpr):
            await self._insert_entry(entry_id, cpr)

    async def _enqueue(self, due: datetime, cpr: str) -> None:
        await self._insert_entry(due_key(due, cpr), cpr)

    async def _insert_entry(self, entry_id: str, cpr: str) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self.queue.insert_one({"_id": entry_id, "cpr": cpr})

    async def claim(
        self, cpr: str, now: datetime, owner: str, wall_now: datetime, until: datetime
    ) -> Timer | None:
        """Take the lease on a due timer; None if it is not due or another instance holds it."""
        return timer_of(
            await self.timers.find_one_and_update(
                {"_id": cpr, "due": {"$lte": now}, **_free(wall_now)},
                {"$set": {"lease": owner, "leaseUntil": until}},
                return_document=ReturnDocument.AFTER,
            )
        )

    async def release(self, timer: Timer, due: datetime | None, notified: datetime | None) -> bool:
        """Move the fired timer on and give up the lease. False if it was recomputed meanwhile
        (then only the notified due time is recorded and the caller recomputes)."""
        cpr = timer.cpr
        done = {"$unset": {"lease": "", "leaseUntil": ""}}
        notified_set = {"lastNotifiedDue": notified} if notified else {}
        if due is not None:
            await self._enqueue(due, cpr)
        result = await self.timers.update_one(
            {"_id": cpr, "revision": timer.revision},
            {"$set": {"due": due, **notified_set}, **done},
        )
        if result.matched_count:
            await self._moved(cpr, timer.due, due)
            return True
        await self.timers.update_one(
            {"_id": cpr}, {**({"$set": notified_set} if notified_set else {}), **done}
        )
        return False

    async def timers_of(self, cprs: list[str]) -> dict[str, Timer]:
        """The timers of `cprs` that exist, in one read (`_id` `$in`)."""
        found = self.timers.find({"_id": {"$in": cprs}})
        return {doc["_id"]: t async for doc in found if (t := timer_of(doc)) is not None}

    async def set_due_many(
        self, dues: dict[str, datetime | None], before: dict[str, Timer]
    ) -> None:
        """`set_due` for a batch of citizens (cpr: due time), their timers as read before
        (`before`): the new entries added (one insert), the timers pointed to them (one unordered
        bulk of upserts, each bumping the revision), the new entries added again (a sweep may
        have dropped them meanwhile) and the old ones dropped (one delete, one read to put back
        what a writer pointed to meanwhile), so no entry a timer points to stays lost. An entry
        of a due time the timer moved from after `before` was read stays as a stale one, which
        the sweep drops."""
        if not dues:
            return
        new = [(due_key(due, cpr), cpr) for cpr, due in dues.items() if due is not None]
        await self._insert_entries(new)
        writes = [
            UpdateOne({"_id": cpr}, {"$set": {"due": due}, "$inc": {"revision": 1}}, upsert=True)
            for cpr, due in dues.items()
        ]
        try:
            await self.timers.bulk_write(writes, ordered=False)
        except BulkWriteError:  # a concurrent upsert created one first (FerretDB): one by one
            for cpr, due in dues.items():
                await self.set_due(cpr, due)
            return
        await self._insert_entries(new)
        old = [
            (due_key(t.due, cpr), cpr)
            for cpr, due in dues.items()
            if (t := before.get(cpr)) is not None
            and t.due is not None
            and (due is None or due_key(t.due, cpr) != due_key(due, cpr))
        ]
        if old:
            await self.queue.delete_many({"_id": {"$in": [e for e, _ in old]}})
            await self._restore(old)

    # -- the sweep in bulk: a chunk of due-queue entries at a time -----------------------------

    async def due_chunks(
        self, now: datetime, size: int = CHUNK
    ) -> AsyncIterator[list[tuple[str, str]]]:
        """The queue's entries due by `now` (entry id, cpr), oldest first, as `_id` ranges of at
        most `size` entries: each chunk one read starting after the last entry of the one
        before (an index search on MongoDB and on the local FerretDB), so memory stays flat
        and entries the sweep removes meanwhile cannot disturb a cursor."""
        upto = due_upto(now)["$lt"]
        after: str | None = None
        while True:
            wanted: dict[str, Any] = {"$lt": upto}
            if after is not None:
                wanted["$gt"] = after
            cursor = self.queue.find({"_id": wanted}).sort("_id", ASCENDING).limit(size)
            chunk = [(entry["_id"], entry["cpr"]) async for entry in cursor]
            if not chunk:
                return
            yield chunk
            if len(chunk) < size:
                return
            after = chunk[-1][0]

    async def claim_many(
        self, cprs: list[str], now: datetime, owner: str, wall_now: datetime, until: datetime
    ) -> tuple[dict[str, Timer], dict[str, Timer]]:
        """Take the lease on the due timers of `cprs` in one update (`_id` `$in`), under a
        token of this claim (`<owner>#<uuid>`: each timer's update is atomic, so those that
        carry the token afterwards are exactly the ones this claim took); then one read of all
        the timers. Returns (the timers claimed, the others that exist)."""
        token = f"{owner}#{uuid4()}"
        await self.timers.update_many(
            {"_id": {"$in": cprs}, "due": {"$lte": now}, **_free(wall_now)},
            {"$set": {"lease": token, "leaseUntil": until}},
        )
        claimed: dict[str, Timer] = {}
        others: dict[str, Timer] = {}
        async for doc in self.timers.find({"_id": {"$in": cprs}}):
            timer = timer_of(doc)
            assert timer is not None
            (claimed if doc.get("lease") == token else others)[timer.cpr] = timer
        return claimed, others

    async def drop_stale(self, entries: list[tuple[str, str]], timers: dict[str, Timer]) -> None:
        """Remove the entries whose timer (as just read) does not point to them, in one delete;
        then, as `_drop`, read those timers again (one read) and put back the entries a writer
        pointed its timer to meanwhile."""
        stale = [(e, cpr) for e, cpr in entries if not _points(timers.get(cpr), e)]
        if not stale:
            return
        await self.queue.delete_many({"_id": {"$in": [e for e, _ in stale]}})
        await self._restore(stale)

    async def _restore(self, dropped: list[tuple[str, str]]) -> None:
        """Put back those of the dropped entries whose timers point to them now (one read)."""
        cprs = sorted({cpr for _, cpr in dropped})
        now_at = {
            doc["_id"]: timer_of(doc) async for doc in self.timers.find({"_id": {"$in": cprs}})
        }
        back = [(e, cpr) for e, cpr in dropped if _points(now_at.get(cpr), e)]
        await self._insert_entries(back)

    async def _insert_entries(self, entries: list[tuple[str, str]]) -> None:
        if entries:
            await insert_new(self.queue, [{"_id": e, "cpr": cpr} for e, cpr in entries])

    async def release_many(
        self, fired: list[tuple[Timer, datetime | None, datetime | None]]
    ) -> list[Timer]:
        """`release` for a chunk of fired timers (timer, next due time, notified due time):
        the new entries added (one insert), the timers moved on and their leases given up
        where nobody recomputed them (one bulk write, each guarded by its revision), the notified
        due time recorded and the lease given up on the others (one bulk write, only if there
        are any: found by one read of the timers still holding this claim's lease), the new
        entries added again and the old ones dropped (one insert, one delete, one read to put
        back what a writer pointed to meanwhile). Returns the timers recomputed meanwhile (the
        caller recomputes them)."""
        if not fired:
            return []
        done: dict[str, Any] = {"$unset": {"lease": "", "leaseUntil": ""}}
        new = [(due_key(due, t.cpr), t.cpr) for t, due, _ in fired if due is not None]
        await self._insert_entries(new)
        moves = [
            UpdateOne(
                {"_id": t.cpr, "revision": t.revision},
                {"$set": {"due": due, **({"lastNotifiedDue": n} if n else {})}, **done},
            )
            for t, due, n in fired
        ]
        await self.timers.bulk_write(moves, ordered=False)
        leases = {t.cpr: t.lease for t, _, _ in fired}
        held = self.timers.find({"_id": {"$in": sorted(leases)}}, {"lease": 1})
        missed = {doc["_id"] async for doc in held if doc.get("lease") == leases[doc["_id"]]}
        if missed:
            await self.timers.bulk_write(
                [
                    UpdateOne(
                        {"_id": t.cpr}, {**({"$set": {"lastNotifiedDue": n}} if n else {}), **done}
                    )
                    for t, _, n in fired
                    if t.cpr in missed
                ],
                ordered=False,
            )
            unused = [(due_key(d, t.cpr), t.cpr) for t, d, _ in fired if t.cpr in missed and d]
            if unused:  # the entries added for a due time the timer did not take
                await self.queue.delete_many({"_id": {"$in": [e for e, _ in unused]}})
                await self._restore(unused)
        moved = [(t, due) for t, due, _ in fired if t.cpr not in missed]
        await self._insert_entries([(due_key(d, t.cpr), t.cpr) for t, d in moved if d is not None])
        old = [
            (due_key(t.due, t.cpr), t.cpr)
            for t, d in moved
            if t.due is not None and (d is None or due_key(t.due, t.cpr) != due_key(d, t.cpr))
        ]
        if old:
            await self.queue.delete_many({"_id": {"$in": [e for e, _ in old]}})
            await self._restore(old)
        return [t for t, _, _ in fired if t.cpr in missed]

    # -- notices -----------------------------------------------------------------------------

    async def add_pending(
        self, notices: Iterable[Notice], checkpoint: Iterable[TopicOffset]
    ) -> tuple[list[StoredNotice], bool]:
        """Store the notices (once: ids are deterministic); return those not yet published, and
        whether any of them was stored before (by a run that may have crashed after sending).
        One insert for all, one read of those stored before (by `_id` `$in`), one update of the
        citizen's read model. Each notice keeps the offsets of its own topic's partitions only:
        with those of every topic of the chunk (up to 98 jobcentres') each document was about a
        hundred times larger, and FerretDB's insert and mark of 1,000 notices took about two
        seconds instead of a tenth."""
        marks: dict[str, list[TopicOffset]] = {}
        for mark in checkpoint:
            marks.setdefault(mark.topic, []).append(mark)
        docs = [
            notice_document(StoredNotice(notice, tuple(marks.get(notice_topic(notice), ()))))
            for notice in notices
        ]
        if not docs:
            return [], False
        ids = sorted(doc["_id"] for doc in docs)
        await insert_new(self.sending, [{"_id": marker_id(ids), "ids": ids}])  # before them
        before = await insert_new(self.notices, docs)
        if before:
            stored = self.notices.find({"_id": {"$in": sorted(before)}})
            found = {doc["_id"]: doc async for doc in stored}
            docs = [found.get(doc["_id"], doc) for doc in docs]
        records = [stored_notice(doc) for doc in docs]
        for_citizen = [
            notice_read_model(n)
            for n in records
            if isinstance(n.notice, DueNotice) and n.notice.modtager == MODTAGER_BORGER
        ]
        await self._apply_read_model(read_model.merged(for_citizen))
        return [n for n in records if not n.published], bool(before)

    async def _apply_read_model(self, updates: list[read_model.Update]) -> None:
        """One bulk write of the citizens' read models; if two first writes of a new citizen
        raced (a duplicate key), the updates one by one (`ReadModelWriter.apply` retries)."""
        try:
            await self.read_model.apply_bulk(updates)
        except BulkWriteError:
            await self.read_model.apply_all(updates)

    async def pending(self) -> list[StoredNotice]:
        """The notices stored and not marked published, found through the markers (one read
        of them, one of their notices by `_id` `$in`); the markers whose notices are all
        published (or gone) are removed."""
        markers = await self.sending.find({}).to_list()
        if not markers:  # (an empty `$in` is no `_id` search on FerretDB: it scans)
            return []
        ids = sorted({id_ for marker in markers for id_ in marker["ids"]})
        found = {doc["_id"]: doc async for doc in self.notices.find({"_id": {"$in": ids}})}
        done = [
            m["_id"]
            for m in markers
            if not any(i in found and not found[i].get("published") for i in m["ids"])
        ]
        if done:
            await self.sending.delete_many({"_id": {"$in": done}})
        return [stored_notice(doc) for doc in found.values() if not doc.get("published")]

    async def settled(self, notices: Sequence[Notice]) -> None:
        if notices:
            await self.sending.delete_one({"_id": marker_id(str(n.noticeId) for n in notices)})

    async def mark_published(self, ids: Iterable[str]) -> None:
        """One update by `_id` `$in` (an index search on MongoDB and on the patched FerretDB)."""
        wanted = list(ids)
        if wanted:
            await self.notices.update_many({"_id": {"$in": wanted}}, {"$set": {"published": True}})


# -- records and documents ---------------------------------------------------------------------


def marker_id(notice_ids: Iterable[str]) -> str:
    """The `_id` of the `afsendes` marker of a group of notices: the least of their ids."""
    return min(notice_ids)


def _points(timer: Timer | None, entry_id: str) -> bool:
    return timer is not None and timer.due is not None and due_key(timer.due, timer.cpr) == entry_id


def timer_of(doc: Document | None) -> Timer | None:
    if doc is None:
        return None
    return Timer(
        doc["_id"], doc.get("due"), doc.get("lastNotifiedDue"), doc.get("revision"),
        doc.get("lease"),
    )  # fmt: skip


def notice_document(stored: StoredNotice) -> Document:
    """A notice as stored: its payload, but the times `forfaldt` and `udstedt` as dates (UTC),
    `published` (an outbox flag) and the offsets to look it up after a crash (a
    `{topic, partition, offset}` each: topic names hold dots, which a document's keys may not;
    FerretDB stores no nested arrays)."""
    notice = stored.notice
    return {
        "_id": stored.id, **notice.payload(), "forfaldt": notice.forfaldt,
        "udstedt": notice.udstedt, "published": stored.published,
        "checkpoint": [
            {"topic": m.topic, "partition": m.partition, "offset": m.offset}
            for m in stored.checkpoint
        ],
    }  # fmt: skip


def stored_notice(doc: Document) -> StoredNotice:
    checkpoint = tuple(
        TopicOffset(m["topic"], m["partition"], m["offset"]) for m in doc.get("checkpoint", [])
    )
    return StoredNotice(notice_of(doc), checkpoint, bool(doc.get("published")))


def notice_of(doc: Document) -> Notice:
    """A stored notice's payload: a monthly notice if it has a `noticeType`, else an
    advisering."""
    if "noticeType" in doc:
        return MaanedNotice(
            noticeId=UUID(doc["_id"]),
            noticeType=doc["noticeType"],
            modtager=doc["modtager"],
            cpr=doc["cpr"],
            jobcenter=doc["jobcenter"],
            maalgruppe=doc["maalgruppe"],
            maaned=doc["maaned"],
            forfaldt=as_utc(doc["forfaldt"]),
            udstedt=as_utc(doc["udstedt"]),
        )
    seen = doc.get("senesteAktivitet")
    return DueNotice(
        noticeId=UUID(doc["_id"]),
        modtager=doc["modtager"],
        cpr=doc["cpr"],
        jobcenter=doc["jobcenter"],
        maalgruppe=doc["maalgruppe"],
        senesteAktivitet=None if seen is None else as_utc(datetime.fromisoformat(seen)),
        dageUdenAktivitet=doc["dageUdenAktivitet"],
        forfaldt=as_utc(doc["forfaldt"]),
        udstedt=as_utc(doc["udstedt"]),
    )


def notice_read_model(stored: StoredNotice) -> read_model.Update:
    """A stored advisering to the citizen, as the citizen's read model holds it."""
    notice = stored.notice
    assert isinstance(notice, DueNotice), "a monthly notice is no advisering"
    return read_model.notice_update(notice.cpr, stored.id, notice.forfaldt, notice.udstedt)
