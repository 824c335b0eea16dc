"""Scale-out: two processes of every service (as `joblog run --instances 2` starts them) under
load; one of each is killed with kill -9 midway; every joblog is stored once and answered, every
advisering sent once, and the surviving API instance answers."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import TopicPartition
from pymongo import AsyncMongoClient

from harness import (
    FrontEnd,
    akasse,
    free_ports,
    ids,
    infrastructure,
    jobnet,
    new_cpr,
    start_groups_at_end,
    status,
)
from harness import (
    test_settings as platform_settings,
)
from ops.launch import Instance, instances_of
from shared.contract import topics
from shared.platform.kafka import end_offsets, records_since
from shared.platform.settings import Settings
from tests.e2e.conftest import process_env

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
INSTANCES = 2
JOBLOGS = 160  # over 32 citizens, a quarter of them from the a-kasse
NOTICED = 24  # citizens whose advisering is due: one notice to each and one to the jobcenter
TICK = 1  # the notifiers' scheduler ticks every second


def _settings() -> Settings:
    api = free_ports(range(INSTANCES))
    return platform_settings(
        infrastructure(), JOBLOG_CLOCK="real", JOBLOG_API_PORT=api, JOBLOG_METRICS_PORT_BASE=0
    )


def _env(settings: Settings) -> dict[str, str]:
    return process_env(
        settings,
        JOBLOG_METRICS_PORT_BASE="0",
        JOBLOG_TICK_INTERVAL_SECONDS=str(TICK),
        JOBLOG_TIMER_LEASE_SECONDS="8",  # a killed notifier's timers wait this long
    )


async def test_two_of_each_service_one_of_each_killed_midway_every_joblog_and_notice_once(
    tmp_path: Path,
):
    settings = _settings()
    env = _env(settings)
    front = FrontEnd(settings)
    await front.start()
    await start_groups_at_end(settings)
    await front.register("067", True)
    processes = _start(env, tmp_path)
    try:
        await _run(front, settings, processes)
    except AssertionError:
        _show_problems(tmp_path)
        raise
    finally:
        _stop(processes)
        await front.stop()


def _show_problems(logs: Path, last: int = 40) -> None:
    """What the services logged beyond routine (warnings, errors, refusals), for a failure's
    report."""
    for log in sorted(logs.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        notable = [line for line in lines if re.search(r"WARNING|ERROR|rejected|Traceback", line)]
        print(f"--- {log.name}: {len(lines)} lines, the last notable ones:")
        print("\n".join(line[:300] for line in notable[-last:]))


def _start(env: dict[str, str], logs: Path) -> dict[Instance, subprocess.Popen[bytes]]:
    """Every instance as `joblog run --instances 2` starts it (its own ports and log)."""
    processes = {}
    for instance in instances_of(INSTANCES):
        with (logs / f"{instance.name}.log").open("ab") as log:
            processes[instance] = subprocess.Popen(
                [sys.executable, "-m", "services", instance.service], cwd=ROOT,
                env=instance.env(env), stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
    return processes


def _stop(processes: dict[Instance, subprocess.Popen[bytes]]) -> None:
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def _run(
    front: FrontEnd, settings: Settings, processes: dict[Instance, subprocess.Popen[bytes]]
) -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()

    def phase(what: str) -> None:
        print(f"scale-out: {what} at {loop.time() - began:.1f} s")

    apis = [settings.api_port + i for i in range(INSTANCES)]
    async with httpx.AsyncClient(headers={"Authorization": "Bearer jobnet"}) as client:
        for port in apis:  # both API instances answer, each on its own port
            await _answers(client, f"http://127.0.0.1:{port}/openapi.json")
    phase("both APIs answer")
    await front.settle(timeout=120)  # every consumer group has its members
    phase("settled")

    checked = [topics.JOBNET_OUTBOUND, topics.NOTICES_BORGER, topics.jobcenter_notices("101")]
    start = await end_offsets(front.admin, checked)  # what is written from now on is read back
    writers = [new_cpr() for _ in range(JOBLOGS // 5)]
    noticed = [new_cpr() for _ in range(NOTICED)]
    today = date.today()
    for cpr in writers:  # a duty since 3 days: no advisering due
        await front.send(topics.CITIZEN_STATUS, status(cpr, today - timedelta(days=3)))
    # membership known before the a-kasse writes (until then it is refused: `not_member`)
    await front.settle(timeout=120)
    now = datetime.now(UTC)
    messages = [
        (topics.akasse_inbound("067"), akasse("JOBLOG_CREATED", cpr, ids(), now))
        if i % 4 == 3
        else (topics.JOBNET_INBOUND, jobnet("opret", cpr, ids(), now))
        for i, cpr in enumerate(writers * 5)
    ]
    wanted = {m.get("joblogId") or m.get("logId") for _, m in messages}

    mongo: AsyncMongoClient[dict] = AsyncMongoClient(settings.mongodb_url)
    db = mongo[settings.mongodb_database]
    query = {"joblogId": {"$in": list(wanted)}}

    async def send_all() -> None:
        for i, (topic, message) in enumerate(messages):
            await front.send(topic, message)
            if i % (JOBLOGS // NOTICED) == 0 and (i // (JOBLOGS // NOTICED)) < NOTICED:
                cpr = noticed[i // (JOBLOGS // NOTICED)]  # a duty since 40 days: due now
                await front.send(topics.CITIZEN_STATUS, status(cpr, today - timedelta(days=40)))

    sending = asyncio.create_task(send_all())
    deadline = loop.time() + 90
    while await db.joblog_history.count_documents(query) < JOBLOGS // 4:
        assert loop.time() < deadline, "too few joblogs stored"  # kill in the middle of the work
        await asyncio.sleep(0.05)
    killed = [instance for instance in processes if instance.index == INSTANCES - 1]
    for instance in killed:
        processes[instance].send_signal(signal.SIGKILL)
    for instance in killed:
        processes[instance].wait()
    k = await db.joblog_history.count_documents(query)
    phase(f"killed one of each after {k} joblogs stored")
    assert k < JOBLOGS, f"the kill came after {k} of {JOBLOGS} joblogs: it interrupted nothing"
    await sending

    ours = set(noticed)
    try:
        # (another platform on this Kafka, a test session's, answers the same inbound topics:
        # this platform's joblogs are those in its database, its notices those with its header)
        while (stored := await db.joblog_history.count_documents(query)) < JOBLOGS:
            assert loop.time() < deadline + 120, f"{stored} of {JOBLOGS} joblogs stored"
            await asyncio.sleep(0.2)
        phase("every joblog stored")
        while len(_ours(await _written(front.admin, start, settings), ours)) < 2 * NOTICED:
            assert loop.time() < deadline + 120, "not every notice sent"
            await asyncio.sleep(0.5)
        phase("every notice sent")
        # a timer the killed notifier held is fired again when its lease lapses: wait for that
        while await db.timers.find_one({"lease": {"$exists": True}}, {"_id": 1}):
            assert loop.time() < deadline + 120, "a timer stays leased"
            await asyncio.sleep(0.5)
        await asyncio.sleep(TICK * 3)  # a duplicate would come by now
        history = await db.joblog_history.find(query, {"joblogId": 1, "version": 1}).to_list()
    finally:
        await mongo.close()
    written = await _written(front.admin, start, settings)
    phase("read back")

    for topic in (topics.NOTICES_BORGER, topics.jobcenter_notices("101")):
        notices = [m for m in written[topic] if m.get("cpr") in ours]
        per_citizen = Counter(m["cpr"] for m in notices)
        assert per_citizen == Counter(noticed), (topic, per_citizen)  # each exactly once
        assert len({m["noticeId"] for m in notices}) == NOTICED
    stored = Counter(h["joblogId"] for h in history)
    missing = wanted - set(stored)
    assert not missing and set(stored.values()) == {1}, (missing, stored)  # each stored once
    assert {h["version"] for h in history} == {1}
    answers = {m.get("joblogId") for m in written[topics.JOBNET_OUTBOUND]}
    assert wanted <= answers  # every joblog answered

    cpr = writers[0]
    async with httpx.AsyncClient(headers={"Authorization": "Bearer jobnet"}) as client:
        survivor = f"http://127.0.0.1:{apis[0]}/v1/citizens/{cpr}/joblogs"
        assert len((await client.get(survivor)).json()) == 5  # the other instance is gone
        with pytest.raises(httpx.TransportError):
            await client.get(f"http://127.0.0.1:{apis[-1]}/openapi.json")


async def _written(
    admin: Settings, start: dict[TopicPartition, int], settings: Settings
) -> dict[str, list[dict]]:
    """What was written to the checked topics since `start`; of the notices, only this
    platform's (the notifier's header names its JOBLOG_GROUP_PREFIX)."""
    written: dict[str, list[dict]] = {tp.topic: [] for tp in start}
    mine = settings.group_prefix.encode()
    async for record in records_since(admin, start):
        if record.topic != topics.JOBNET_OUTBOUND:
            sender = [value for key, value in record.headers or () if key == topics.PLATFORM_HEADER]
            if sender != [mine]:
                continue
        written[record.topic].append(json.loads(record.value or b"null"))
    return written


def _ours(written: dict[str, list[dict]], cprs: set[str]) -> list[dict]:
    return [
        m for topic in (topics.NOTICES_BORGER, topics.jobcenter_notices("101"))
        for m in written[topic] if m.get("cpr") in cprs
    ]  # fmt: skip


async def _answers(client: httpx.AsyncClient, url: str) -> None:
    for _ in range(600):
        try:
            if (await client.get(url)).is_success:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered")
