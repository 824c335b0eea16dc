"""`joblog rebuild`: read models made anew from the records give the same udsøgning, the same
facts for the notifier and a due queue entry for every timer, on the real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from harness import exemption, ids, jobnet, new_cpr, status
from ops.rebuild import rebuild
from services.notifier.store import due_key
from shared.contract import topics
from shared.readmodel.facts import FactsReader
from tests.integration.test_api import DP, UDS, advance, call, clock_now, d, send_statuses, today


async def udsoegninger(platform: Any) -> list[str]:
    """Jobcenter 101's udsøgning over a long period, now and as of two earlier days."""
    day = await today(platform)
    period = {"fra": str(day - timedelta(days=380)), "til": str(day)}
    texts = []
    for as_of in (None, day - timedelta(days=1), day - timedelta(days=40)):
        response = await call(
            platform, "jc101", UDS.format("101"), **period, as_of=str(as_of) if as_of else None
        )
        assert response.status_code == 200, response.text
        texts.append(response.text)
    return texts


async def test_a_rebuilt_read_model_gives_the_same_udsoegning_as_the_live_one(platform):
    advised, active, moved = new_cpr(), new_cpr(), new_cpr()
    day = await today(platform)
    await send_statuses(
        platform,
        status(advised, d("2026-01-05"), DP, akasse_nr=None),
        status(active, day - timedelta(days=60), DP, akasse_nr=None),
        status(moved, day - timedelta(days=90), DP, jobcenter="147", akasse_nr=None),
        status(moved, day - timedelta(days=20), DP, akasse_nr=None),
    )
    await platform.settle()
    await platform.front.send(topics.jobcenter_exemption("101"), exemption(active, day))
    log = ids()
    for handling, base in (("opret", None), ("ret", 1)):
        at = await clock_now(platform)
        message = jobnet(handling, active, log, at, grundversion=base)
        await platform.front.send(topics.JOBNET_INBOUND, message)
        await platform.settle()
    await advance(platform, seconds=1)  # the notifier catches up: notices for `advised`
    await platform.settle()

    cprs = [advised, active, moved]
    live = await udsoegninger(platform)
    assert all(cpr in live[0] for cpr in cprs)
    facts = FactsReader(platform.db)
    live_facts = [await facts.facts(cpr) for cpr in cprs]
    live_queue = {doc["_id"] async for doc in platform.db.forfald.find({})}

    report = await rebuild(platform.db, fresh=True)

    assert report.records["status_messages"] >= 4 and report.records["joblog_history"] >= 2
    assert await udsoegninger(platform) == live
    assert [await facts.facts(cpr) for cpr in cprs] == live_facts
    rebuilt_queue = {doc["_id"] async for doc in platform.db.forfald.find({})}
    timers = {
        due_key(doc["due"], doc["_id"])
        async for doc in platform.db.timers.find({})
        if doc.get("due") is not None
    }
    assert rebuilt_queue == timers and timers <= live_queue
    assert await platform.db.jobcenter_borgere.find_one({"_id": f"147:{moved}"}) is not None

    again = await rebuild(platform.db)  # on top of itself: nothing changes
    assert again.records == report.records
    assert await udsoegninger(platform) == live
