"""Storage stops after each step of a joblog change (as if the process died there) and the message
comes again: nothing is lost, no version is stored twice, what went out is identical.

The "crash" is a connection failure raised right after the step's effect is durable; storage then
nacks and Kafka delivers the same message again, as after a restart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pymongo.errors import ConnectionFailure

from harness import application, ids, jobnet
from shared.contract import topics
from tests.integration.test_joblog_sync import ak, jn

STEPS = {
    "history stored": ("repo", "add_version"),
    "projected": ("repo", "project"),
    "activity recorded": ("writer", "apply"),
    "sent on": ("outbox", "publish"),
    "marked finished": ("repo", "mark_finished"),
}


def crash_once_after(
    step: Callable[..., Awaitable[Any]], concerns: Callable[[tuple[Any, ...]], bool]
) -> tuple[Callable[..., Awaitable[Any]], list[int]]:
    crashed: list[int] = []

    async def crashing(*args: Any) -> Any:
        result = await step(*args)
        if not crashed and concerns(args):
            crashed.append(1)
            raise ConnectionFailure("simulated crash")
        return result

    return crashing, crashed


@pytest.mark.parametrize("after", list(STEPS))
async def test_a_crash_after_each_step_stores_once_and_sends_the_same(platform, monkeypatch, after):
    front, cpr, log_id = platform.front, await platform.new_member(), ids()
    storage = next(s for s in platform.services if s.runtime.name == "storage")
    owner, name = STEPS[after]
    ports = storage.ports  # what its composition root wired the handlers with
    target = {"repo": ports.repo, "writer": ports.writer, "outbox": ports.outbox}[owner]
    crashing, crashed = crash_once_after(getattr(target, name), lambda args: cpr in repr(args))
    monkeypatch.setattr(target, name, crashing)

    opret = jobnet("opret", cpr, log_id, platform.now, joblog=application(noter="før"))
    await front.send(topics.JOBNET_INBOUND, opret)
    await front.wait_for(topics.akasse_outbound("067"), ak(log_id, version=1))
    await platform.settle()
    await front.caught_up()
    assert crashed, "the step did not run for this message"

    history = await platform.db.joblog_history.find({"joblogId": log_id}).to_list()
    assert [doc["version"] for doc in history] == [1]
    assert (await platform.db.joblogs.find_one({"_id": log_id}))["version"] == 1
    assert await platform.db.beskeder.find_one({"_id": opret["beskedId"]}) is not None
    citizen = await platform.db.borgere.find_one({"_id": cpr})
    assert [a["version"] for a in citizen["aktivitet"]] == [1]
    sent = front.matching(topics.JOBNET_OUTBOUND, jn(log_id))
    assert sent and all(message == sent[0] for message in sent)  # at least once, identical

    monkeypatch.undo()  # the next change is handled as usual and gets version 2
    ret = jobnet("ret", cpr, log_id, platform.now, 1, application(noter="efter"))
    await front.send(topics.JOBNET_INBOUND, ret)
    [v2, *_] = await front.wait_for(topics.JOBNET_OUTBOUND, jn(log_id, version=2))
    assert v2["joblog"]["noter"] == "efter"
