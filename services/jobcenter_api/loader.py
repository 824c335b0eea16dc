"""Reads the udsøgning's facts from DFDG in chunks of citizens, in cpr order, so an extraction
of any size runs in constant memory.

`known_by` is the as-of cut: only what the platform had received before then is used (status
and fritagelse messages, accepted joblog changes, notices issued), which is how an auditor sees
an extraction as it looked on an earlier day. None (an extraction as of now) uses everything
stored: what was received at the very instant of the extraction counts too (with the simulated
clock that is the whole of the current tick).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.jobcenter_api.udsoegning import CitizenFacts, JoblogFact, NoticeFact
from shared.citizen import ExemptionMessage, StatusMessage, exemption_periods, timeline
from shared.db import Document
from shared.tid import as_utc

CHUNK = 200


def _before(name: str, known_by: datetime | None) -> Document:
    return {} if known_by is None else {name: {"$lt": known_by}}


async def candidates(
    db: AsyncDatabase[Document], kommunekode: str, known_by: datetime | None
) -> AsyncIterator[list[str]]:
    """Citizens any status message ever placed at this jobcenter, in cpr order, in chunks."""
    cursor = db.status_messages.find(
        {"jobcenter": kommunekode, **_before("modtaget", known_by)}, {"cpr": 1, "_id": 0}
    ).sort("cpr", ASCENDING)
    chunk: list[str] = []
    async for doc in cursor:
        if chunk and chunk[-1] == doc["cpr"]:
            continue
        chunk.append(doc["cpr"])
        if len(chunk) > CHUNK:
            yield chunk[:-1]
            chunk = chunk[-1:]
    if chunk:
        yield chunk


async def count_candidates(
    db: AsyncDatabase[Document], kommunekode: str, known_by: datetime | None
) -> int:
    """How many citizens `candidates` gives (counted in the database, not in memory)."""
    cursor = await db.status_messages.aggregate(
        [
            {"$match": {"jobcenter": kommunekode, **_before("modtaget", known_by)}},
            {"$group": {"_id": "$cpr"}},
            {"$count": "n"},
        ]
    )
    found = await cursor.to_list()
    return int(found[0]["n"]) if found else 0


@dataclass(frozen=True)
class ChunkDocuments:
    """The stored documents of a chunk of citizens, as read (turned into facts off the loop)."""

    cprs: list[str]
    status: list[Document]
    exemptions: list[Document]
    history: list[Document]
    notices: list[Document]


async def documents_of(
    db: AsyncDatabase[Document], cprs: list[str], known_by: datetime | None
) -> ChunkDocuments:
    """The documents of a chunk of citizens (four queries per chunk)."""
    within = {"cpr": {"$in": cprs}}
    status = await db.status_messages.find({**within, **_before("modtaget", known_by)}).to_list()
    exemptions = await db.exemption_messages.find(
        {**within, **_before("modtaget", known_by)}
    ).to_list()
    history = await db.joblog_history.find(
        {**within, **_before("accepteret", known_by)},
        {"cpr": 1, "joblogId": 1, "accepteret": 1, "handling": 1},
    ).to_list()
    borger = {**within, "modtager": "borger", **_before("udstedt", known_by)}
    notices = await db.notices.find(borger, {"cpr": 1, "forfaldt": 1, "udstedt": 1}).to_list()
    return ChunkDocuments(cprs, status, exemptions, history, notices)


def facts_from(chunk: ChunkDocuments) -> list[CitizenFacts]:
    """The citizens' facts from their documents (pure CPU work, no I/O)."""
    status: dict[str, list[StatusMessage]] = defaultdict(list)
    for doc in chunk.status:
        status[doc["cpr"]].append(StatusMessage.model_validate(doc))
    # in the order received, as the notifier reads them: a later grant of an exemptionId
    # replaces an earlier one (shared.citizen.exemption_periods); ties keep the database's order
    received: dict[str, list[tuple[datetime, ExemptionMessage]]] = defaultdict(list)
    for doc in chunk.exemptions:
        received[doc["cpr"]].append((as_utc(doc["modtaget"]), ExemptionMessage.model_validate(doc)))
    exemptions = {
        cpr: [message for _, message in sorted(found, key=lambda pair: pair[0])]
        for cpr, found in received.items()
    }
    activity: dict[str, list[datetime]] = defaultdict(list)
    created: dict[str, dict[str, datetime]] = defaultdict(dict)
    deleted: dict[str, dict[str, datetime]] = defaultdict(dict)
    for doc in chunk.history:
        at = as_utc(doc["accepteret"])
        activity[doc["cpr"]].append(at)
        if doc["handling"] == "opret":
            created[doc["cpr"]][doc["joblogId"]] = at
        elif doc["handling"] == "slet":
            deleted[doc["cpr"]][doc["joblogId"]] = at
    notices: dict[str, list[NoticeFact]] = defaultdict(list)
    for doc in chunk.notices:
        notices[doc["cpr"]].append(NoticeFact(as_utc(doc["forfaldt"]), as_utc(doc["udstedt"])))
    return [
        CitizenFacts(
            cpr=cpr,
            periods=timeline(status[cpr]),
            exemptions=exemption_periods(exemptions.get(cpr, [])),
            activity=sorted(activity[cpr]),
            joblogs=[
                JoblogFact(joblog_id, at, deleted[cpr].get(joblog_id))
                for joblog_id, at in created[cpr].items()
            ],
            notices=notices[cpr],
        )
        for cpr in chunk.cprs
    ]


async def facts_of(
    db: AsyncDatabase[Document], cprs: list[str], known_by: datetime | None
) -> list[CitizenFacts]:
    """The facts of a chunk of citizens."""
    return facts_from(await documents_of(db, cprs, known_by))
