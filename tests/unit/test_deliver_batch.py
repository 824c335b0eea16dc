"""The delivery policy of a batch (shared.platform.kafka.deliver_batch), without Kafka: each
citizen's records in order, citizens at once, a bad record kept and passed, a transient failure
nacking the batch only after the rest has run."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest
from aiokafka.errors import KafkaConnectionError
from faststream.exceptions import NackMessage
from pymongo.errors import ConnectionFailure

import shared.platform.kafka
from shared.contract import topics
from shared.contract.events import Rejection
from shared.contract.inbound import Inbound
from shared.platform.clock import PlatformClock
from shared.platform.kafka import PART_RECORDS, deliver_batch, deliver_whole, parts_of
from shared.platform.runtime import KafkaOutbox
from shared.platform.settings import ClockMode, Settings


@pytest.fixture(autouse=True)
def no_retry_pause(monkeypatch):
    monkeypatch.setattr(shared.platform.kafka, "RETRY_PAUSE_SECONDS", 0)


def batch(*keyed: tuple[str, str]) -> list[Inbound]:
    return [Inbound("t", 0, offset, key, body.encode()) for offset, (key, body) in enumerate(keyed)]


async def test_each_key_in_order_and_keys_at_once():
    handled: list[str] = []
    running = 0
    most = 0

    async def handle(inbound: Inbound) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        handled.append(inbound.body.decode())
        running -= 1

    records = batch(("a", "a1"), ("b", "b1"), ("a", "a2"), ("c", "c1"), ("b", "b2"), ("a", "a3"))
    await deliver_batch(records, handle, _never, at_once=2)

    assert sorted(handled) == ["a1", "a2", "a3", "b1", "b2", "c1"]
    for key in "abc":
        mine = [body for body in handled if body.startswith(key)]
        assert mine == sorted(mine)
    assert most == 2


async def test_a_bad_record_is_kept_and_the_key_goes_on():
    handled: list[str] = []
    kept: list[str] = []

    async def handle(inbound: Inbound) -> None:
        if inbound.body == b"a1":
            raise ValueError("poison")
        handled.append(inbound.body.decode())

    async def keep(inbound: Inbound, error: Exception) -> None:
        kept.append(inbound.body.decode())

    await deliver_batch(batch(("a", "a1"), ("a", "a2")), handle, keep, at_once=4)
    assert kept == ["a1"] and handled == ["a2"]


async def test_a_transient_failure_stops_its_key_and_nacks_after_the_others():
    handled: list[str] = []

    async def handle(inbound: Inbound) -> None:
        if inbound.body == b"a1":
            raise ConnectionFailure("database away")
        await asyncio.sleep(0.01)
        handled.append(inbound.body.decode())

    with pytest.raises(NackMessage):
        await deliver_batch(
            batch(("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2")), handle, _never, at_once=4
        )
    assert handled == ["b1", "b2"]  # a2 waits for a1: the whole batch comes again


async def _never(inbound: Inbound, error: Exception) -> None:
    raise AssertionError(f"unexpected {error!r} for {inbound}")


async def test_a_fallback_that_fails_too_leaves_the_record_to_the_last_resort():
    """A poison record that breaks the fallback as well (a body nested too deeply for it to
    read the message id, say) is kept by the last resort, and the key goes on."""
    handled: list[str] = []
    kept: list[tuple[str, str]] = []

    async def handle(inbound: Inbound) -> None:
        if inbound.body == b"a1":
            raise ValueError("poison")
        handled.append(inbound.body.decode())

    async def fallback(inbound: Inbound, error: Exception) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    async def last_resort(inbound: Inbound, error: Exception) -> None:
        kept.append((inbound.body.decode(), type(error).__name__))

    records = batch(("a", "a1"), ("a", "a2"), ("b", "b1"))
    await deliver_batch(records, handle, fallback, 4, last_resort)
    assert kept == [("a1", "ValueError")]  # the handler's error, not the fallback's
    assert sorted(handled) == ["a2", "b1"]


async def test_nothing_but_a_nack_leaves_the_batch():
    """The handler, the fallback and the last resort all fail (not transiently): the batch
    still ends normally, the other records handled."""
    handled: list[str] = []

    async def handle(inbound: Inbound) -> None:
        if inbound.body == b"a1":
            raise RecursionError("deep")
        handled.append(inbound.body.decode())

    async def broken(inbound: Inbound, error: Exception) -> None:
        raise TypeError("broken too")

    await deliver_batch(batch(("a", "a1"), ("a", "a2")), handle, broken, 4, broken)
    await deliver_batch(batch(("a", "a1"), ("a", "a2")), handle, broken, 4)  # no last resort
    assert handled == ["a2", "a2"]


@pytest.mark.parametrize("failing", ["fallback", "last resort"])
async def test_a_transient_failure_while_keeping_nacks(failing):
    """Kafka away while the rejection is written: the batch comes again (the record is not
    passed unkept)."""

    async def handle(inbound: Inbound) -> None:
        raise ValueError("poison")

    async def away(inbound: Inbound, error: Exception) -> None:
        raise KafkaConnectionError()

    async def broken(inbound: Inbound, error: Exception) -> None:
        raise TypeError("broken")

    fallback, last_resort = (away, _never) if failing == "fallback" else (broken, away)
    with pytest.raises(NackMessage):
        await deliver_batch(batch(("a", "a1")), handle, fallback, 4, last_resort)


async def test_the_keep_raw_rejection_reads_nothing_of_the_body():
    """The last resort's rejection is made of the raw bytes alone: a body no parser can read
    (nested 100,000 deep, not UTF-8) is kept whole, cut at the limit, with no id."""
    body = b"\xff" + b"[" * 100_000 + b"]" * 100_000
    inbound = Inbound(topics.CITIZEN_STATUS, 2, 41, "k", body)
    sent: list[tuple[str, str, Rejection]] = []

    class Producer:
        async def publish(self, payload: bytes, topic: str, key: bytes, headers: object) -> None:
            sent.append((topic, key.decode(), Rejection.model_validate_json(payload)))

    runtime = SimpleNamespace(
        producer=Producer(),
        clock=PlatformClock(ClockMode.REAL),
        settings=Settings(),
        log=logging.getLogger("test"),
    )
    await KafkaOutbox(runtime).keep_raw(inbound, RecursionError("deep"))  # type: ignore[arg-type]
    [(topic, key, record)] = sent
    assert (topic, key) == (topics.CITIZEN_REJECTED, "k")
    assert record.reason == "internal_error" and record.id is None
    assert record.message == "internal error: RecursionError"
    assert record.rawBytes == len(body) and (record.sourcePartition, record.sourceOffset) == (2, 41)
    assert len(record.raw) == Settings().rejected_raw_max_bytes


@pytest.mark.parametrize(
    ("source", "kept_on"),
    [
        (topics.TIMERS, topics.PLATFORM_REJECTED),
        (topics.JOBLOG_COMMANDS, topics.PLATFORM_REJECTED),
        (topics.JOBLOG_CHANGES, topics.PLATFORM_REJECTED),
        (topics.CITIZEN_CHANGES, topics.PLATFORM_REJECTED),
        (topics.CITIZEN_STATUS, topics.CITIZEN_REJECTED),
        (topics.jobcenter_exemption("101"), topics.jobcenter_rejected("101")),
        (topics.akasse_inbound("067"), topics.akasse_rejected("067")),
        (topics.JOBNET_INBOUND, topics.JOBNET_REJECTED),
    ],
)
def test_every_consumed_topic_has_a_rejected_topic(source, kept_on):
    assert topics.rejected_topic_for(source) == kept_on


# -- a batch-native handler (deliver_whole) ----------------------------------------------------


async def test_a_batch_native_handler_takes_the_whole_batch_once():
    seen: list[list[str]] = []

    async def whole(records: list[Inbound]) -> None:
        seen.append([r.body.decode() for r in records])

    records = batch(("a", "a1"), ("b", "b1"), ("a", "a2"))
    await deliver_whole(records, whole, _never_one, _never, at_once=2)
    assert seen == [["a1", "b1", "a2"]]


async def test_a_failed_batch_is_handled_again_record_by_record_and_the_bad_one_kept():
    one_by_one: list[str] = []
    kept: list[str] = []

    async def whole(records: list[Inbound]) -> None:
        raise ValueError("a bad record among them")

    async def one(inbound: Inbound) -> None:
        if inbound.body == b"bad":
            raise ValueError("bad")
        one_by_one.append(inbound.body.decode())

    async def keep(inbound: Inbound, error: Exception) -> None:
        kept.append(inbound.body.decode())

    records = batch(("a", "a1"), ("b", "bad"), ("a", "a2"))
    await deliver_whole(records, whole, one, keep, at_once=2)
    assert one_by_one == ["a1", "a2"] and kept == ["bad"]


@pytest.mark.parametrize("outage", [ConnectionFailure("db"), KafkaConnectionError("kafka")])
async def test_an_outage_in_a_batch_nacks_it_without_handling_it_again(outage):
    async def whole(records: list[Inbound]) -> None:
        raise outage

    with pytest.raises(NackMessage):
        await deliver_whole(batch(("a", "a1")), whole, _never_one, _never, at_once=1)


def keyed(citizens: int, each: int) -> list[Inbound]:
    """`each` records of each of `citizens` keys, interleaved: c0-0, c1-0, …, c0-1, …"""
    return batch(*((f"c{c}", f"c{c}-{n}") for n in range(each) for c in range(citizens)))


def test_a_batch_is_split_by_key_into_parts_each_key_in_one_part_in_order():
    records = keyed(citizens=7, each=PART_RECORDS // 2)
    parts = parts_of(records, 3)
    assert len(parts) == 3
    assert sorted(r.offset for p in parts for r in p) == [r.offset for r in records]
    for part in parts:
        keys = {r.key for r in part}
        assert all(r.key not in keys for other in parts if other is not part for r in other)
        for key in keys:
            mine = [r.body.decode() for r in part if r.key == key]
            assert mine == [f"{key}-{n}" for n in range(PART_RECORDS // 2)]


@pytest.mark.parametrize(
    ("size", "asked", "got"),
    [(1, 2, 1), (2 * PART_RECORDS - 1, 2, 1), (2 * PART_RECORDS, 2, 2), (500, 2, 2), (500, 1, 1)],
)
def test_a_part_holds_at_least_part_records(size, asked, got):
    assert len(parts_of(keyed(citizens=size, each=1), asked)) == got


def test_one_citizen_is_never_split():
    assert len(parts_of(keyed(citizens=1, each=4 * PART_RECORDS), 2)) == 1


async def test_the_parts_of_a_batch_run_at_once():
    running = most = 0
    seen: list[int] = []

    async def whole(records: list[Inbound]) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        seen.append(len(records))
        running -= 1

    await deliver_whole(keyed(citizens=200, each=1), whole, _never_one, _never, 8, parts=2)
    assert most == 2 and sorted(seen) == [100, 100]


async def test_a_failed_part_has_the_whole_batch_handled_again_once_the_other_part_is_done():
    events: list[str] = []

    async def whole(records: list[Inbound]) -> None:
        if any(r.body == b"c0-0" for r in records):
            raise ValueError("a bad record among them")
        await asyncio.sleep(0.01)
        events.append("the other part done")

    async def one(inbound: Inbound) -> None:
        events.append("one by one")

    await deliver_whole(keyed(citizens=200, each=1), whole, one, _never, 8, parts=2)
    assert events[0] == "the other part done" and events[1:] == ["one by one"] * 200


@pytest.mark.parametrize("outage", [ConnectionFailure("db"), KafkaConnectionError("kafka")])
async def test_an_outage_in_one_part_nacks_the_batch_once_the_other_part_is_done(outage):
    done: list[int] = []

    async def whole(records: list[Inbound]) -> None:
        if any(r.body == b"c0-0" for r in records):
            raise outage
        await asyncio.sleep(0.01)
        done.append(len(records))

    with pytest.raises(NackMessage):
        await deliver_whole(keyed(citizens=200, each=1), whole, _never_one, _never, 8, parts=2)
    assert done == [100]


async def _never_one(inbound: Inbound) -> None:
    raise AssertionError("not record by record")
