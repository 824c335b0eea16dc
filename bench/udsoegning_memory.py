"""Udsøgning memory: the CSV extraction streams, so its peak memory must not grow with the number
of citizens. Measured with tracemalloc for two population sizes, against a raw baseline in the
same run (reading the same citizens' documents into one list, which does grow). The dates are
fixed (a first half of 2026 as of 30 June 2026), so the same run is valid whatever day it is.
It fails unless the peak for 4N citizens is below MAX_GROWTH times the peak for N.

    .venv/bin/python -m bench.udsoegning_memory [N]   (writes bench/results/udsoegning_memory.json)
"""

from __future__ import annotations

import asyncio
import random
import sys
import tracemalloc
import uuid
from datetime import UTC, date, datetime
from typing import Any

from pymongo import AsyncMongoClient

from bench.common import write_result
from harness import infrastructure, new_cpr, test_settings
from services.jobcenter_api.access_log import AccessLog
from services.jobcenter_api.extraction import order, start
from services.storage.repository import _plain as stored_message
from shared.contract.citizen import Maalgruppe, StatusMessage
from shared.readmodel import collections
from shared.readmodel import updates as read_model
from shared.readmodel.writer import ReadModelWriter

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)  # the extraction's "now" and the data's times
FRA, TIL = "2026-01-01", "2026-06-30"
MAX_GROWTH = 1.5  # streamed: the peak for 4N citizens stays below 1.5 times the peak for N


async def seed(db, citizens: int, rng: random.Random) -> None:
    """Citizens of jobcenter 101 with a status and some joblog activity: the records and the read
    models, made by the project's own updates (shared/readmodel/updates.py)."""
    now = NOW
    statuses, updates = [], []
    for _ in range(citizens):
        cpr = new_cpr(rng)
        message = StatusMessage(
            messageId=uuid.uuid4(), cpr=cpr, jobcenter="101", maalgruppe=Maalgruppe.DAGPENGE,
            gyldigFra=date.fromisoformat(FRA), tidspunkt=now,
        )  # fmt: skip
        statuses.append({"_id": str(message.messageId), **stored_message(message), "modtaget": now})
        updates += read_model.status_updates(message, now)
        for _version in range(rng.randrange(4)):
            joblog_id = str(uuid.uuid4())
            updates.append(read_model.activity_update(cpr, joblog_id, 1, "opret", now))
    await db[collections.STATUS_MESSAGES].insert_many(statuses)
    await ReadModelWriter(db).apply_bulk(updates)


async def extraction_peak(db) -> tuple[int, int]:
    """(peak bytes, rows) of one whole extraction, streamed and discarded chunk by chunk."""
    wanted = order("101", FRA, TIL, None, False, None, NOW, 400)
    tracemalloc.start()
    extraction = await start(db, AccessLog(db), wanted, "bench", NOW)
    async for _piece in extraction.csv():
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, extraction.rows


async def baseline_peak(db) -> int:
    tracemalloc.start()
    docs = await db[collections.CITIZENS].find({"jobcentre": "101"}).to_list()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del docs
    return peak


async def main(n: int) -> None:
    settings = test_settings(infrastructure())
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = mongo[settings.mongodb_database]
    figures: dict[str, object] = {"n": n, "fra": FRA, "til": TIL, "max_growth": MAX_GROWTH}
    rng = random.Random(7)
    try:
        seeded = 0
        peaks: list[int] = []
        raw_peaks: list[int] = []
        for size in (n, 4 * n):
            await seed(db, size - seeded, rng)
            seeded = size
            peak, rows = await extraction_peak(db)
            peaks.append(peak // 1024)
            raw_peaks.append(await baseline_peak(db) // 1024)
            figures[f"citizens_{size}_rows"] = rows
            figures[f"citizens_{size}_extraction_peak_kib"] = peaks[-1]
            figures[f"citizens_{size}_raw_list_peak_kib"] = raw_peaks[-1]
        figures["extraction_growth_4x_citizens"] = round(peaks[1] / max(1, peaks[0]), 2)
        figures["raw_list_growth_4x_citizens"] = round(raw_peaks[1] / max(1, raw_peaks[0]), 2)
    finally:
        await mongo.drop_database(settings.mongodb_database)
        await mongo.close()
    write_result("udsoegning_memory", figures)
    growth = figures["extraction_growth_4x_citizens"]
    print(f"extraction peak for {4 * n} citizens / for {n}: {growth} (must be < {MAX_GROWTH})")
    if not float(str(growth)) < MAX_GROWTH:
        sys.exit(f"the extraction's memory grows with the citizens: {growth} >= {MAX_GROWTH}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
