"""DFDG's collections in MongoDB, and the reads and writes storage makes on them.

- `joblog_history`: every accepted version of every joblog (`_id` "<joblogId>:<version>", with
  the `beskedId` that made it). The history is the record.
- `joblogs`: the current version of each joblog, a projection of the history: the newest entry
  with `_id` = joblogId and `historik` = the entry's `_id`.
- `beskeder`: message id -> its outcome. The history entry it made (`historik`), written when
  everything the message causes is done (stored, projected, sent on); or its refusal (`afvist`:
  reason, text, field; and the replay it came in, `gentagelse`), written before the rejection
  is sent. A message id found here is decided: a redelivery is not decided again (a refused
  one gets its refusal again: a crash may have come before it went out), only a replay is.
  A refused fritagelse message's outcome is kept here too, as `fritagelse:<messageId>`.
- `status_messages`, `exemption_messages`: citizens' status and fritagelse messages as received
  (`_id` = messageId); the timeline is derived from them by shared.contract.citizen. `udgivet`
  holds a marker `status:<messageId>` once a status message's effects went out.

There are no multi-document transactions (FerretDB has none): each step is idempotent, and a
message that did not finish comes again and completes what it began. Markers are inserted rather
than flags updated, and every lookup is by `_id` (the index both MongoDB and our FerretDB use).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pymongo import ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.storage.merge import FieldDecision, MergeReport
from services.storage.records import HistoryEntry, Outcome
from shared.contract import retention
from shared.contract.citizen import ExemptionMessage, StatusMessage
from shared.contract.events import Handling, Joblog, StoredJoblog
from shared.contract.rejections import Reason, Refusal
from shared.platform.db import drop_indexes, insert_new
from shared.readmodel import collections
from shared.readmodel.document import Document
from shared.readmodel.joblogs import stored_from

EXEMPTION_KEY = "fritagelse:"
"""The prefix of a refused fritagelse message's outcome in `beskeder` (its messageId after)."""

BATCH_FIELD = "batchTidligere"
"""In a projection: the earlier entries (beskedId, version) the same batch made of the joblog."""


def history_id(joblog_id: UUID | str, version: int) -> str:
    return f"{joblog_id}:{version}"


