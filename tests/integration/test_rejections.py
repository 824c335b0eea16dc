"""Issue 4, rejections: every reason code of the contract, produced by a real bad message, lands
on the producer's *.rejected topic with the message id, the reason, a message naming the field
and the raw message; and a bad message never holds up the good one behind it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from harness import akasse, application, ids, jobnet, new_cpr
from shared.contract import topics

Json = dict[str, Any]
FUTURE = "2999-12-31"  # after the day of receipt, whatever the simulated clock says


async def rejected(platform, topic: str, match: Callable[[Json], bool]) -> Json:
    found: list[Json] = await platform.front.wait_for(topic, match)
    return found[0]


def by_id(message_id: str) -> Callable[[Json], bool]:
    return lambda m: m.get("id") == message_id


def check(record: Json, reason: str, field: str | None, raw: bytes | Json) -> None:
    """The record's reason and field; its message names the field; raw is the message."""
    assert record["reason"] == reason, record
    assert record["field"] == field, record
    assert record["message"], record
    if field is not None:
        assert field in record["message"], record
    body = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    assert record["raw"] == body.decode(), record
    assert record["rawBytes"] == len(body)


# -- malformed ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inbound", "rejected_topic"),
    [
        (topics.JOBNET_INBOUND, topics.JOBNET_REJECTED),
        (topics.akasse_inbound("067"), topics.akasse_rejected("067")),
    ],
)
async def test_bad_json_is_malformed(platform, inbound, rejected_topic):
    cpr, marker = new_cpr(), ids()
    body = f'{{"marker": "{marker}", "cpr": '.encode()
    await platform.front.send(inbound, body, key=cpr)
    record = await rejected(platform, rejected_topic, lambda m: marker in m.get("raw", ""))
    check(record, "malformed", None, body)
    assert "JSON" in record["message"] and record["id"] is None
    assert record["sourceTopic"] == inbound


async def test_a_key_other_than_the_cpr_is_malformed(platform):
    message = jobnet("opret", new_cpr(), ids(), platform.now)
    await platform.front.send(topics.JOBNET_INBOUND, message, key=new_cpr())
    record = await rejected(platform, topics.JOBNET_REJECTED, by_id(message["beskedId"]))
    check(record, "malformed", "key", message)


async def test_a_5_mb_body_is_malformed(platform):
    cpr = new_cpr()
    message = jobnet("opret", cpr, ids(), platform.now, joblog=application(noter="x" * 5_000_000))
    body = json.dumps(message).encode()
    await platform.front.send(topics.JOBNET_INBOUND, body, key=cpr)
    record = await rejected(platform, topics.JOBNET_REJECTED, by_id(message["beskedId"]))
    assert record["reason"] == "malformed" and record["field"] is None
    assert "bytes" in record["message"] and str(len(body)) in record["message"]
    assert record["rawBytes"] == len(body)
    cut = platform.settings.rejected_raw_max_bytes
    assert len(record["raw"]) == cut and body.decode().startswith(record["raw"])


# -- invalid_cpr ----------------------------------------------------------------------------


async def test_invalid_cpr_in_jobnet_and_akasse(platform):
    front = platform.front
    day_32 = "3201901234"
    from_jobnet = jobnet("opret", day_32, ids(), platform.now)
    from_akasse = akasse("JOBLOG_CREATED", "0101-901234", ids(), platform.now)
    await front.send(topics.JOBNET_INBOUND, from_jobnet)
    await front.send(topics.akasse_inbound("067"), from_akasse)
    record = await rejected(platform, topics.JOBNET_REJECTED, by_id(from_jobnet["beskedId"]))
    check(record, "invalid_cpr", "cpr", from_jobnet)
    record = await rejected(platform, topics.akasse_rejected("067"), by_id(from_akasse["eventId"]))
    check(record, "invalid_cpr", "memberCpr", from_akasse)


# -- field_invalid --------------------------------------------------------------------------


def _jobnet_case(joblog: Json) -> Callable[[str, Any], Json]:
    return lambda cpr, now: jobnet("opret", cpr, ids(), now, joblog=joblog)


def _akasse_case(**entry: Any) -> Callable[[str, Any], Json]:
    base: Json = {
        "kind": "APPLICATION", "jobTitle": "Lager",
        "employer": {"name": "Acme A/S", "country": "DK"}, "status": "APPLIED",
    }  # fmt: skip
    return lambda cpr, now: akasse("JOBLOG_CREATED", cpr, ids(), now, entry={**base, **entry})


FIELD_CASES = {
    "unknown enum": (_jobnet_case(application(status="maaske")), "joblog.status", "maaske"),
    "unknown enum (a-kasse)": (_akasse_case(hours="SOMETIMES"), "entry.hours", "SOMETIMES"),
    "too long": (_jobnet_case(application(stilling="s" * 201)), "joblog.stilling", "200"),
    "too long (a-kasse)": (_akasse_case(notes="n" * 2001), "entry.notes", "2000"),
    "future soegtDato": (_jobnet_case(application(soegtDato=FUTURE)), "joblog.soegtDato", FUTURE),
    "future appliedOn (a-kasse)": (_akasse_case(appliedOn=FUTURE), "entry.appliedOn", FUTURE),
}


@pytest.mark.parametrize("case", FIELD_CASES)
async def test_field_invalid(platform, case):
    build, field, detail = FIELD_CASES[case]
    cpr = await platform.new_member() if "a-kasse" in case else new_cpr()
    message = build(cpr, platform.now)
    akasse_side = "eventId" in message
    inbound = topics.akasse_inbound("067") if akasse_side else topics.JOBNET_INBOUND
    await platform.front.send(inbound, message)
    record = await rejected(
        platform,
        topics.akasse_rejected("067") if akasse_side else topics.JOBNET_REJECTED,
        by_id(message["eventId" if akasse_side else "beskedId"]),
    )
    check(record, "field_invalid", field, message)
    assert detail in record["message"]


