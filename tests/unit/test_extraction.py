"""The udsøgning's streaming leaves the event loop free: a chunk's CPU work (facts, rows, CSV)
runs in a worker thread, so a slow chunk does not hold up the API's other requests."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.jobcenter_api import access_log, extraction, loader
from services.jobcenter_api.udsoegning import Criteria

NOW = datetime(2026, 2, 1, 12, tzinfo=UTC)
CPRS = ["0101901234", "0202901234", "0303901234"]


class Access:
    def __init__(self) -> None:
        self.extracted_cprs: list[str] = []
        self.finished: tuple[int, bool] | None = None

    async def extracted(self, entry: str, holder: str, at: datetime, cprs: Iterable[str]) -> None:
        self.extracted_cprs.extend(cprs)

    async def finish(self, entry: str, rows: int, complete: bool) -> None:
        self.finished = (rows, complete)


def citizen(cpr: str) -> dict[str, Any]:
    """A citizen's read-model document (shared/readmodel/updates.py) with one status message."""
    message_id = "6f1c2d3e-0000-4000-8000-000000000001"
    status = {
        "messageId": message_id, "cpr": cpr, "jobcenter": "101", "maalgruppe": "dagpenge",
        "gyldigFra": "2026-01-05", "tidspunkt": NOW.isoformat(),
    }  # fmt: skip
    return {"_id": cpr, "status": [status], "modtaget": {message_id: NOW}}


@pytest.fixture
def chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three chunks of one citizen each, as if read from the database."""

    async def candidates(db: Any, kommunekode: str, known_by: Any) -> AsyncIterator[list[str]]:
        for cpr in CPRS:
            yield [cpr]

    async def documents_of(db: Any, cprs: list[str], known_by: Any) -> loader.ChunkDocuments:
        await asyncio.sleep(0)  # a database round trip
        return loader.ChunkDocuments(cprs, [citizen(c) for c in cprs], [])

    monkeypatch.setattr(loader, "candidates", candidates)
    monkeypatch.setattr(loader, "documents_of", documents_of)


def an_extraction(access: Access) -> extraction.Extraction:
    criteria = Criteria("101", date(2026, 1, 1), date(2026, 1, 31), None, False, date(2026, 2, 1))
    order = extraction.Order(criteria, None, None)
    return extraction.Extraction(None, access, order, "jobcenter:101", NOW, "entry")  # type: ignore[arg-type]


async def test_the_rows_are_made_in_a_worker_thread(chunks: None, monkeypatch) -> None:
    threads: list[threading.Thread] = []
    real_render = extraction.render

    def spy(documents: loader.ChunkDocuments, criteria: Criteria) -> tuple[list[str], str]:
        threads.append(threading.current_thread())
        return real_render(documents, criteria)

    monkeypatch.setattr(extraction, "render", spy)
    access = Access()
    text = "".join([piece async for piece in an_extraction(access).csv()])
    assert text.count("\r\n") == 1 + len(CPRS)
    assert access.extracted_cprs == CPRS and access.finished == (3, True)
    assert len(threads) == 3 and threading.main_thread() not in threads


async def test_a_slow_chunk_does_not_hold_the_event_loop(chunks: None, monkeypatch) -> None:
    """The rendering runs beside the event loop: while a chunk renders (CPU work holding the
    GIL, 0.3 s), the loop goes on ticking. Counted, not timed: a chunk rendered on the loop's
    own thread sees no tick during it, however fast or slow the machine."""
    real_render = extraction.render
    ticks = 0
    during: list[int] = []

    def slow(documents: loader.ChunkDocuments, criteria: Criteria) -> tuple[list[str], str]:
        before = ticks
        busy_until = time.perf_counter() + 0.3
        while time.perf_counter() < busy_until:
            pass
        during.append(ticks - before)
        return real_render(documents, criteria)

    monkeypatch.setattr(extraction, "render", slow)
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.02)  # ticking
    pieces = [piece async for piece in an_extraction(Access()).csv()]
    done = True
    await ticking
    assert len(pieces) == 4 and len(during) == 3
    assert all(n >= 1 for n in during), f"ticks while each chunk rendered: {during}"


async def test_an_abandoned_extraction_is_recorded_as_incomplete(chunks: None) -> None:
    access = Access()
    stream = an_extraction(access).csv()
    await anext(stream)
    await anext(stream)
    await stream.aclose()
    assert access.finished == (1, False)


class Entries:
    """The access_log collection: what was written, call by call."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, Any]] = []

    async def insert_one(self, doc: dict[str, Any]) -> None:
        self.writes.append(("insert_one", doc))

    async def insert_many(self, docs: list[dict[str, Any]], ordered: bool = True) -> None:
        self.writes.append(("insert_many", docs))

    async def update_one(self, query: dict[str, Any], update: dict[str, Any]) -> None:
        self.writes.append(("update_one", update))


@pytest.mark.parametrize("simulated", [False, True])
async def test_each_citizen_entry_says_who_when_and_why_in_one_write_per_chunk(
    chunks: None, simulated: bool
) -> None:
    entries = Entries()
    db: Any = {"access_log": entries}
    log = access_log.AccessLog(db, simulated_clock=simulated)
    criteria = Criteria("101", date(2026, 1, 1), date(2026, 1, 31), None, False, date(2026, 1, 20))
    asked = extraction.Order(criteria, date(2026, 1, 20), None)
    before = datetime.now(UTC)
    started = await extraction.start(db, log, asked, "revisor:star", NOW, bruger="anna", sti="/x")
    text = "".join([piece async for piece in started.csv()])

    kinds = [kind for kind, _ in entries.writes]
    assert kinds == ["insert_one"] + ["insert_many"] * len(CPRS) + ["update_one"]  # per chunk
    assert text.count("\r\n") == 1 + len(CPRS)
    rows = [doc for kind, docs in entries.writes if kind == "insert_many" for doc in docs]
    assert [row["cpr"] for row in rows] == CPRS
    for row in rows:
        assert row["hvem"] == "revisor:star" and row["hvad"] == "udsoegning_raekke"
        assert row["udsoegning"] == started.entry and row["bruger"] == "anna"
        assert row["kriterier"] == {
            "kommunekode": "101", "fra": "2026-01-01", "til": "2026-01-31", "maalgruppe": None,
            "kun_adviserede": False, "as_of": "2026-01-20",
        }  # fmt: skip
        assert before <= row["tidspunkt"] <= datetime.now(UTC)  # the wall clock, not NOW
        assert row.get("platformtid") == (NOW if simulated else None)
        assert "sti" not in row
