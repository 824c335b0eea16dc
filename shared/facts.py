"""A citizen's facts in DFDG, one document per citizen: the `borgere` collection.

Storage keeps the records (`status_messages`, `exemption_messages`, `joblog_history`) and, for
reading, one document per citizen (`_id` = cpr) that gathers what the rules need:

- `status`: the status messages (as sent), `fritagelser`: the exemption messages,
- `jobcentre`: every jobcenter the citizen has had, `joblogs`: his joblog ids,
- `aktivitet`: every accepted joblog change {joblogId, version, handling, accepteret},
- `senesteAktivitet`: when the platform last accepted one of his joblog changes.

Every lookup on the hot path is then by `_id`, which both MongoDB and FerretDB answer from an
index (FerretDB 1.24 on SQLite scans for any other filter). All updates are idempotent
(`$addToSet` of the same content, `$max`), so a redelivered message changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.citizen import (
    ExemptionMessage,
    ExemptionPeriod,
    Period,
    StatusMessage,
    exemption_periods,
    status_on,
    timeline,
)
from shared.db import Document
from shared.tid import as_utc


def as_content(message: StatusMessage | ExemptionMessage) -> dict[str, Any]:
    """A message as stored in the citizen document: JSON values, the same on every delivery."""
    return message.model_dump(mode="json")


@dataclass(frozen=True)
class Facts:
    """What the duty and advisering rules need about one citizen."""

    cpr: str
    periods: list[Period] = field(default_factory=list)
    exemptions: list[ExemptionPeriod] = field(default_factory=list)
    last_activity: datetime | None = None
    activities: list[datetime] = field(default_factory=list)
    """When each accepted joblog change was accepted (`aktivitet`), sorted."""


class FactsReader:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.citizens: AsyncCollection[Document] = db.borgere

    async def document(self, cpr: str) -> Document:
        return await self.citizens.find_one({"_id": cpr}) or {"_id": cpr}

    async def facts(self, cpr: str) -> Facts:
        doc = await self.document(cpr)
        last = doc.get("senesteAktivitet")
        return Facts(
            cpr,
            timeline(status_messages(doc)),
            exemption_periods(
                ExemptionMessage.model_validate(m) for m in doc.get("fritagelser", [])
            ),
            as_utc(last) if last else None,
            sorted(
                as_utc(a["accepteret"]) for a in doc.get("aktivitet", []) if a.get("accepteret")
            ),
        )

    async def status_on(self, cpr: str, day: date) -> Period | None:
        """The citizen's status (målgruppe, jobcenter, a-kasse) on a day."""
        return status_on(timeline(status_messages(await self.document(cpr))), day)

    async def joblog_ids(self, cpr: str) -> list[str]:
        return list((await self.document(cpr)).get("joblogs", []))


def status_messages(doc: Document | None, without: UUID | None = None) -> list[StatusMessage]:
    """The status messages in a citizen document; `without` leaves one out."""
    messages = (StatusMessage.model_validate(m) for m in (doc or {}).get("status", []))
    return [m for m in messages if m.messageId != without]


class FactsWriter:
    """Storage's side: keeps the citizen document up to date (idempotently)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.citizens: AsyncCollection[Document] = db.borgere

    async def create_indexes(self) -> None:
        await self.citizens.create_index("jobcentre")

    async def add_status(self, message: StatusMessage) -> Document | None:
        """Add a status message; returns the citizen document as it was before (None: new)."""
        return await self._upsert(
            message.cpr,
            {"$addToSet": {"status": as_content(message), "jobcentre": message.jobcenter}},
            ReturnDocument.BEFORE,
        )

    async def add_exemption(self, message: ExemptionMessage) -> None:
        await self._upsert(message.cpr, {"$addToSet": {"fritagelser": as_content(message)}})

    async def add_activity(
        self, cpr: str, joblog_id: str, version: int, handling: str, accepted: datetime
    ) -> Document:
        """Record an accepted joblog change; returns the citizen document after it."""
        entry = {"joblogId": joblog_id, "version": version, "handling": handling,
                 "accepteret": accepted}  # fmt: skip
        update = {
            "$addToSet": {"joblogs": joblog_id, "aktivitet": entry},
            "$max": {"senesteAktivitet": accepted},
        }
        return await self._upsert(cpr, update, ReturnDocument.AFTER) or {"_id": cpr}

    async def _upsert(
        self, cpr: str, update: Document, returning: bool = ReturnDocument.AFTER
    ) -> Document | None:
        """One round trip that also answers with the document. Two first writes for a new
        citizen (say his status and a fritagelse, handled in parallel) can both try to insert:
        the loser's DuplicateKeyError means the document exists now, so it is made again."""
        try:
            return await self.citizens.find_one_and_update(
                {"_id": cpr}, update, upsert=True, return_document=returning
            )
        except DuplicateKeyError:
            return await self.citizens.find_one_and_update(
                {"_id": cpr}, update, upsert=True, return_document=returning
            )
