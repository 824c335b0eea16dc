"""Storage stops after each step of a joblog change (as if the process died there) and the message
comes again: nothing is lost, no version is stored twice, what went out is identical.

The "crash" is a connection failure raised right after the step's effect is durable; storage then
nacks and Kafka delivers the same message again, as after a restart. Storage handles its commands
a batch at a time (services/storage/batch.py): each step is one bulk write of the whole batch, so
the crash comes after a step of a batch, or in the middle of one bulk (after its first documents);
the batch that comes again completes exactly what was missing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pymongo.errors import ConnectionFailure

from harness import application, ids, jobnet
from shared.contract import topics
from shared.readmodel.facts import FactsReader
from tests.integration.test_joblog_sync import ak, jn

STEPS = {
    "history stored": ("repo", "add_versions"),
    "projected": ("repo", "project_all"),
    "activity recorded": ("writer", "apply_bulk"),
    "sent on": ("outbox", "publish"),
    "marked finished": ("repo", "mark_all_finished"),
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
    citizen = await FactsReader(platform.db).document(cpr)
    assert [a["version"] for a in citizen["aktivitet"]] == [1]
    sent = front.matching(topics.JOBNET_OUTBOUND, jn(log_id))
    assert sent and all(message == sent[0] for message in sent)  # at least once, identical

    monkeypatch.undo()  # the next change is handled as usual and gets version 2
    ret = jobnet("ret", cpr, log_id, platform.now, 1, application(noter="efter"))
    await front.send(topics.JOBNET_INBOUND, ret)
    [v2, *_] = await front.wait_for(topics.JOBNET_OUTBOUND, jn(log_id, version=2))
    assert v2["joblog"]["noter"] == "efter"


# -- a batch: a crash between each pair of bulk writes, and in the middle of one -------------


class PartialCollection:
    """A collection whose bulk write (`insert_many` or `bulk_write`) of documents that concern
    the test writes only the first `first` of them, once, then raises the simulated crash."""

    def __init__(self, real: Any, method: str, first: int, concerns: Any) -> None:
        self.real, self.method, self.first, self.concerns = real, method, first, concerns
        self.crashed: list[int] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if name != self.method:
            return attribute

        async def partial(items: list[Any], *args: Any, **kwargs: Any) -> Any:
            mine = [item for item in items if self.concerns(item)]
            if self.crashed or len(mine) < 2:
                return await attribute(items, *args, **kwargs)
            self.crashed.append(len(items))
            await attribute(items[: self.first], *args, **kwargs)
            raise ConnectionFailure("simulated crash mid-bulk")

        return partial


class PartialDatabase:
    """The read-model writer's database, with one collection (`name`) a `PartialCollection`."""

    def __init__(self, real: Any, name: str, collection: PartialCollection) -> None:
        self.real, self.name, self.collection = real, name, collection

    def __getitem__(self, name: str) -> Any:
        return self.collection if name == self.name else self.real[name]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


AFTER_STEP = {f"after {name}": step for name, step in STEPS.items()}
MID_BULK = {
    "mid history": ("repo", "history", "insert_many"),
    "mid projection": ("repo", "joblogs", "insert_many"),  # new joblogs' projections
    "mid activity": ("writer", "aktivitet", "insert_many"),
    "mid beskeder": ("repo", "messages", "insert_many"),
}


