"""The read-model updates (shared/readmodel/updates.py) on the real database: applied one by one, in
bulk, or folded into documents and inserted (the benchmark's seeding), they make the same
documents, and applying them again changes nothing."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from harness import new_cpr
from shared.contract.citizen import ExemptionMessage, StatusMessage
from shared.readmodel import updates as read_model
from shared.readmodel.writer import ReadModelWriter


def updates(rng: random.Random) -> list[read_model.Update]:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    result: list[read_model.Update] = []
    for _ in range(5):
        cpr = new_cpr(rng)
        at = base + timedelta(hours=rng.randrange(500))
        status = StatusMessage(
            messageId=uuid.uuid4(), cpr=cpr, jobcenter=rng.choice(["101", "147"]),
            maalgruppe="dagpenge", gyldigFra=date(2026, 1, 1), tidspunkt=at,
        )  # fmt: skip
        result += read_model.status_updates(status, at)
        result += read_model.status_updates(status, at + timedelta(hours=1))  # redelivered
        grant = ExemptionMessage(
            messageId=uuid.uuid4(), cpr=cpr, exemptionId=uuid.uuid4(), jobcenter="101",
            handling="tildel", gyldigFra=date(2026, 2, 1), begrundelse="LAS § 75",
        )  # fmt: skip
        result.append(read_model.exemption_update(grant, at))
        for n in range(rng.randrange(1, 6)):
            moment = at + timedelta(days=n)
            result.append(read_model.activity_update(cpr, f"j{n}", 1, "opret", moment))
        notice = str(uuid.uuid4())
        result.append(read_model.notice_update(cpr, notice, at, at + timedelta(days=2)))
        result.append(read_model.notice_update(cpr, notice, at, at + timedelta(days=1)))
    rng.shuffle(result)
    return result


async def documents(db: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        name: await db[name].find({}).sort("_id", 1).to_list()
        for name in (read_model.CITIZENS, read_model.MEMBERS)
    }


async def test_one_by_one_in_bulk_and_folded_make_the_same_documents(platform):
    rng = random.Random(7)
    made = updates(rng)
    client = platform.mongo
    one, bulk, folded = (client[f"readmodel_{uuid.uuid4().hex[:8]}"] for _ in range(3))
    try:
        await ReadModelWriter(one).apply_all(made)
        await ReadModelWriter(bulk).apply_bulk(made)
        assert await ReadModelWriter(folded).insert_folded(made) == 10
        expected = await documents(one)
        assert len(expected[read_model.CITIZENS]) == 5
        assert await documents(bulk) == expected
        assert await documents(folded) == expected
        await ReadModelWriter(one).apply_bulk(made)  # again: nothing changes
        assert await documents(one) == expected
    finally:
        for db in (one, bulk, folded):
            await client.drop_database(db.name)