# -- a-kasse register and membership --------------------------------------------------------


async def test_akasse_without_joblog(platform):
    cpr = await platform.new_member("099")
    message = akasse("JOBLOG_CREATED", cpr, ids(), platform.now, akasse_nr="099")
    await platform.front.send(topics.akasse_inbound("099"), message)
    record = await rejected(platform, topics.akasse_rejected("099"), by_id(message["eventId"]))
    check(record, "akasse_without_joblog", "akasseNr", message)
    assert "099" in record["message"]


async def test_akasse_mismatch(platform):
    """The a-kasse is the topic's: 067 cannot write in 099's name."""
    cpr = await platform.new_member("099")
    message = akasse("JOBLOG_CREATED", cpr, ids(), platform.now, akasse_nr="099")
    await platform.front.send(topics.akasse_inbound("067"), message)
    record = await rejected(platform, topics.akasse_rejected("067"), by_id(message["eventId"]))
    check(record, "akasse_mismatch", "akasseNr", message)
    assert "akasse.067.joblog.inbound" in record["message"]


async def test_not_member(platform):
    cpr = await platform.new_member(akasse_nr=None)
    message = akasse("JOBLOG_CREATED", cpr, ids(), platform.now)
    await platform.front.send(topics.akasse_inbound("067"), message)
    record = await rejected(platform, topics.akasse_rejected("067"), by_id(message["eventId"]))
    check(record, "not_member", "memberCpr", message)
    assert "067" in record["message"]


# -- the state of the joblog ----------------------------------------------------------------


async def test_unknown_joblog(platform):
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    from_jobnet = jobnet("ret", cpr, log_id, platform.now, 1, application())
    from_akasse = akasse("JOBLOG_DELETED", cpr, log_id, platform.now, 1)
    await front.send(topics.JOBNET_INBOUND, from_jobnet)
    await front.send(topics.akasse_inbound("067"), from_akasse)
    record = await rejected(platform, topics.JOBNET_REJECTED, by_id(from_jobnet["beskedId"]))
    check(record, "unknown_joblog", "joblogId", from_jobnet)
    assert log_id in record["message"]
    record = await rejected(platform, topics.akasse_rejected("067"), by_id(from_akasse["eventId"]))
    check(record, "unknown_joblog", "logId", from_akasse)
    assert log_id in record["message"]


async def test_joblog_deleted(platform):
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    await front.send(topics.JOBNET_INBOUND, jobnet("opret", cpr, log_id, platform.now))
    await front.send(topics.JOBNET_INBOUND, jobnet("slet", cpr, log_id, platform.now, 1))
    await front.wait_for(
        topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id and m["version"] == 2
    )
    message = akasse("JOBLOG_UPDATED", cpr, log_id, platform.now, 1)
    await front.send(topics.akasse_inbound("067"), message)
    record = await rejected(platform, topics.akasse_rejected("067"), by_id(message["eventId"]))
    check(record, "joblog_deleted", "logId", message)  # in the a-kasse's terms
    assert log_id in record["message"]


# -- nothing blocks -------------------------------------------------------------------------


async def test_a_bad_message_does_not_block_the_good_one_behind_it(platform):
    """Bad messages of each stage (adapter: bad JSON, field rule; storage: unknown joblog), then
    good ones, all with the same key, so on the same partition in this order."""
    front, cpr = platform.front, await platform.new_member()
    marker, good_jobnet, good_akasse = ids(), ids(), ids()
    bad_json = f'{{"marker": "{marker}"'.encode()
    bad_field = jobnet("opret", cpr, ids(), platform.now, joblog=application(land=None))
    unknown = jobnet("ret", cpr, ids(), platform.now, 1, application())
    bad_akasse = akasse("JOBLOG_CREATED", cpr, ids(), platform.now, akasse_nr="099")
    await front.send(topics.JOBNET_INBOUND, bad_json, key=cpr)
    await front.send(topics.JOBNET_INBOUND, bad_field)
    await front.send(topics.JOBNET_INBOUND, unknown)
    await front.send(topics.JOBNET_INBOUND, jobnet("opret", cpr, good_jobnet, platform.now))
    await front.send(topics.akasse_inbound("067"), bad_json, key=cpr)
    await front.send(topics.akasse_inbound("067"), bad_akasse)
    await front.send(
        topics.akasse_inbound("067"), akasse("JOBLOG_CREATED", cpr, good_akasse, platform.now)
    )

    for log_id in (good_jobnet, good_akasse):
        await front.wait_for(topics.JOBNET_OUTBOUND, lambda m, i=log_id: m.get("joblogId") == i)
        await front.wait_for(topics.akasse_outbound("067"), lambda m, i=log_id: m.get("logId") == i)
    for topic in (topics.JOBNET_REJECTED, topics.akasse_rejected("067")):
        record = await rejected(platform, topic, lambda m: marker in m.get("raw", ""))
        assert record["reason"] == "malformed"
    record = await rejected(platform, topics.JOBNET_REJECTED, by_id(bad_field["beskedId"]))
    check(record, "field_invalid", "joblog.land", bad_field)
    record = await rejected(platform, topics.JOBNET_REJECTED, by_id(unknown["beskedId"]))
    check(record, "unknown_joblog", "joblogId", unknown)
    record = await rejected(platform, topics.akasse_rejected("067"), by_id(bad_akasse["eventId"]))
    check(record, "akasse_mismatch", "akasseNr", bad_akasse)
