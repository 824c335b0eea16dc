"""Issue 14: `joblog replay` sends refused messages back for another try after the cause is
fixed; a replayed message is processed like any other, and replaying twice stores nothing twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from harness import akasse, exemption, ids, new_cpr, status
from ops.replay import replay
from shared.contract import topics

pytestmark = pytest.mark.integration


async def test_a_refusal_fixed_later_is_replayed_once(platform):
    front = platform.front
    cpr = new_cpr()
    since = platform.now.replace(microsecond=0) - timedelta(seconds=1)
    log_id = ids()
    message = akasse("JOBLOG_CREATED", cpr, log_id, platform.now)
    await front.send(topics.akasse_inbound("067"), message)  # not (yet) a member
    [refused] = await front.wait_for(
        topics.akasse_rejected("067"), lambda m: m.get("id") == message["eventId"]
    )
    assert refused["reason"] == "not_member"
    member = status(cpr, platform.now.date() - timedelta(days=1), akasse_nr="067")
    await front.send(topics.CITIZEN_STATUS, member)  # the status arrives late
    await platform.status_stored(member)

    rejected = topics.akasse_rejected("067")
    counted = await replay(platform.settings, rejected, "not_member", since, dry_run=True)
    assert counted.found >= 1 and counted.sent == 0
    await platform.settle()
    assert not front.matching(topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id)

    done = await replay(platform.settings, rejected, "not_member", since)
    assert message["eventId"] in done.ids
    [stored] = await front.wait_for(
        topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id
    )
    assert stored["version"] == 1
    audit = await platform.db.replays.find_one({"ids": message["eventId"]})
    assert audit is not None and audit["topic"] == rejected and audit["af"].startswith("operator:")

    await replay(platform.settings, rejected, "not_member", since)  # again: nothing new
    await platform.settle()
    assert await platform.db.joblog_history.count_documents({"joblogId": log_id}) == 1


async def test_a_refused_message_delivered_again_after_the_fix_stays_refused_until_replayed(
    platform,
):
    """A redelivery (at-least-once) is no replay: the message was decided, and its producer got
    the refusal; the same message again gets the same refusal, whatever changed meanwhile."""
    front = platform.front
    cpr = new_cpr()
    since = platform.now.replace(microsecond=0) - timedelta(seconds=1)
    log_id = ids()
    message = akasse("JOBLOG_CREATED", cpr, log_id, platform.now)
    rejected = topics.akasse_rejected("067")
    await front.send(topics.akasse_inbound("067"), message)
    await front.wait_for(rejected, lambda m: m.get("id") == message["eventId"])
    member = status(cpr, platform.now.date() - timedelta(days=1), akasse_nr="067")
    await front.send(topics.CITIZEN_STATUS, member)
    await platform.status_stored(member)

    await front.send(topics.akasse_inbound("067"), message)  # the same message, delivered again
    twice = await front.wait_for(rejected, lambda m: m.get("id") == message["eventId"], count=2)
    assert [r["reason"] for r in twice] == ["not_member", "not_member"]
    await platform.settle()
    assert not front.matching(topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id)
    assert await platform.db.joblog_history.count_documents({"joblogId": log_id}) == 0

    await replay(platform.settings, rejected, "not_member", since)  # the operator's replay
    [stored] = await front.wait_for(
        topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id
    )
    assert stored["version"] == 1


async def test_a_refused_fritagelse_delivered_again_stays_refused_until_replayed(platform):
    """The same for a jobcenter's fritagelse: granted before the citizen's move to it arrived."""
    front = platform.front
    cpr = new_cpr()
    since = platform.now.replace(microsecond=0) - timedelta(seconds=1)
    day = platform.now.date() - timedelta(days=1)
    first = status(cpr, day, jobcenter="147", akasse_nr=None)
    await front.send(topics.CITIZEN_STATUS, first)
    await platform.status_stored(first)
    grant = exemption(cpr, day)
    rejected = topics.jobcenter_rejected("101")
    await front.send(topics.jobcenter_exemption("101"), grant)  # not 101's citizen: refused
    await front.wait_for(rejected, lambda m: m.get("id") == grant["messageId"])
    moved = status(cpr, day, jobcenter="101", akasse_nr=None)
    await front.send(topics.CITIZEN_STATUS, moved)  # the move to 101 arrives late
    await platform.status_stored(moved)

    await front.send(topics.jobcenter_exemption("101"), grant)  # the same message again
    twice = await front.wait_for(rejected, lambda m: m.get("id") == grant["messageId"], count=2)
    assert [r["reason"] for r in twice] == ["jobcenter_mismatch"] * 2
    await platform.settle()
    assert await platform.db.exemption_messages.find_one({"_id": grant["messageId"]}) is None

    await replay(platform.settings, rejected, "jobcenter_mismatch", since)
    deadline = asyncio.get_running_loop().time() + 30
    while not await platform.db.exemption_messages.find_one({"_id": grant["messageId"]}):
        assert asyncio.get_running_loop().time() < deadline, "the replayed grant was not stored"
        await asyncio.sleep(0.1)
