"""The access log: every read of citizens' data and every extraction, in DFDG's `access_log`.

One entry per request (who, when, what: the citizen or the criteria, how many rows), plus one
entry per citizen in an extraction, so a citizen's own log shows every extraction he was in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.db import Document


class AccessLog:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.entries = db.access_log

    async def create_indexes(self) -> None:
        await self.entries.create_index([("cpr", ASCENDING), ("tidspunkt", ASCENDING)])

    async def record(
        self, holder: str, what: str, at: datetime, cpr: str | None = None, **details: Any
    ) -> str:
        entry_id = str(uuid.uuid4())
        await self.entries.insert_one(
            {"_id": entry_id, "hvem": holder, "hvad": what, "tidspunkt": at, "cpr": cpr, **details}
        )
        return entry_id

    async def extracted(
        self, entry_id: str, holder: str, at: datetime, cprs: Iterable[str]
    ) -> None:
        """The citizens of one chunk of an extraction."""
        docs = [
            {"_id": f"{entry_id}:{cpr}", "hvem": holder, "hvad": "udsoegning_raekke",
             "tidspunkt": at, "cpr": cpr, "udsoegning": entry_id}
            for cpr in cprs
        ]  # fmt: skip
        if docs:
            await self.entries.insert_many(docs, ordered=False)

    async def finish(self, entry_id: str, rows: int, complete: bool) -> None:
        await self.entries.update_one(
            {"_id": entry_id}, {"$set": {"raekker": rows, "fuldfoert": complete}}
        )

    async def of_citizen(self, cpr: str) -> list[Document]:
        return (
            await self.entries.find({"cpr": cpr}, {"cpr": 0}).sort("tidspunkt", ASCENDING).to_list()
        )
