"""The walking skeleton: a Jobnet opret goes through every hop, and an a-kasse update comes back."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaProducer

from harness import FrontEnd, akasse, ids, jobnet, new_cpr, status
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal
from shared.cluster.provisioning import Provisioning
from shared.contract import topics
from shared.platform.kafka import client_options


async def test_jobnet_opret_reaches_both_front_ends_and_akasse_update_comes_back(platform):
    front, cpr, log_id = platform.front, new_cpr(), ids()
    await front.send(topics.CITIZEN_STATUS, status(cpr, platform.now.date(), akasse_nr="067"))
    await platform.settle()

    await front.send(topics.JOBNET_INBOUND, jobnet("opret", cpr, log_id, platform.now))
    [out] = await front.wait_for(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id)
    [ak] = await front.wait_for(topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id)
    assert out["version"] == 1 and out["kilde"] == "jobnet"
    assert ak["version"] == 1 and ak["akasseNr"] == "067" and ak["origin"] == "jobnet"
    stored = await platform.db.joblogs.find_one({"_id": log_id})
    assert stored["version"] == 1

    update = akasse("JOBLOG_UPDATED", cpr, log_id, platform.now, based_on=1)
    await front.send(topics.akasse_inbound("067"), update)
    outs = await front.wait_for(
        topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id and m["version"] == 2
    )
    assert outs[0]["kilde"] == "akasse:067"
    assert outs[0]["kildeBeskedId"] == update["eventId"]


async def test_caught_up_returns_only_when_the_front_end_has_read_to_the_end_offsets(platform):
    """What an assertion of absence rests on: after `caught_up`, everything written to a watched
    topic before the call is in `seen`, without any further waiting."""
    admin = as_principal(platform.settings, ADMIN)
    topic = f"test.caught-up.{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(Provisioning(admin).topics, [topic], 4)
    front = FrontEnd(platform.settings)
    await front.watch([topic])
    [reader] = front._consumers
    reader.pause(*reader.assignment())  # the reader lags: nothing is read until resumed
    producer = AIOKafkaProducer(**client_options(admin), acks="all", linger_ms=20)
    await producer.start()
    try:
        sends = [await producer.send(topic, b"{}", key=str(i).encode()) for i in range(500)]
        await asyncio.gather(*sends)
        assert front.seen[topic] == []
        reader.resume(*reader.assignment())
        await front.caught_up()
        assert len(front.seen[topic]) == 500
    finally:
        await producer.stop()
        await front.stop()
