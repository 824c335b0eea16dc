"""Reads the udsøgning's facts from DFDG's read models (shared/readmodel/updates.py) in chunks of
citizens, in cpr order, so an extraction of any size runs in constant memory and costs what the
jobcenter's citizens cost, whatever the size of the country: the jobcenter's citizens are an
`_id` range of `jobcenter_borgere`, each chunk's documents one `_id` `$in` of `borgere` and one
`$or` of the citizens' `_id` ranges of `aktivitet`.

`known_by` is the as-of cut: only what the platform had received before then is used (status
and fritagelse messages, accepted joblog changes, notices issued), which is how an auditor sees
an extraction as it looked on an earlier day. None (an extraction as of now) uses everything
stored: what was received at the very instant of the extraction counts too (with the simulated
clock that is the whole of the current tick).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import bson
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.jobcenter_api.udsoegning import CitizenFacts, JoblogFact, NoticeFact
from shared.contract.citizen import (
    ExemptionMessage,
    StatusMessage,
    exemption_periods,
    timeline,
    within_stays,
)
from shared.contract.tid import as_utc
from shared.platform.db import batched
from shared.readmodel.aktivitet import cpr_of, filters, with_activity
from shared.readmodel.document import Document
from shared.readmodel.updates import ACTIVITY, CITIZENS, MEMBERS, jobcenter_range

CHUNK = 200
DECODED: CodecOptions[Document] = CodecOptions(tz_aware=True)
RAW: CodecOptions[Any] = CodecOptions(document_class=RawBSONDocument, tz_aware=True)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _known(at: Any, known_by: datetime | None) -> bool:
    """Received before the cut (a record without its time predates the read model's times)."""
    return known_by is None or at is None or as_utc(at) < known_by


async def _members(
    db: AsyncDatabase[Document], kommunekode: str, known_by: datetime | None
) -> AsyncIterator[str]:
    """Citizens any status message placed at this jobcenter (received before the cut), in cpr
    order: one `_id` range."""
    cursor = (
        db[MEMBERS]
        .find({"_id": jobcenter_range(kommunekode)})
        .sort("_id", ASCENDING)
        .batch_size(CHUNK)  # the server's batches too stay the size of a chunk
    )
    async for doc in cursor:
        if _known(doc.get("modtaget"), known_by):
            yield doc["_id"].partition(":")[2]


async def candidates(
    db: AsyncDatabase[Document], kommunekode: str, known_by: datetime | None
) -> AsyncIterator[list[str]]:
    """The jobcenter's citizens, in cpr order, in chunks."""
    async for chunk in batched(_members(db, kommunekode, known_by), CHUNK):
        yield chunk


async def count_candidates(
    db: AsyncDatabase[Document], kommunekode: str, known_by: datetime | None
) -> int:
    """How many citizens `candidates` gives (the same range, counted as it streams)."""
    return sum([1 async for _ in _members(db, kommunekode, known_by)])


@dataclass(frozen=True)
class ChunkDocuments:
    """The read-model documents of a chunk of citizens, as read (turned into facts off the
    event loop), and the as-of cut to apply."""

    cprs: list[str]
    citizens: list[Document]
    activity: list[Document]
    known_by: datetime | None = None


async def documents_of(
    db: AsyncDatabase[Document], cprs: list[str], known_by: datetime | None
) -> ChunkDocuments:
    """The documents of a chunk of citizens and their activity: a query each, by `_id`. They
    arrive as raw BSON and are decoded in the rendering thread (`facts_from`), not on the event
    loop."""
    raw = db[CITIZENS].with_options(codec_options=RAW)
    raw_activity = db[ACTIVITY].with_options(codec_options=RAW)
    async with _lane():  # the chunk's queries at once
        citizens, *activity = await asyncio.gather(
            raw.find({"_id": {"$in": cprs}}).to_list(),
            *(raw_activity.find(where).to_list() for where in filters(cprs)),
        )
    return ChunkDocuments(cprs, citizens, [doc for part in activity for doc in part], known_by)


_lanes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _lane() -> asyncio.Semaphore:
    """One chunk read at a time for all the extractions of a process (per event loop): a chunk
    costs the database a few hundred milliseconds of CPU, and the API's other requests must
    find it free enough to be answered meanwhile."""
    loop = asyncio.get_running_loop()
    if loop not in _lanes:
        _lanes[loop] = asyncio.Semaphore(1)
    return _lanes[loop]


async def chunks(
    db: AsyncDatabase[Document], kommunekode: str, known_by: datetime | None
) -> AsyncIterator[ChunkDocuments]:
    """Each chunk's documents, in cpr order; the next chunk is read while the caller works on
    this one (the database and the rendering then run at once; two chunks in memory at most)."""
    pending: asyncio.Task[ChunkDocuments] | None = None
    try:
        async for cprs in candidates(db, kommunekode, known_by):
            following = asyncio.create_task(documents_of(db, cprs, known_by))
            if pending is not None:
                yield await pending
            pending = following
        if pending is not None:
            done, pending = pending, None
            yield await done
    finally:
        if pending is not None:
            pending.cancel()


def facts_from(chunk: ChunkDocuments) -> list[CitizenFacts]:
    """The citizens' facts from their documents, as known by the cut (pure CPU work)."""
    found = {doc["_id"]: doc for doc in map(_decoded, chunk.citizens)}
    activity: dict[str, list[Document]] = {}
    for entry in sorted(map(_decoded, chunk.activity), key=lambda e: e["_id"]):
        activity.setdefault(cpr_of(entry["_id"]), []).append(entry)
    return [
        citizen_facts(cpr, with_activity(found.get(cpr, {}), activity.get(cpr, [])), chunk.known_by)
        for cpr in chunk.cprs
    ]


def _decoded(doc: Document) -> Document:
    if isinstance(doc, RawBSONDocument):
        return bson.decode(doc.raw, DECODED)
    return doc


def citizen_facts(cpr: str, doc: Document, known_by: datetime | None) -> CitizenFacts:
    received = doc.get("modtaget", {})

    def known(message: Document) -> bool:
        return _known(received.get(message["messageId"]), known_by)

    status = [StatusMessage.model_validate(m) for m in doc.get("status", []) if known(m)]
    # in the order received, as the notifier reads them: a later grant of an exemptionId
    # replaces an earlier one (shared.contract.citizen.exemption_periods); ties keep the stored
    # order
    exemptions = sorted(
        (m for m in doc.get("fritagelser", []) if known(m)),
        key=lambda m: as_utc(received[m["messageId"]]) if m["messageId"] in received else _EPOCH,
    )
    activity: list[datetime] = []
    created: dict[str, datetime] = {}
    deleted: dict[str, datetime] = {}
    for entry in doc.get("aktivitet", []):
        at = as_utc(entry["accepteret"])
        if not _known(at, known_by):
            continue
        activity.append(at)
        if entry["handling"] == "opret":
            created[entry["joblogId"]] = min(at, created.get(entry["joblogId"], at))
        elif entry["handling"] == "slet":
            deleted[entry["joblogId"]] = min(at, deleted.get(entry["joblogId"], at))
    notices = [
        NoticeFact(as_utc(n["forfaldt"]), as_utc(n["udstedt"]))
        for n in doc.get("adviseringer", {}).values()
        if _known(n["udstedt"], known_by)
    ]
    periods = timeline(status)
    granted = exemption_periods(ExemptionMessage.model_validate(m) for m in exemptions)
    return CitizenFacts(
        cpr=cpr,
        periods=periods,
        exemptions=within_stays(granted, periods),
        activity=sorted(activity),
        joblogs=[JoblogFact(i, at, deleted.get(i)) for i, at in created.items()],
        notices=notices,
    )
