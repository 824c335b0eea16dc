"""Issue 14: with the simulated clock, a restarted adapter knows the platform's clock from its
first message (the latest tick, read at start), not the wall clock until the next tick."""

from __future__ import annotations

from datetime import timedelta

import pytest

from harness import application, ids, jobnet
from services.jobnet_adapter import app as jobnet_adapter
from shared.cluster.credentials import for_service
from shared.contract import topics
from shared.contract.tid import day_of

pytestmark = pytest.mark.integration


async def test_a_restarted_adapter_dates_by_the_simulated_clock(platform):
    cpr = await platform.new_member()
    await platform.advance(days=45)  # the simulated day is well after the wall-clock day
    [old] = [s for s in platform.services if s.runtime.name == jobnet_adapter.SPEC.name]
    await old.__aexit__(None, None, None)
    platform.services.remove(old)
    settings = for_service(platform.settings, jobnet_adapter.SPEC.name)
    new = await platform.stack.enter_async_context(jobnet_adapter.build(settings))
    platform.services.append(new)

    today = day_of(platform.now)  # no tick since the restart
    log_id = ids()
    message = jobnet("opret", cpr, log_id, platform.now, joblog=application(soegtDato=str(today)))
    await platform.front.send(topics.JOBNET_INBOUND, message)
    [out] = await platform.front.wait_for(
        topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id
    )
    assert out["joblog"]["soegtDato"] == str(today)
    # and a day after the simulated one is still refused
    later = jobnet(
        "opret", cpr, ids(), platform.now,
        joblog=application(soegtDato=str(today + timedelta(days=1))),
    )  # fmt: skip
    await platform.front.send(topics.JOBNET_INBOUND, later)
    [refused] = await platform.front.wait_for(
        topics.JOBNET_REJECTED, lambda m: m.get("id") == later["beskedId"]
    )
    assert refused["reason"] == "field_invalid" and "soegtDato" in refused["field"]
