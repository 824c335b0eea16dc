"""Issue 4, convergence: however the two front ends' edits of one joblog interleave (stale base
versions, edits of the same and of different fields, messages delivered twice), once the
platform has settled the last outbound message each front end got for the joblog is the stored
record, in content and version.

Each example uses a fresh citizen and joblog on the session's platform."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from harness import akasse, ids, jobnet, new_cpr, status
from shared.contract import topics
from shared.contract.events import Handling, JoblogChange
from shared.frontends.akasse import akasse_outbound
from shared.readmodel.joblogs import stored_from

Json = dict[str, Any]

# Jobnet value -> a-kasse value, for the fields the edits touch.
STATUS = {
    "ikke_soegt": "NOT_APPLIED", "soegt": "APPLIED", "samtale": "INTERVIEW",
    "afslag": "REJECTED", "fik_job": "HIRED",
}  # fmt: skip
HOURS = {"fuldtid": "FULL_TIME", "deltid": "PART_TIME"}

contents = st.fixed_dictionaries(
    {
        "stilling": st.sampled_from(["Lagermedarbejder", "Truckfører", "Chauffør"]),
        "virksomhed": st.sampled_from(["Acme A/S", "Byg ApS"]),
        "status": st.sampled_from(sorted(STATUS)),
        "arbejdstid": st.sampled_from([None, *sorted(HOURS)]),
        "noter": st.sampled_from([None, "ringet", "sendt CV"]),
        "kontakt": st.sampled_from([None, "Ole", "Kim"]),
    }
)
edits = st.fixed_dictionaries(
    {
        "side": st.sampled_from(["jobnet", "akasse"]),
        # how many versions behind the newest the edit may be based on (so often stale; the
        # newest itself may not exist yet when earlier edits are still on their way)
        "stale": st.integers(0, 3),
        "minutes_ago": st.integers(0, 20),  # its tidspunkt / occurredAt
        "content": contents,
        "resend": st.booleans(),  # delivered a second time, after the next edit
        "pause": st.sampled_from([0.0, 0.0, 0.05, 0.3]),
    }
)


def jobnet_joblog(content: Json) -> Json:
    joblog: Json = {
        "type": "ansoegning", "stilling": content["stilling"],
        "virksomhed": content["virksomhed"], "land": "DK", "status": content["status"],
    }  # fmt: skip
    if content["arbejdstid"]:
        joblog["arbejdstid"] = content["arbejdstid"]
    if content["noter"]:
        joblog["noter"] = content["noter"]
    if content["kontakt"]:
        joblog["kontaktperson"] = {"navn": content["kontakt"]}
    return joblog


def akasse_entry(content: Json) -> Json:
    entry: Json = {
        "kind": "APPLICATION", "jobTitle": content["stilling"],
        "employer": {"name": content["virksomhed"], "country": "DK"},
        "status": STATUS[content["status"]],
    }  # fmt: skip
    if content["arbejdstid"]:
        entry["hours"] = HOURS[content["arbejdstid"]]
    if content["noter"]:
        entry["notes"] = content["noter"]
    if content["kontakt"]:
        entry["contact"] = {"name": content["kontakt"]}
    return entry


@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: examples are slow
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(first=contents, ops=st.lists(edits, min_size=1, max_size=6))
async def test_both_front_ends_end_with_the_stored_record(platform, first, ops):
    front, cpr, log_id = platform.front, new_cpr(), ids()
    membership = status(cpr, platform.now.date() - timedelta(days=1))
    await front.send(topics.CITIZEN_STATUS, membership)
    await platform.status_stored(membership)
    await front.send(
        topics.JOBNET_INBOUND,
        jobnet("opret", cpr, log_id, platform.now, joblog=jobnet_joblog(first)),
    )
    await front.wait_for(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id)
    await front.wait_for(topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id)

    again: list[tuple[str, Json]] = []
    for sent, op in enumerate(ops):
        base = max(1, sent + 1 - op["stale"])
        at = platform.now - timedelta(minutes=op["minutes_ago"])
        if op["side"] == "jobnet":
            topic = topics.JOBNET_INBOUND
            message = jobnet("ret", cpr, log_id, at, base, jobnet_joblog(op["content"]))
        else:
            topic = topics.akasse_inbound("067")
            message = akasse("JOBLOG_UPDATED", cpr, log_id, at, base, akasse_entry(op["content"]))
        await front.send(topic, message)
        for resent in again:
            await front.send(*resent)
        again = [(topic, message)] if op["resend"] else []
        if op["pause"]:
            await asyncio.sleep(op["pause"])  # lets some edits land before the next is sent
    for resent in again:
        await front.send(*resent)
    await platform.settle()
    await front.caught_up()  # the assertions below also say that nothing more was sent

    doc = await platform.db.joblogs.find_one({"_id": log_id})
    assert doc is not None
    versions = await platform.db.joblog_history.count_documents({"joblogId": log_id})
    assert doc["version"] == versions  # one version per accepted message, none for a resend
    merges = await platform.db.joblog_history.count_documents(
        {"joblogId": log_id, "merge.grundversion": {"$gte": 1}}
    )
    event(f"versions: {versions}, merged: {merges}")

    to_jobnet = front.matching(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id)
    to_akasse = front.matching(topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id)
    assert [m["version"] for m in to_jobnet] == list(range(1, doc["version"] + 1))
    assert [m["version"] for m in to_akasse] == list(range(1, doc["version"] + 1))

    last_jobnet, last_akasse = to_jobnet[-1], to_akasse[-1]
    assert last_jobnet["joblog"] == doc["joblog"]
    assert last_jobnet["kildeBeskedId"] == doc["kildeBeskedId"]
    expected = akasse_outbound(
        JoblogChange(handling=Handling.RET, entry=stored_from(doc), akasseNr="067")
    )
    assert last_akasse["entry"] == expected["entry"]
    assert last_akasse["originEventId"] == doc["kildeBeskedId"]
    assert last_akasse["akasseNr"] == "067" and last_akasse["memberCpr"] == cpr