@pytest.mark.parametrize("crash", [*AFTER_STEP, *MID_BULK])
async def test_a_crash_in_a_batch_and_the_batch_again_complete_exactly_what_was_missing(
    platform, monkeypatch, crash
):
    """A citizen's three joblogs, each created and edited (based on version 1) in one batch: two
    waves (his records share a partition, so a batch holds them all). The batch is first held
    back until all six commands are waiting (then nacked: it comes again whole), then storage
    crashes once after the step or in the middle of the bulk write; the same batch comes again."""
    front = platform.front
    cprs = [await platform.new_member()] * 3
    log_ids = [ids() for _ in cprs]
    storage = next(s for s in platform.services if s.runtime.name == "storage")
    ports = storage.ports
    targets = {"repo": ports.repo, "writer": ports.writer, "outbox": ports.outbox}

    def concerns(item: Any) -> bool:  # a document, an update or a step's arguments of ours
        return any(mine in repr(item) for mine in [*cprs, *log_ids])

    held: list[int] = []
    sizes: list[int] = []
    finished_among = ports.repo.finished_among

    async def hold(besked_ids: Any) -> Any:
        besked_ids = list(besked_ids)
        if not held and any(str(b) in sent_ids for b in besked_ids):
            held.append(1)  # the first batch of ours: nacked once all six are on the topic
            await asyncio.sleep(3)
            raise ConnectionFailure("held back, to come again as one batch")
        sizes.append(sum(str(b) in sent_ids for b in besked_ids))
        return await finished_among(besked_ids)

    monkeypatch.setattr(ports.repo, "finished_among", hold)
    if crash in AFTER_STEP:
        owner, name = AFTER_STEP[crash]
        target = targets[owner]
        step = getattr(target, name)
        crashed: list[int] = []

        async def crashing(*args: Any) -> Any:
            result = await step(*args)
            if not crashed and held and concerns(args):
                crashed.append(1)
                raise ConnectionFailure("simulated crash")
            return result

        monkeypatch.setattr(target, name, crashing)
    else:
        owner, collection, method = MID_BULK[crash]
        if owner == "writer":
            real = ports.writer.db
            partial = PartialCollection(real[collection], method, 1, concerns)
            monkeypatch.setattr(ports.writer, "db", PartialDatabase(real, collection, partial))
        else:
            partial = PartialCollection(getattr(ports.repo, collection), method, 1, concerns)
            monkeypatch.setattr(ports.repo, collection, partial)
        crashed = partial.crashed

    messages = []
    for cpr, log_id in zip(cprs, log_ids, strict=True):
        messages.append(jobnet("opret", cpr, log_id, platform.now, joblog=application(noter="a")))
        messages.append(jobnet("ret", cpr, log_id, platform.now, 1, application(noter="b")))
    sent_ids = {m["beskedId"] for m in messages}
    for message in messages:
        await front.send(topics.JOBNET_INBOUND, message)
    for log_id in log_ids:
        await front.wait_for(topics.akasse_outbound("067"), ak(log_id, version=2), timeout=60)
    await platform.settle()
    await front.caught_up()
    assert held and crashed, "the batch did not reach the step"
    assert sizes[0] == len(messages), f"not one batch: {sizes}"

    for cpr, log_id in zip(cprs, log_ids, strict=True):
        history = await platform.db.joblog_history.find({"joblogId": log_id}).to_list()
        assert sorted(doc["version"] for doc in history) == [1, 2]
        [v1] = [doc for doc in history if doc["version"] == 1]
        assert v1["joblog"]["noter"] == "a"
        projection = await platform.db.joblogs.find_one({"_id": log_id})
        assert (projection["version"], projection["joblog"]["noter"]) == (2, "b")
        citizen = await FactsReader(platform.db).document(cpr)
        activity = [a["version"] for a in citizen["aktivitet"] if a["joblogId"] == log_id]
        assert sorted(activity) == [1, 2]  # once each
        for version in (1, 2):
            for topic, match in (
                (topics.JOBNET_OUTBOUND, jn(log_id, version=version)),
                (topics.akasse_outbound("067"), ak(log_id, version=version)),
            ):
                sent = front.matching(topic, match)
                assert sent and all(m == sent[0] for m in sent)  # at least once, identical
    finished = await platform.db.beskeder.find({"_id": {"$in": sorted(sent_ids)}}).to_list()
    assert len(finished) == len(sent_ids)
    rejected = front.matching(topics.JOBNET_REJECTED, lambda r: any(b in repr(r) for b in sent_ids))
    assert rejected == []
