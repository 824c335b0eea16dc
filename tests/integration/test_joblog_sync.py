"""Issue 4, joblog synchronisation: what each front end sees of the other's changes, concurrent
edits, deletes, redeliveries, a new a-kasse's snapshot, and the citizens' joblogs over HTTP.

Every test uses its own citizen and joblog ids, and filters what it reads by them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness import akasse, application, ids, jobnet, status
from shared.contract import topics

Json = dict[str, Any]


def for_log(key: str, log_id: str, **fields: Any):
    """A matcher of outbound messages of one joblog (and given field values)."""
    return lambda m: m.get(key) == log_id and all(m.get(k) == v for k, v in fields.items())


def jn(log_id: str, **fields: Any):
    return for_log("joblogId", log_id, **fields)


def ak(log_id: str, **fields: Any):
    return for_log("logId", log_id, **fields)


def akasse_entry(**fields: Any) -> Json:
    return {
        "kind": "APPLICATION", "jobTitle": "Lagermedarbejder",
        "employer": {"name": "Acme A/S", "country": "DK", "postalCode": "8000", "city": "Aarhus C"},
        "status": "APPLIED", **fields,
    }  # fmt: skip


async def created(platform, cpr: str, log_id: str, joblog: Json | None = None) -> None:
    """Create a joblog in Jobnet and wait until both front ends have version 1."""
    front = platform.front
    opret = jobnet("opret", cpr, log_id, platform.now, joblog=joblog)
    await front.send(topics.JOBNET_INBOUND, opret)
    await front.wait_for(topics.JOBNET_OUTBOUND, jn(log_id, version=1))
    await front.wait_for(topics.akasse_outbound("067"), ak(log_id, version=1))


async def test_create_in_jobnet_is_seen_in_akasse(platform):
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    message = jobnet(
        "opret", cpr, log_id, platform.now,
        joblog=application(kontaktperson={"navn": "Ole", "email": "ole@acme.dk"}, noter="god"),
    )  # fmt: skip
    await front.send(topics.JOBNET_INBOUND, message)

    [out, *_] = await front.wait_for(topics.akasse_outbound("067"), ak(log_id))
    assert out["type"] == "JOBLOG_CREATED"
    assert out["akasseNr"] == "067" and out["memberCpr"] == cpr and out["version"] == 1
    assert out["origin"] == "jobnet" and out["originEventId"] == message["beskedId"]
    assert out["entry"] == {
        "kind": "APPLICATION", "jobTitle": "Lagermedarbejder",
        "employer": {"name": "Acme A/S", "postalCode": "8000", "city": "Aarhus C", "country": "DK"},
        "contact": {"name": "Ole", "email": "ole@acme.dk"}, "status": "APPLIED", "notes": "god",
    }  # fmt: skip
    [back, *_] = await front.wait_for(topics.JOBNET_OUTBOUND, jn(log_id))
    assert back["kilde"] == "jobnet" and back["kildeBeskedId"] == message["beskedId"]


async def test_create_in_akasse_changed_in_jobnet_is_seen_in_akasse_as_version_2(platform):
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    await front.send(
        topics.akasse_inbound("067"), akasse("JOBLOG_CREATED", cpr, log_id, platform.now)
    )
    [v1, *_] = await front.wait_for(topics.JOBNET_OUTBOUND, jn(log_id, version=1))
    assert v1["kilde"] == "akasse:067" and v1["joblog"]["status"] == "soegt"

    edit = jobnet("ret", cpr, log_id, platform.now, 1, application(status="samtale"))
    await front.send(topics.JOBNET_INBOUND, edit)

    [v2, *_] = await front.wait_for(topics.akasse_outbound("067"), ak(log_id, version=2))
    assert v2["type"] == "JOBLOG_UPDATED" and v2["akasseNr"] == "067"
    assert v2["origin"] == "jobnet" and v2["originEventId"] == edit["beskedId"]
    assert v2["entry"]["status"] == "INTERVIEW"
    assert v2["createdAt"] == v1["oprettet"]


async def test_concurrent_edits_of_different_fields_both_survive(platform):
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    await created(platform, cpr, log_id)

    from_jobnet = jobnet(
        "ret", cpr, log_id, platform.now - timedelta(minutes=2), 1,
        application(stilling="Truckfører"),
    )  # fmt: skip
    from_akasse = akasse(
        "JOBLOG_UPDATED", cpr, log_id, platform.now - timedelta(minutes=1), 1,
        akasse_entry(notes="ringet op"),
    )  # fmt: skip
    await front.send(topics.JOBNET_INBOUND, from_jobnet)
    await front.send(topics.akasse_inbound("067"), from_akasse)

    [jn3, *_] = await front.wait_for(topics.JOBNET_OUTBOUND, jn(log_id, version=3))
    [ak3, *_] = await front.wait_for(topics.akasse_outbound("067"), ak(log_id, version=3))
    assert jn3["joblog"]["stilling"] == "Truckfører" and jn3["joblog"]["noter"] == "ringet op"
    assert ak3["entry"]["jobTitle"] == "Truckfører" and ak3["entry"]["notes"] == "ringet op"
    stored = await platform.db.joblogs.find_one({"_id": log_id})
    assert stored["version"] == 3
    assert stored["joblog"]["stilling"] == "Truckfører" and stored["joblog"]["noter"] == "ringet op"
    history = await platform.db.joblog_history.find({"joblogId": log_id}).to_list()
    [merged] = [doc for doc in history if doc.get("merge")]
    assert merged["version"] == 3 and merged["merge"]["grundversion"] == 1
    assert merged["merge"]["mergedAgainst"] == 2
    decided = {d["field"]: d["reason"] for d in merged["merge"]["fields"]}
    assert decided.keys() == {"stilling", "noter"}
    assert set(decided.values()) == {"only_incoming_changed", "only_current_changed"}


@pytest.mark.parametrize("first", ["jobnet", "akasse"])
async def test_concurrent_edits_of_the_same_field_go_to_the_later_time(platform, first):
    """Both edit status from version 1; the a-kasse's occurredAt is later, so it wins whichever
    of the two the platform sees first."""
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    await created(platform, cpr, log_id)
    earlier = jobnet(
        "ret", cpr, log_id, platform.now - timedelta(minutes=2), 1, application(status="samtale")
    )
    later = akasse(
        "JOBLOG_UPDATED", cpr, log_id, platform.now - timedelta(minutes=1), 1,
        akasse_entry(status="REJECTED"),
    )  # fmt: skip
    sends = [(topics.JOBNET_INBOUND, earlier), (topics.akasse_inbound("067"), later)]
    if first == "akasse":
        sends.reverse()
    for topic, message in sends:  # one after the other: v2 is the first, v3 the merge
        await front.send(topic, message)
        await front.wait_for(topics.JOBNET_OUTBOUND, jn(log_id, kildeBeskedId=_id(message)))

    [jn3, *_] = await front.wait_for(topics.JOBNET_OUTBOUND, jn(log_id, version=3))
    [ak3, *_] = await front.wait_for(topics.akasse_outbound("067"), ak(log_id, version=3))
    assert jn3["joblog"]["status"] == "afslag"
    assert ak3["entry"]["status"] == "REJECTED"
    stored = await platform.db.joblogs.find_one({"_id": log_id})
    assert stored["version"] == 3 and stored["joblog"]["status"] == "afslag"
    merge = (await platform.db.joblog_history.find_one({"_id": f"{log_id}:3"}))["merge"]
    assert merge["fields"] == [
        {
            "field": "status",
            "winner": "incoming" if first == "jobnet" else "current",
            "reason": "later_tidspunkt",
        }
    ]


def _id(message: Json) -> str:
    return str(message.get("beskedId") or message["eventId"])


async def test_a_merge_that_breaks_the_field_rules_is_merge_invalid_and_nothing_stored(platform):
    """Issue 13. Version 1 is in Sweden, postnummer "111 22". Jobnet moves it to DK (so to
    postnummer 8000); the a-kasse, based on version 1 and later, changes the postal code to
    "111 23". Each change obeys the field rules, the merge (DK with "111 23") does not: the
    a-kasse's change is rejected as merge_invalid, and version 2 stays as it was."""
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    await created(platform, cpr, log_id, application(land="SE", postnummer="111 22"))
    to_dk = jobnet("ret", cpr, log_id, platform.now - timedelta(minutes=2), 1, application())
    await front.send(topics.JOBNET_INBOUND, to_dk)
    await front.wait_for(topics.akasse_outbound("067"), ak(log_id, version=2))
    stored_v2 = await platform.db.joblogs.find_one({"_id": log_id})
    assert stored_v2["joblog"]["land"] == "DK" and stored_v2["joblog"]["postnummer"] == "8000"

    employer = {"name": "Acme A/S", "country": "SE", "postalCode": "111 23", "city": "Aarhus C"}
    new_code = akasse(
        "JOBLOG_UPDATED", cpr, log_id, platform.now - timedelta(minutes=1), 1,
        akasse_entry(employer=employer),
    )  # fmt: skip
    await front.send(topics.akasse_inbound("067"), new_code)
    [refused] = await front.wait_for(
        topics.akasse_rejected("067"), lambda m: m.get("id") == new_code["eventId"]
    )
    assert refused["reason"] == "merge_invalid"
    assert refused["field"] == "entry.employer.postalCode"
    assert refused["message"].startswith(
        "entry.employer.postalCode: must be exactly 4 digits when entry.employer.country is DK"
    )
    assert "from version 2: entry.employer.country" in refused["message"]
    assert json.loads(refused["raw"]) == new_code
    # the rejection is sent after the decision: what is stored now is final for this message
    assert await platform.db.joblogs.find_one({"_id": log_id}) == stored_v2
    assert await platform.db.joblog_history.count_documents({"joblogId": log_id}) == 2
    # its outcome is the refusal (decided once: a redelivery gets it again), not a version
    outcome = await platform.db.beskeder.find_one({"_id": new_code["eventId"]})
    assert outcome is not None and "historik" not in outcome
    assert outcome["afvist"]["aarsag"] == "merge_invalid"

    # sent again based on version 2, the a-kasse's change is version 3: the refused merge took
    # no version, and (each citizen's messages being in order) sent nothing before it
    again = akasse("JOBLOG_UPDATED", cpr, log_id, platform.now, 2, akasse_entry(employer=employer))
    await front.send(topics.akasse_inbound("067"), again)
    [v3, *_] = await front.wait_for(topics.JOBNET_OUTBOUND, jn(log_id, version=3))
    await front.wait_for(topics.akasse_outbound("067"), ak(log_id, version=3))
    assert v3["kildeBeskedId"] == again["eventId"]
    assert v3["joblog"]["land"] == "SE" and v3["joblog"]["postnummer"] == "111 23"
    await front.caught_up()
    assert not front.matching(topics.JOBNET_OUTBOUND, jn(log_id, kildeBeskedId=new_code["eventId"]))
    assert not front.matching(
        topics.akasse_outbound("067"), ak(log_id, originEventId=new_code["eventId"])
    )