class Repository:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db
        self.history = db[collections.JOBLOG_HISTORY]
        self.joblogs = db[collections.JOBLOGS]
        self.status = db[collections.STATUS_MESSAGES]
        self.exemptions = db[collections.EXEMPTION_MESSAGES]
        self.messages = db[collections.FINISHED]
        self.published = db[collections.PUBLISHED]
        self.expiry = db[collections.RETENTION_QUEUE]

    async def drop_unused_indexes(self) -> None:
        """Every read here is by `_id`: drop the secondary indexes earlier versions made."""
        await drop_indexes(self.history, ["joblogId_1_version_-1", "cpr_1_accepteret_-1"])
        await drop_indexes(self.joblogs, ["cpr_1"])
        await drop_indexes(self.status, ["cpr_1", "jobcenter_1"])
        await drop_indexes(self.exemptions, ["cpr_1"])

    # -- joblogs ---------------------------------------------------------------------------

    async def finished(self, besked_id: UUID) -> Outcome | None:
        """What became of this message id before (a redelivery, a twin or a replay), if it was
        decided."""
        return outcome_of(await self.messages.find_one({"_id": str(besked_id)}))

    async def mark_finished(self, entry: HistoryEntry, replacing: bool = False) -> None:
        """The message accepted; `replacing` its refusal of before (it came in a replay)."""
        await self.mark_all_finished([entry], {entry.besked_id} if replacing else set())

    async def mark_refused(
        self, refused: Iterable[tuple[UUID, Refusal, str | None]], replacing: set[UUID], day: date
    ) -> None:
        """Refusals (message id, refusal, the replay it came in), in one write before they are
        sent; `replacing` the message ids refused before (they came in another replay). Each
        leaves `beskeder` when the message ids' retention period since `day` has run."""
        docs = {str(b): refusal_document(b, r, g) for b, r, g in refused}
        await self._write_outcomes(docs, {str(b) for b in replacing})
        await self._expire(docs, day)

    async def _expire(self, ids: Iterable[str], day: date) -> None:
        """The retention job's queue entries of these `beskeder` ids (a refusal reaches no
        dfdg.joblog.changes, where the job learns of the accepted ones)."""
        keys = sorted({retention.queue_key(retention.BESKED, day, i) for i in ids})
        if keys:
            await insert_new(self.expiry, [{"_id": key} for key in keys])

    async def _write_outcomes(self, docs: dict[str, Document], replacing: set[str]) -> None:
        """Insert the new outcomes and replace the refusals they overrule, one write each."""
        new = [doc for key, doc in docs.items() if key not in replacing]
        replaces = [ReplaceOne({"_id": key}, doc) for key, doc in docs.items() if key in replacing]
        if new:
            try:
                await self.messages.insert_many(new, ordered=False)
            except BulkWriteError as error:
                _only_duplicates(error)
        if replaces:
            await self.messages.bulk_write(replaces, ordered=False)

    async def joblog_at(self, joblog_id: UUID, version: int) -> Joblog | None:
        """The content of one version (the base of a merge), if the history has it."""
        doc = await self.history.find_one({"_id": history_id(joblog_id, version)})
        return Joblog.model_validate(doc["joblog"]) if doc is not None else None

    async def projected(self, joblog_id: UUID) -> HistoryEntry | None:
        """The newest history entry as projected (a crash may have left later ones unprojected:
        `add_version` finds them)."""
        current = await self.joblogs.find_one({"_id": str(joblog_id)})
        if current is None:
            return None
        if "historik" not in current:  # projected before the projection kept the whole entry
            current = await self.history.find_one(
                {"_id": history_id(joblog_id, current["version"])}
            )
        return history_entry_of(current) if current is not None else None

    async def add_version(self, entry: HistoryEntry) -> HistoryEntry | None:
        """Insert a history entry. None if stored; if its version is taken (a concurrent writer,
        or this very message before a crash), the entry that holds it."""
        doc = history_document(entry)
        try:
            await self.history.insert_one(doc)
        except DuplicateKeyError:
            taken = await self.history.find_one({"_id": doc["_id"]})
            return history_entry_of(taken) if taken is not None else None
        return None

    async def project(self, entry: HistoryEntry) -> None:
        """Bring the current-version projection up to this history entry (never backwards), in
        one round trip: replace an older version, insert if there is none, else leave it."""
        doc = history_document(entry)
        current = {**doc, "_id": doc["joblogId"], "historik": doc["_id"]}
        with contextlib.suppress(DuplicateKeyError):  # the projection is this version or newer
            await self.joblogs.replace_one(
                {"_id": doc["joblogId"], "version": {"$lt": doc["version"]}}, current, upsert=True
            )

    # -- joblogs, a batch at a time: one round trip per collection ----------------------------

    async def finished_among(self, besked_ids: Iterable[UUID]) -> dict[UUID, Outcome]:
        """What became of those of these message ids decided before (one `_id $in`)."""
        wanted = sorted({str(b) for b in besked_ids})
        if not wanted:
            return {}
        found = self.messages.find({"_id": {"$in": wanted}})
        return {UUID(doc["_id"]): outcome async for doc in found if (outcome := outcome_of(doc))}

    async def projected_among(
        self, joblog_ids: Iterable[UUID]
    ) -> tuple[dict[UUID, HistoryEntry], dict[UUID, tuple[UUID, int]]]:
        """The newest projected entry of each of these joblogs that exists (as `projected`), and
        the earlier entries the same batch made of them (message id -> joblogId, version: see
        `project_all`), all in one `_id $in`."""
        wanted = sorted({str(j) for j in joblog_ids})
        if not wanted:
            return {}, {}
        docs = await self.joblogs.find({"_id": {"$in": wanted}}).to_list()
        earlier = {
            UUID(made["beskedId"]): (UUID(d["_id"]), made["version"])
            for d in docs
            for made in d.get(BATCH_FIELD, [])
        }
        old = [history_id(d["_id"], d["version"]) for d in docs if "historik" not in d]
        if old:  # projected before the projection kept the whole entry
            older = {d["_id"]: d for d in await self.history.find({"_id": {"$in": old}}).to_list()}
            found = (
                d if "historik" in d else older.get(history_id(d["_id"], d["version"]))
                for d in docs
            )
            docs = [d for d in found if d is not None]
        entries = (history_entry_of(d) for d in docs)
        return {e.joblog_id: e for e in entries}, earlier

    async def entries_at(
        self, keys: Iterable[tuple[UUID, int]]
    ) -> dict[tuple[UUID, int], HistoryEntry]:
        """The history entries of these (joblogId, version) that exist (one `_id $in`)."""
        wanted = sorted({history_id(j, v) for j, v in keys})
        if not wanted:
            return {}
        docs = await self.history.find({"_id": {"$in": wanted}}).to_list()
        entries = (history_entry_of(d) for d in docs)
        return {(e.joblog_id, e.version): e for e in entries}

    async def add_versions(
        self, entries: list[HistoryEntry]
    ) -> dict[tuple[UUID, int], HistoryEntry | None]:
        """Insert history entries (unordered: each stands alone). The versions that were taken
        (a concurrent writer, or these very messages before a crash), each with the entry that
        holds it (None should it be gone again); the others are stored."""
        if not entries:
            return {}
        docs = [history_document(e) for e in entries]
        try:
            await self.history.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            taken = [docs[e["index"]] for e in _only_duplicates(error)]
            keys = [(UUID(d["joblogId"]), d["version"]) for d in taken]
            holders = await self.entries_at(keys)
            return {key: holders.get(key) for key in keys}
        return {}

    async def project_all(self, entries: Iterable[HistoryEntry], existing: set[UUID]) -> None:
        """`project` for many entries: the newest of each joblog, naming the earlier entries the
        same batch made of it (`BATCH_FIELD`): should the batch come again before it finished,
        its earlier messages find what they stored under the newer projection
        (`projected_among`) instead of being decided again against it. `existing`: the joblogs
        that had a projection when the batch read them. A new joblog's projection is inserted
        (one `insert_many`), an existing one replaced if older (one `bulk_write`, no upsert:
        a duplicate key in a bulk of upserts is answered in a form pymongo cannot read by
        FerretDB); one inserted by another writer meanwhile is replaced instead."""
        by_joblog: dict[UUID, list[HistoryEntry]] = {}
        for entry in entries:
            by_joblog.setdefault(entry.joblog_id, []).append(entry)
        new: list[Document] = []
        replaces: list[ReplaceOne[Document]] = []
        for joblog_id, made in by_joblog.items():
            made.sort(key=lambda e: e.version)
            doc = history_document(made[-1])
            current = {**doc, "_id": doc["joblogId"], "historik": doc["_id"]}
            if len(made) > 1:
                current[BATCH_FIELD] = [
                    {"beskedId": str(e.besked_id), "version": e.version} for e in made[:-1]
                ]
            if joblog_id in existing:
                replaces.append(_replace_older(current))
            else:
                new.append(current)
        if new:
            try:
                await self.joblogs.insert_many(new, ordered=False)
            except BulkWriteError as error:  # projected meanwhile: this version or another
                replaces.extend(_replace_older(new[e["index"]]) for e in _only_duplicates(error))
        if replaces:
            await self.joblogs.bulk_write(replaces, ordered=False)

    async def mark_all_finished(
        self, entries: Iterable[HistoryEntry], replacing: Iterable[UUID] = ()
    ) -> None:
        """`mark_finished` for many messages in one insert (the twins of a finished one kept),
        `replacing` the refusals of those that came in a replay."""
        docs = {
            str(e.besked_id): {
                "_id": str(e.besked_id),
                "historik": history_id(e.joblog_id, e.version),
            }
            for e in entries
        }
        await self._write_outcomes(docs, {str(b) for b in replacing})

    # -- citizen status and exemptions -----------------------------------------------------

    async def add_status(self, message: StatusMessage, received: datetime) -> bool:
        """Store a status message; False if it was already stored (redelivery)."""
        return await _insert_once(
            self.status, {"_id": str(message.messageId), **_plain(message), "modtaget": received}
        )

    async def add_exemption(self, message: ExemptionMessage, received: datetime) -> bool:
        return await _insert_once(
            self.exemptions,
            {"_id": str(message.messageId), **_plain(message), "modtaget": received},
        )

    async def exemption_outcome(self, message_id: UUID) -> Outcome | None:
        """What became of this fritagelse message before: stored (accepted), or refused (its
        marker `fritagelse:<messageId>` in `beskeder`, as a joblog message's), if decided."""
        if await self.exemptions.find_one({"_id": str(message_id)}, {"_id": 1}) is not None:
            return Outcome()  # accepted (in a replay after a refusal, too)
        return outcome_of(await self.messages.find_one({"_id": f"{EXEMPTION_KEY}{message_id}"}))

    async def mark_exemption_refused(
        self, message_id: UUID, refusal: Refusal, gentagelse: str | None, day: date
    ) -> None:
        """The fritagelse message refused (before the refusal is sent), replacing its refusal
        of before if it came in a replay."""
        doc = refusal_document(message_id, refusal, gentagelse)
        key = f"{EXEMPTION_KEY}{message_id}"
        await self.messages.replace_one({"_id": key}, {**doc, "_id": key}, upsert=True)
        await self._expire([key], day)

    async def mark_status_done(self, message_id: UUID) -> None:
        """The status message's effects (snapshot, notice to the notifier) went out."""
        with contextlib.suppress(DuplicateKeyError):
            await self.published.insert_one({"_id": f"status:{message_id}"})

    async def status_done(self, message_id: UUID) -> bool:
        return await self.published.find_one({"_id": f"status:{message_id}"}) is not None


