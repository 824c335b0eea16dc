"""Udsøgning memory: the CSV extraction streams, so its peak memory must not grow with the number
of citizens. Measured with tracemalloc for two population sizes, against a raw baseline in the
same run (reading the same status documents into one list, which does grow).

    .venv/bin/python -m bench.udsoegning_memory [N]   (writes bench/results/udsoegning_memory.json)
"""

from __future__ import annotations

import asyncio
import random
import sys
import tracemalloc
import uuid
from datetime import UTC, date, datetime

from pymongo import AsyncMongoClient

from bench.common import write_result
from services.jobcenter_api.access_log import AccessLog
from services.jobcenter_api.extraction import order, start
from tests.harness import infrastructure, new_cpr, test_settings


async def seed(db, citizens: int, rng: random.Random) -> None:
    """Citizens of jobcenter 101 with a status and some joblog history, written directly."""
    now = datetime.now(UTC)
    statuses, history = [], []
    for _ in range(citizens):
        cpr = new_cpr(rng)
        statuses.append({
            "_id": str(uuid.uuid4()), "messageId": str(uuid.uuid4()), "cpr": cpr,
            "jobcenter": "101", "akasseNr": None, "maalgruppe": "dagpenge",
            "gyldigFra": "2026-01-01", "gyldigTil": None, "tidspunkt": now, "modtaget": now,
        })  # fmt: skip
        for version in range(rng.randrange(4)):
            history.append({
                "_id": f"{uuid.uuid4()}:1", "joblogId": str(uuid.uuid4()), "cpr": cpr,
                "version": 1, "handling": "opret", "accepteret": now, "v": version,
            })  # fmt: skip
    await db.status_messages.insert_many(statuses)
    if history:
        await db.joblog_history.insert_many(history)


async def extraction_peak(db) -> tuple[int, int]:
    """(peak bytes, rows) of one whole extraction, streamed and discarded chunk by chunk."""
    now = datetime.now(UTC)
    wanted = order("101", "2026-01-01", date.today().isoformat(), None, False, None, now, 400)
    tracemalloc.start()
    extraction = await start(db, AccessLog(db), wanted, "bench", now)
    async for _piece in extraction.csv():
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, extraction.rows


async def baseline_peak(db) -> int:
    tracemalloc.start()
    docs = await db.status_messages.find({"jobcenter": "101"}).to_list()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del docs
    return peak


async def main(n: int) -> None:
    settings = test_settings(infrastructure())
    mongo: AsyncMongoClient[dict] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    db = mongo[settings.mongodb_database]
    figures: dict[str, object] = {}
    rng = random.Random(7)
    try:
        seeded = 0
        for size in (n, 4 * n):
            await seed(db, size - seeded, rng)
            seeded = size
            peak, rows = await extraction_peak(db)
            figures[f"citizens_{size}_rows"] = rows
            figures[f"citizens_{size}_extraction_peak_kib"] = peak // 1024
            figures[f"citizens_{size}_raw_list_peak_kib"] = await baseline_peak(db) // 1024
        small, large = (figures[f"citizens_{s}_extraction_peak_kib"] for s in (n, 4 * n))
        figures["extraction_growth_4x_citizens"] = round(int(large) / max(1, int(small)), 2)
        raw_small, raw_large = (figures[f"citizens_{s}_raw_list_peak_kib"] for s in (n, 4 * n))
        figures["raw_list_growth_4x_citizens"] = round(int(raw_large) / max(1, int(raw_small)), 2)
    finally:
        await mongo.drop_database(settings.mongodb_database)
        await mongo.close()
    write_result("udsoegning_memory", figures)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