async def test_edit_after_delete_is_rejected_as_joblog_deleted(platform):
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    await created(platform, cpr, log_id)
    await front.send(
        topics.akasse_inbound("067"),
        akasse("JOBLOG_DELETED", cpr, log_id, platform.now, based_on=1),
    )
    [gone, *_] = await front.wait_for(topics.JOBNET_OUTBOUND, jn(log_id, version=2))
    assert gone["handling"] == "slet" and gone["slettet"] is True

    edit = jobnet("ret", cpr, log_id, platform.now, 2, application(status="samtale"))
    await front.send(topics.JOBNET_INBOUND, edit)
    [refused] = await front.wait_for(
        topics.JOBNET_REJECTED, lambda m: m.get("id") == edit["beskedId"]
    )
    assert refused["reason"] == "joblog_deleted" and refused["field"] == "joblogId"
    assert "joblogId" in refused["message"] and log_id in refused["message"]
    assert refused["raw"] and json.loads(refused["raw"]) == edit
    stored = await platform.db.joblogs.find_one({"_id": log_id})
    assert stored["version"] == 2 and stored["slettet"] is True


async def test_the_same_message_twice_gives_one_version_and_one_outbound_each(platform):
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    opret = jobnet("opret", cpr, log_id, platform.now)
    edit = akasse("JOBLOG_UPDATED", cpr, log_id, platform.now, 1, akasse_entry(notes="x"))
    await front.send(topics.JOBNET_INBOUND, opret)
    await front.send(topics.JOBNET_INBOUND, opret)
    await front.wait_for(topics.akasse_outbound("067"), ak(log_id, version=1))
    await front.send(topics.akasse_inbound("067"), edit)
    await front.send(topics.akasse_inbound("067"), edit)
    await platform.settle()
    await front.caught_up()

    assert await platform.db.joblog_history.count_documents({"joblogId": log_id}) == 2
    assert [m["version"] for m in front.matching(topics.JOBNET_OUTBOUND, jn(log_id))] == [1, 2]
    assert [m["version"] for m in front.matching(topics.akasse_outbound("067"), ak(log_id))] == [
        1,
        2,
    ]
    assert not front.matching(topics.JOBNET_REJECTED, lambda m: m.get("id") == opret["beskedId"])
    assert not front.matching(
        topics.akasse_rejected("067"), lambda m: m.get("id") == edit["eventId"]
    )
    stored = await platform.db.joblogs.find_one({"_id": log_id})
    assert stored["version"] == 2 and stored["joblog"]["noter"] == "x"


