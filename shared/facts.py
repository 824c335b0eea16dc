"""Reading a citizen's facts from DFDG: status timeline, fritagelser, joblog activity, notices.

Storage writes these collections; the notifier and the jobcenter API only read them (through
this module), so the shape of the stored documents is known in one place:

- `status_messages` / `exemption_messages`: the messages as received (`_id` = messageId);
- `joblog_history`: every accepted joblog version, `accepteret` = when the platform accepted it;
- `notices`: the adviseringer sent (written by the notifier).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.citizen import (
    ExemptionMessage,
    ExemptionPeriod,
    Period,
    StatusMessage,
    exemption_periods,
    timeline,
)
from shared.db import Document
from shared.tid import as_utc


class FactsReader:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def status_messages(self, cpr: str) -> list[StatusMessage]:
        docs = await self.db.status_messages.find({"cpr": cpr}).to_list()
        return [StatusMessage.model_validate(doc) for doc in docs]

    async def timeline(self, cpr: str, without: UUID | None = None) -> list[Period]:
        """The status timeline; `without` leaves one message out (the state before it)."""
        messages = await self.status_messages(cpr)
        return timeline(m for m in messages if m.messageId != without)

    async def exemptions(self, cpr: str) -> list[ExemptionPeriod]:
        docs = await self.db.exemption_messages.find({"cpr": cpr}).to_list()
        return exemption_periods(ExemptionMessage.model_validate(doc) for doc in docs)

    async def last_activity(self, cpr: str) -> datetime | None:
        """When the platform last accepted a joblog change of the citizen (either front end)."""
        doc = await self.db.joblog_history.find_one(
            {"cpr": cpr}, {"accepteret": 1}, sort=[("accepteret", DESCENDING)]
        )
        return as_utc(doc["accepteret"]) if doc else None

    async def activity(self, cpr: str) -> list[tuple[str, datetime]]:
        """Every accepted joblog change as (joblogId, accepted at)."""
        cursor = self.db.joblog_history.find({"cpr": cpr}, {"joblogId": 1, "accepteret": 1})
        return [(doc["joblogId"], as_utc(doc["accepteret"])) async for doc in cursor]

    async def notices(self, cpr: str) -> list[Document]:
        return await self.db.notices.find({"cpr": cpr}).to_list()