def history_document(entry: HistoryEntry) -> Document:
    """A history entry as stored: the stored version plus how it came to be."""
    return {
        "_id": history_id(entry.joblog_id, entry.version),
        **_plain(entry.stored),
        "handling": entry.handling.value,
        "beskedId": str(entry.besked_id),
        "tidspunkt": entry.tidspunkt,
        "accepteret": entry.accepteret,
        "merge": merge_document(entry.merge) if entry.merge is not None else None,
    }


def history_entry_of(doc: Document) -> HistoryEntry:
    """A stored history entry (or a projection, which holds the whole entry) as a record."""
    return HistoryEntry(
        stored=stored_from(doc),
        handling=Handling(doc["handling"]),
        besked_id=UUID(doc["beskedId"]),
        tidspunkt=doc["tidspunkt"],
        accepteret=doc["accepteret"],
        merge=merge_report_of(doc.get("merge")),
    )


def history_doc(
    entry: StoredJoblog,
    handling: Handling,
    besked_id: UUID,
    tidspunkt: datetime,
    accepted: datetime,
    merge: MergeReport | None,
) -> Document:
    """A history entry as stored, from its parts (the benchmark's seeding)."""
    return history_document(HistoryEntry(entry, handling, besked_id, tidspunkt, accepted, merge))


