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
from shared.readmodel.aktivitet import OR_CLAUSES, activities_of, activity_id, filters
from shared.readmodel.collections import ACTIVITY
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
        for name in (read_model.CITIZENS, read_model.ACTIVITY, read_model.MEMBERS)
    }


async def test_one_by_one_in_bulk_and_folded_make_the_same_documents(platform):
    rng = random.Random(7)
    made = updates(rng)
    client = platform.mongo
    one, bulk, folded = (client[f"readmodel_{uuid.uuid4().hex[:8]}"] for _ in range(3))
    try:
        await ReadModelWriter(one).apply_all(made)
        await ReadModelWriter(bulk).apply_bulk(made)
        documents_made = len({(update.collection, update.id) for update in made})
        assert await ReadModelWriter(folded).insert_folded(made) == documents_made
        expected = await documents(one)
        assert len(expected[read_model.CITIZENS]) == 5
        assert await documents(bulk) == expected
        assert await documents(folded) == expected
        await ReadModelWriter(one).apply_bulk(made)  # again: nothing changes
        assert await documents(one) == expected
    finally:
        for db in (one, bulk, folded):
            await client.drop_database(db.name)


async def test_a_batch_of_citizens_activity_is_read_over_the_id_index(platform):
    """`activities_of` reads each citizen's entries and no one else's, in `OR_CLAUSES` citizens
    a query; each query is an `$or` of `_id` ranges that the database answers from the `_id`
    index (the local FerretDB through its build patch, MongoDB by itself), not by a scan."""
    db = platform.mongo[f"readmodel_{uuid.uuid4().hex[:8]}"]
    try:
        cprs = [f"{1000000000 + i}" for i in range(2 * OR_CLAUSES + 40)]
        await db[ACTIVITY].insert_many(
            [
                {"_id": activity_id(cpr, f"j{n}", 1), "joblogId": f"j{n}"}
                for cpr in cprs
                for n in (1, 2)
            ]
        )
        wanted = cprs[::2]
        found = await activities_of(db[ACTIVITY], wanted)
        assert sorted(found) == wanted
        assert all([e["joblogId"] for e in found[cpr]] == ["j1", "j2"] for cpr in wanted)
        [first, second] = list(filters(wanted))
        assert len(first["$or"]) == OR_CLAUSES and "$or" in second
        explained = await db.command("explain", {"find": ACTIVITY, "filter": first})
        if "ferretdbVersion" in explained.get("serverInfo", {}):
            assert explained["filterPushdown"] is True
            plan = " ".join(explained["queryPlanner"]["Plan"])
            assert "USING INDEX" in plan and "SCAN" not in plan, plan
        else:
            assert "COLLSCAN" not in str(explained["queryPlanner"]["winningPlan"])
    finally:
        await platform.mongo.drop_database(db.name)
