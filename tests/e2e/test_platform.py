"""End to end, as the front ends, jobcentres and operators see the platform: separate service
processes, real Kafka, the real database, real HTTP and the real clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import httpx
from pymongo import AsyncMongoClient

from harness import akasse, ids, jobnet, new_cpr, status
from shared.contract import topics


def citizen() -> str:
    return new_cpr()  # (the front end records every cpr it sends: `stack.cprs_sent`)


async def test_a_log_made_in_jobnet_is_changed_in_the_akasse_and_read_back(stack, e2e_settings):
    cpr, log_id = citizen(), ids()
    await stack.send(topics.CITIZEN_STATUS, status(cpr, date.today() - timedelta(days=40)))
    await stack.settle()
    await stack.send(topics.JOBNET_INBOUND, jobnet("opret", cpr, log_id, datetime.now(UTC)))
    await stack.wait_for(topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id)
    update = akasse("JOBLOG_UPDATED", cpr, log_id, datetime.now(UTC), based_on=1)
    update["entry"]["jobTitle"] = "Truckfører"
    await stack.send(topics.akasse_inbound("067"), update)
    [v2] = await stack.wait_for(
        topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id and m["version"] == 2
    )
    assert v2["joblog"]["stilling"] == "Truckfører" and v2["kildeBeskedId"] == update["eventId"]

    url = f"http://127.0.0.1:{e2e_settings.api_port}/v1/citizens/{cpr}/joblogs"
    async with httpx.AsyncClient(headers={"Authorization": "Bearer jobnet"}) as client:
        [entry] = (await client.get(url)).json()
    assert entry["version"] == 2 and entry["joblog"]["stilling"] == "Truckfører"


async def test_a_bad_message_is_rejected_and_the_next_goes_through(stack):
    cpr, log_id = citizen(), ids()
    await stack.send(topics.JOBNET_INBOUND, b"{not json", key=cpr)
    await stack.send(topics.JOBNET_INBOUND, jobnet("opret", cpr, log_id, datetime.now(UTC)))
    await stack.wait_for(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id)
    [rejected] = await stack.wait_for(topics.JOBNET_REJECTED, lambda m: m.get("raw") == "{not json")
    assert rejected["reason"] == "malformed"


async def test_kill_9_of_storage_loses_nothing_and_stores_nothing_twice(stack, processes):
    n, threshold = 60, 5
    cprs = [citizen() for _ in range(4)]
    messages = [jobnet("opret", cprs[i % 4], ids(), datetime.now(UTC)) for i in range(n)]
    wanted = {m["joblogId"] for m in messages}

    def answered() -> int:
        found = stack.matching(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") in wanted)
        return len({m["joblogId"] for m in found})

    async def send_all() -> None:
        for message in messages:
            await stack.send(topics.JOBNET_INBOUND, message)

    sending = asyncio.create_task(send_all())
    deadline = asyncio.get_running_loop().time() + 60
    while answered() < threshold:  # kill storage in the middle of its work, not after a guess
        assert asyncio.get_running_loop().time() < deadline, f"only {answered()} answers"
        await asyncio.sleep(0.01)
    processes.kill("storage")
    await sending
    for message in messages[n // 2 :]:
        await stack.send(topics.JOBNET_INBOUND, message)  # and a duplicate delivery
    await stack.caught_up()  # everything storage sent before it died
    k = answered()
    assert 0 < k < n, f"the kill came after {k} of {n} answers: it interrupted nothing"
    processes.start("storage")
    await stack.wait_for(
        topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") in wanted, count=60, timeout=120
    )
    await stack.settle(timeout=120)
    await stack.caught_up()
    settings = processes.settings
    mongo: AsyncMongoClient[dict] = AsyncMongoClient(settings.mongodb_url)
    try:
        history = (
            await mongo[settings.mongodb_database]
            .joblog_history.find({"joblogId": {"$in": list(wanted)}})
            .to_list()
        )
    finally:
        await mongo.close()
    assert sorted(h["joblogId"] for h in history) == sorted(wanted)  # exactly one version each
    assert {h["version"] for h in history} == {1}
    outbound = stack.matching(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") in wanted)
    by_id: dict[str, list[dict]] = {}
    for message in outbound:
        by_id.setdefault(message["joblogId"], []).append(message)
    assert set(by_id) == wanted
    for copies in by_id.values():  # at-least-once: a re-sent answer is the same answer
        assert all(copy == copies[0] for copy in copies)


async def test_the_scheduler_ticks_and_a_simulated_tick_is_refused(stack, processes):
    settings = processes.settings
    mongo: AsyncMongoClient[dict] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    clock = mongo[settings.mongodb_database].clock
    try:
        started = datetime.now(UTC)
        for _ in range(100):
            doc = await clock.find_one({"_id": "platform"})
            if doc and doc.get("fired") and doc["fired"] > started:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the notifier's scheduler did not tick")
    finally:
        await mongo.close()
    future = (datetime.now(UTC) + timedelta(days=45)).isoformat()
    await stack.send(topics.TIMERS, {"now": future}, key="clock")
    [refused] = await stack.wait_for(
        topics.PLATFORM_REJECTED, lambda m: m.get("raw", "").find(future) >= 0
    )
    assert refused["field"] == "now" and "JOBLOG_CLOCK=simulated" in refused["message"]


async def test_every_service_serves_prometheus_metrics(stack, e2e_settings):
    async with httpx.AsyncClient() as client:
        for offset in range(4):
            port = e2e_settings.metrics_port_base + offset
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
            assert response.status_code == 200
            assert "faststream_received_messages" in response.text


async def test_the_logs_never_show_a_cpr_number(stack, processes):
    """Every cpr the front end sent in this run (the tests above run first), and none of them in
    any service's log."""
    cpr = citizen()  # one of its own, so that the check never runs on nothing
    await stack.send(topics.CITIZEN_STATUS, status(cpr, date.today() - timedelta(days=3)))
    await stack.settle()
    logs = "".join(processes.log_of(name) for name in processes.children)
    assert "joblog" in logs  # the services did log
    assert cpr in stack.cprs_sent
    shown = sorted(cpr for cpr in stack.cprs_sent if cpr in logs)
    assert shown == [], f"cprs in the logs: {shown}"
