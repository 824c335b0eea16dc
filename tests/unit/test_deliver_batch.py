"""The delivery policy of a batch (shared.platform.kafka.deliver_batch), without Kafka: each
citizen's records in order, citizens at once, a bad record kept and passed, a transient failure
nacking the batch only after the rest has run."""

from __future__ import annotations

import asyncio

import pytest
from faststream.exceptions import NackMessage
from pymongo.errors import ConnectionFailure

import shared.platform.kafka
from shared.contract.inbound import Inbound
from shared.platform.kafka import deliver_batch


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
