"""Times and dates within bounds on the real broker and database: a front end's time far in the
future (or in year 1 / 9999 with an offset) sent with the party's real credentials is refused as
`field_invalid` on its rejected topic and nothing is stored; storage itself refuses such a
command (defence in depth) instead of failing with an OverflowError, again on every replay; the
status feed's far-future time and a date before the floor are refused likewise."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from harness import akasse, ids, jobnet, new_cpr, status
from shared.cluster.access import service_principal
from shared.cluster.credentials import as_principal
from shared.contract import topics
from shared.contract.events import JoblogCommand
from shared.platform.kafka import client_options

pytestmark = pytest.mark.integration


async def stored_versions(platform, joblog_id: str) -> int:
    return await platform.db.joblog_history.count_documents({"joblogId": joblog_id})


def by_id(message_id: str):
    return lambda m: m.get("id") == message_id


@pytest.mark.parametrize(
    "when",
    ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "far future"],
)
async def test_a_time_out_of_bounds_from_jobnet_is_refused_and_nothing_stored(platform, when):
    front, cpr, log_id = platform.front, new_cpr(), ids()
    message = jobnet("opret", cpr, log_id, platform.now)
    message["tidspunkt"] = (
        (platform.now + timedelta(days=3650)).isoformat() if when == "far future" else when
    )
    good = jobnet("opret", cpr, ids(), platform.now)  # behind it, same partition
    await front.send(topics.JOBNET_INBOUND, message)
    await front.send(topics.JOBNET_INBOUND, good)
    [record] = await front.wait_for(topics.JOBNET_REJECTED, by_id(message["beskedId"]))
    assert (record["reason"], record["field"]) == ("field_invalid", "tidspunkt"), record
    assert record["message"].startswith("tidspunkt: ")
    await front.wait_for(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == good["joblogId"])
    assert await stored_versions(platform, log_id) == 0


async def test_a_far_future_time_from_an_akasse_cannot_pin_a_merge(platform):
    """occurredAt years ahead would win every later merge: refused, and the joblog keeps its
    version."""
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    await front.send(
        topics.akasse_inbound("067"), akasse("JOBLOG_CREATED", cpr, log_id, platform.now)
    )
    await front.wait_for(topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id)
    future = akasse("JOBLOG_UPDATED", cpr, log_id, platform.now + timedelta(days=365), 1)
    await front.send(topics.akasse_inbound("067"), future)
    [record] = await front.wait_for(topics.akasse_rejected("067"), by_id(future["eventId"]))
    assert (record["reason"], record["field"]) == ("field_invalid", "occurredAt"), record
    await platform.settle()
    assert await stored_versions(platform, log_id) == 1


async def test_storage_refuses_an_extreme_time_on_the_internal_topic_without_overflow(platform):
    """As if an adapter had not checked: a command with a year-9999 time (no UTC value) on
    dfdg.joblog.commands, written with the Jobnet adapter's credentials, is refused as
    field_invalid on jobnet.joblog.rejected (not kept as internal_error), nothing stored; the
    same record again (a replay) gets the same answer."""
    front, cpr, log_id = platform.front, new_cpr(), ids()
    raw = jobnet("opret", cpr, log_id, platform.now)
    command = JoblogCommand.model_validate(
        {
            "beskedId": raw["beskedId"], "kilde": "jobnet", "handling": "opret",
            "joblogId": log_id, "cpr": cpr, "tidspunkt": "9999-12-31T23:59:59-01:00",
            "joblog": raw["joblog"], "modtaget": platform.now, "raa": json.dumps(raw),
        }
    )  # fmt: skip
    adapter = as_principal(platform.settings, service_principal("jobnet-adapter"))
    producer = AIOKafkaProducer(**client_options(adapter), acks="all")
    await producer.start()
    try:  # the second after the first's answer: twins in one batch are answered once
        for count in (1, 2):
            await producer.send_and_wait(
                topics.JOBLOG_COMMANDS, command.model_dump_json().encode(), key=cpr.encode()
            )
            records = await front.wait_for(
                topics.JOBNET_REJECTED, by_id(raw["beskedId"]), count=count
            )
    finally:
        await producer.stop()
    for record in records:
        assert (record["reason"], record["field"]) == ("field_invalid", "tidspunkt"), record
    assert await stored_versions(platform, log_id) == 0


async def test_a_status_time_in_the_future_and_a_date_before_the_floor_are_refused(platform):
    front, cpr = platform.front, new_cpr()
    future = status(cpr, platform.now.date(), at=platform.now + timedelta(days=3650))
    old = status(cpr, date(1999, 6, 1))
    await front.send(topics.CITIZEN_STATUS, future)
    await front.send(topics.CITIZEN_STATUS, old)
    [record] = await front.wait_for(topics.CITIZEN_REJECTED, by_id(future["messageId"]))
    assert (record["reason"], record["field"]) == ("field_invalid", "tidspunkt"), record
    [record] = await front.wait_for(topics.CITIZEN_REJECTED, by_id(old["messageId"]))
    assert (record["reason"], record["field"]) == ("field_invalid", "gyldigFra"), record
    assert await platform.db.status_messages.count_documents({"cpr": cpr}) == 0
