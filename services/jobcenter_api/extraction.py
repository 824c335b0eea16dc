"""The udsøgning as CSV text: the one implementation behind the HTTP endpoint and the operator's
command (`joblog udsoegning`, ops/udsoegning.py).

`order(...)` turns the query's text into validated criteria plus the as-of cut; `start(...)`
records the extraction in the access log; `Extraction.csv()` then yields the header and one
chunk of rows per chunk of candidate citizens (constant memory), records each chunk's citizens
in the access log and, when done or abandoned, the row count and whether it completed.

The event loop only waits for the database: a chunk's documents are turned into facts, rows and
CSV text in a worker thread (`render`, at most RENDER_THREADS at once for all extractions of the
process), so the API's other requests are answered while extractions run.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import anyio
from pymongo.asynchronous.database import AsyncDatabase

from services.jobcenter_api import loader
from services.jobcenter_api.access_log import AccessLog, ExtractionLog
from services.jobcenter_api.udsoegning import Criteria, CriteriaError, parse_date, rows
from shared.contract.tid import day_of, start_of_day
from shared.readmodel.document import Document

MEDIA_TYPE = "text/csv; charset=utf-8"
RENDER_THREADS = 1
_renderer = ThreadPoolExecutor(RENDER_THREADS, thread_name_prefix="udsoegning")


@dataclass(frozen=True)
class Order:
    """What was asked for: the criteria, the auditor's as-of day (if any) and the cut of what
    the platform knew (everything received before `known_by` is used; None: everything)."""

    criteria: Criteria
    as_of: date | None
    known_by: datetime | None

    def document(self) -> dict[str, Any]:
        """The criteria as recorded in the access log."""
        criteria = self.criteria
        return {
            "kommunekode": criteria.kommunekode,
            "fra": criteria.fra.isoformat(),
            "til": criteria.til.isoformat(),
            "maalgruppe": criteria.maalgruppe.value if criteria.maalgruppe else None,
            "kun_adviserede": criteria.kun_adviserede,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            **({"maanedlig": True} if criteria.maanedlig else {}),
        }


def order(
    kommunekode: str,
    fra: str,
    til: str,
    maalgruppe: str | None,
    kun_adviserede: bool,
    as_of: str | None,
    now: datetime,
    max_days: int,
    maanedlig: bool = False,
) -> Order:
    """Validated criteria from the query's text; raises CriteriaError (readable) otherwise.

    Without `as_of` the extraction is made as of `now`; with it, as it would have been made at
    the end of that day, from what the platform had received by then (not after today)."""
    today = day_of(now)
    as_of_day = parse_date("as_of", as_of) if as_of else None
    if as_of_day is not None and as_of_day > today:
        raise CriteriaError(
            f"as_of ({as_of_day.isoformat()}) is after today ({today.isoformat()})", "as_of"
        )
    criteria = Criteria.parse(
        kommunekode, fra, til, maalgruppe, kun_adviserede, as_of_day or today, maanedlig
    )
    criteria.validate(max_days)
    # as of now: everything stored, also what arrived at this very instant (a `$lt now` cut
    # would leave out what was received on the current tick of the simulated clock)
    known_by = None if as_of_day is None else start_of_day(as_of_day + timedelta(days=1))
    return Order(criteria, as_of_day, known_by)


@dataclass
class Extraction:
    """One extraction in progress; `rows` and `citizens` (candidates examined) grow per chunk."""

    db: AsyncDatabase[Document]
    access: ExtractionLog
    order: Order
    holder: str
    now: datetime
    entry: str
    rows: int = 0
    citizens: int = 0
    complete: bool = False

    async def candidates(self) -> int:
        """How many citizens will be examined (for progress reporting)."""
        return await loader.count_candidates(
            self.db, self.order.criteria.kommunekode, self.order.known_by
        )

    async def csv(self) -> AsyncIterator[str]:
        """The CSV text: the header, then one piece per chunk of candidates (possibly empty)."""
        criteria, known_by = self.order.criteria, self.order.known_by
        try:
            yield csv_line(criteria.header)
            loop = asyncio.get_running_loop()
            async for documents in loader.chunks(self.db, criteria.kommunekode, known_by):
                extracted, text = await loop.run_in_executor(_renderer, render, documents, criteria)
                await self.access.extracted(self.entry, self.holder, self.now, extracted)
                self.rows += len(extracted)
                self.citizens += len(documents.cprs)
                yield text
            self.complete = True
        finally:
            with anyio.CancelScope(shield=True):  # recorded also when the client went away
                await self.access.finish(self.entry, self.rows, self.complete)


async def start(
    db: AsyncDatabase[Document],
    access: AccessLog,
    order: Order,
    holder: str,
    now: datetime,
    **details: Any,
) -> Extraction:
    """Record the extraction in the access log (before any row is read) and return it; each
    citizen's entry will carry its criteria and user too."""
    details = {"kriterier": order.document(), **details}
    entry = await access.record(holder, "udsoegning", now, **details)
    return Extraction(db, access.of_extraction(details), order, holder, now, entry)


def render(documents: loader.ChunkDocuments, criteria: Criteria) -> tuple[list[str], str]:
    """A chunk's rows: the cprs extracted and their CSV text (CPU work, run in a thread)."""
    chunk = list(rows(loader.facts_from(documents), criteria))
    return [row.cpr for row in chunk], "".join(csv_line(row.cells()) for row in chunk)


def csv_line(cells: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow(cells)
    return out.getvalue()
