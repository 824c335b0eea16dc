"""The access log: every read of citizens' data and every extraction, in DFDG's `access_log`.

One entry per request (who, when, what: the citizen or the criteria, how many rows), plus one
entry per citizen in an extraction, so a citizen's own log answers "who looked at me, when and
why" entry by entry: the holder (`hvem`, and a JWT's subject as `bruger`), when the read really
happened (`tidspunkt`, the wall clock; with a simulated clock also the platform's time,
`platformtid`), and for an extraction its criteria (`kriterier`: kommunekode, period `fra`-`til`,
`maalgruppe`, `kun_adviserede`, `as_of`) beside the extraction's own entry (`udsoegning`). A
chunk of an extraction is still one write (`insert_many`), however many citizens it holds.

An entry's `_id` is a UUIDv7 of the platform's time of the read, and a citizen's entry in an
extraction is "<the extraction's id>:<cpr>": the log of a period is one `_id` range, which the
retention job deletes once its period (5 years) has run (shared/contract/retention.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.contract.retention import uuid7
from shared.readmodel import collections
from shared.readmodel.document import Document

ROW = "udsoegning_raekke"
UNKNOWN = "ukendt"
"""`hvem` of a refused request without a holder (no token, an unknown one, a JWT refused)."""
ANONYMOUS_CAP = 50
ANONYMOUS_WINDOW_SECONDS = 60
ANONYMOUS_WINDOWS_KEPT = 60
"""Refusals without a holder are sampled: at most ANONYMOUS_CAP entries per window of
ANONYMOUS_WINDOW_SECONDS, the last ANONYMOUS_WINDOWS_KEPT windows kept (an hour): never more
than 3,000 entries, however much an anonymous client sends (each is counted in the API's
metrics). Entries are named by window and number, so API processes sharing the database
overwrite each other's samples of a window rather than add to them."""
ROW_CONTEXT = ("kriterier", "bruger")
"""What an extraction's entry passes on to each of its citizens' entries."""


class AccessLog:
    def __init__(self, db: AsyncDatabase[Document], simulated_clock: bool = False) -> None:
        self.entries = db[collections.ACCESS_LOG]
        self.simulated_clock = simulated_clock
        self._window = -1
        self._sampled = 0

    async def create_indexes(self) -> None:
        await self.entries.create_index([("cpr", ASCENDING), ("tidspunkt", ASCENDING)])

    def when(self, at: datetime) -> dict[str, datetime]:
        """When an entry's read happened: the wall clock now, and `at` (the platform's time the
        request was served at) where a simulated clock runs."""
        stamp = {"tidspunkt": datetime.now(UTC)}
        if self.simulated_clock:
            stamp["platformtid"] = at
        return stamp

    async def record(
        self, holder: str, what: str, at: datetime, cpr: str | None = None, **details: Any
    ) -> str:
        entry_id = str(uuid7(at))  # by the time read: the retention job deletes by `_id` range
        await self.entries.insert_one(
            {"_id": entry_id, "hvem": holder, "hvad": what, **self.when(at), "cpr": cpr, **details}
        )
        return entry_id

    async def sample_anonymous(self, at: datetime, **details: Any) -> str | None:
        """A refusal without a holder, as one of the window's samples (None once the window
        has ANONYMOUS_CAP): filed under no citizen, whatever the path names."""
        window = int(time.time() // ANONYMOUS_WINDOW_SECONDS)
        if window != self._window:
            self._window, self._sampled = window, 0
            oldest = window - ANONYMOUS_WINDOWS_KEPT + 1
            await self.entries.delete_many({"hvem": UNKNOWN, "vindue": {"$lt": oldest}})
        if self._sampled >= ANONYMOUS_CAP:
            return None
        entry_id = f"{UNKNOWN}:{window}:{self._sampled}"
        self._sampled += 1
        entry = {"hvem": UNKNOWN, "hvad": "afvist", **self.when(at), "cpr": None, **details}
        await self.entries.replace_one({"_id": entry_id}, {**entry, "vindue": window}, upsert=True)
        return entry_id

    def of_extraction(self, details: Mapping[str, Any]) -> ExtractionLog:
        """The log of an extraction recorded with `details` (its criteria, its user)."""
        return ExtractionLog(self, {name: details[name] for name in ROW_CONTEXT if name in details})

    async def extracted(
        self, entry_id: str, holder: str, at: datetime, cprs: Iterable[str], **context: Any
    ) -> None:
        """The citizens of one chunk of an extraction, each with the extraction's `context`."""
        when = self.when(at)
        docs = [
            {"_id": f"{entry_id}:{cpr}", "hvem": holder, "hvad": ROW, **when, "cpr": cpr,
             "udsoegning": entry_id, **context}
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


@dataclass(frozen=True)
class ExtractionLog:
    """The access log as one extraction writes it: each chunk's citizens carry the criteria and
    user of the extraction (`AccessLog.of_extraction`)."""

    log: AccessLog
    context: dict[str, Any] = field(default_factory=dict)

    async def extracted(
        self, entry_id: str, holder: str, at: datetime, cprs: Iterable[str]
    ) -> None:
        await self.log.extracted(entry_id, holder, at, cprs, **self.context)

    async def finish(self, entry_id: str, rows: int, complete: bool) -> None:
        await self.log.finish(entry_id, rows, complete)