async def test_joining_an_akasse_sends_it_a_snapshot_of_current_joblogs(platform):
    front = platform.front
    cpr = await platform.new_member(akasse_nr=None)
    kept, edited, deleted = ids(), ids(), ids()
    for log_id in (kept, edited, deleted):
        await front.send(topics.JOBNET_INBOUND, jobnet("opret", cpr, log_id, platform.now))
    await front.send(
        topics.JOBNET_INBOUND,
        jobnet("ret", cpr, edited, platform.now, 1, application(status="samtale")),
    )
    await front.send(topics.JOBNET_INBOUND, jobnet("slet", cpr, deleted, platform.now, 1))
    await front.wait_for(topics.JOBNET_OUTBOUND, jn(edited, version=2))
    await front.wait_for(topics.JOBNET_OUTBOUND, jn(deleted, version=2))
    await platform.settle()
    await front.caught_up()
    mine = {kept, edited, deleted}
    assert not front.matching(topics.akasse_outbound("067"), lambda m: m.get("logId") in mine)

    fra = platform.now.date() - timedelta(days=1)
    joined = status(cpr, fra, akasse_nr="067", at=datetime.now(UTC))  # after the first one
    await front.send(topics.CITIZEN_STATUS, joined)
    await front.wait_for(topics.akasse_outbound("067"), lambda m: m.get("logId") in mine, count=2)
    await platform.settle()
    await front.caught_up()
    snapshot = front.matching(topics.akasse_outbound("067"), lambda m: m.get("logId") in mine)
    assert {m["logId"]: m["version"] for m in snapshot} == {kept: 1, edited: 2}
    assert all(m["snapshot"] is True and m["akasseNr"] == "067" for m in snapshot)
    assert all(m["memberCpr"] == cpr for m in snapshot)
    [v2] = [m for m in snapshot if m["logId"] == edited]
    assert v2["entry"]["status"] == "INTERVIEW"
    assert not front.matching(topics.JOBNET_OUTBOUND, lambda m: m.get("snapshot"))