def merge_document(report: MergeReport) -> Document:
    return {
        "grundversion": report.grundversion,
        "mergedAgainst": report.merged_against,
        "baseMissing": report.base_missing,
        "fields": [
            {"field": d.field, "winner": d.winner, "reason": d.reason} for d in report.fields
        ],
    }


def merge_report_of(doc: Document | None) -> MergeReport | None:
    if doc is None:
        return None
    return MergeReport(
        grundversion=doc["grundversion"],
        merged_against=doc["mergedAgainst"],
        base_missing=doc["baseMissing"],
        fields=tuple(FieldDecision(d["field"], d["winner"], d["reason"]) for d in doc["fields"]),
    )


def _plain(model: Any) -> Document:
    """A model as BSON-ready values: UUIDs as strings, dates as ISO strings, datetimes kept."""
    data: Document = model.model_dump(mode="python")
    return {k: _bson(v) for k, v in data.items()}


def _bson(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _bson(v) for k, v in value.items() if v is not None}
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _replace_older(current: Document) -> ReplaceOne[Document]:
    """Replace the projection if it holds an older version (else leave it)."""
    return ReplaceOne({"_id": current["_id"], "version": {"$lt": current["version"]}}, current)


def refusal_document(besked_id: UUID, refusal: Refusal, gentagelse: str | None) -> Document:
    afvist = {"aarsag": refusal.reason.value, "besked": refusal.message, "felt": refusal.field}
    return {"_id": str(besked_id), "afvist": afvist, "gentagelse": gentagelse}


def outcome_of(doc: Document | None) -> Outcome | None:
    if doc is None:
        return None
    if (afvist := doc.get("afvist")) is None:
        return Outcome()
    refusal = Refusal(Reason(afvist["aarsag"]), afvist["besked"], afvist.get("felt"))
    return Outcome(refusal, doc.get("gentagelse"))


def _only_duplicates(error: BulkWriteError) -> list[Document]:
    """The write errors of a bulk write, when all are duplicate keys; else the error again."""
    errors: list[Document] = error.details.get("writeErrors", [])
    if error.details.get("writeConcernErrors") or any(e.get("code") != 11000 for e in errors):
        raise error
    return errors


async def _insert_once(collection: Any, doc: Document) -> bool:
    try:
        await collection.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True
