"""The walking skeleton: a Jobnet opret goes through every hop, and an a-kasse update comes back."""

from __future__ import annotations

from shared import topics
from tests.harness import akasse, ids, jobnet, new_cpr, status


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