async def test_akasse_write_for_a_citizen_of_another_akasse_is_not_member(platform):
    front = platform.front
    cpr = await platform.new_member(akasse_nr="068")
    log_id = ids()
    message = akasse("JOBLOG_CREATED", cpr, log_id, platform.now)
    await front.send(topics.akasse_inbound("067"), message)
    [refused] = await front.wait_for(
        topics.akasse_rejected("067"), lambda m: m.get("id") == message["eventId"]
    )
    assert refused["reason"] == "not_member" and refused["field"] == "memberCpr"
    assert "067" in refused["message"]
    assert await platform.db.joblogs.find_one({"_id": log_id}) is None


async def test_api_returns_the_citizens_current_joblogs(platform):
    front, cpr = platform.front, await platform.new_member()
    first, second, deleted = ids(), ids(), ids()
    await created(platform, cpr, first, application(noter="første"))
    await created(platform, cpr, second)
    await created(platform, cpr, deleted)
    await front.send(
        topics.akasse_inbound("067"), akasse("JOBLOG_UPDATED", cpr, second, platform.now, 1,
                                      akasse_entry(status="HIRED"))
    )  # fmt: skip
    await front.send(topics.JOBNET_INBOUND, jobnet("slet", cpr, deleted, platform.now, 1))
    await front.wait_for(topics.JOBNET_OUTBOUND, jn(second, version=2))
    await front.wait_for(topics.JOBNET_OUTBOUND, jn(deleted, version=2))

    async with platform.api.client("jobnet") as client:
        answer = await client.get(f"/v1/citizens/{cpr}/joblogs")
    assert answer.status_code == 200, answer.text
    by_id = {m["joblogId"]: m for m in answer.json()}
    assert by_id.keys() == {first, second}
    assert by_id[first]["version"] == 1 and by_id[first]["joblog"]["noter"] == "første"
    assert by_id[second]["version"] == 2 and by_id[second]["joblog"]["status"] == "fik_job"
    assert by_id[second]["kilde"] == "akasse:067"

    async with platform.api.client("ak067") as client:
        answer = await client.get(f"/v1/citizens/{cpr}/joblogs")
    assert answer.status_code == 200, answer.text
    by_log = {m["logId"]: m for m in answer.json()}
    assert by_log.keys() == {first, second}
    assert by_log[second]["entry"]["status"] == "HIRED" and by_log[second]["akasseNr"] == "067"

    async with platform.api.client(None) as client:
        assert (await client.get(f"/v1/citizens/{cpr}/joblogs")).status_code == 401
    async with platform.api.client("wrong-token") as client:
        assert (await client.get(f"/v1/citizens/{cpr}/joblogs")).status_code == 401
