"""A sweep's chunks, two in flight (services/notifier/in_flight.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.notifier.in_flight import fire_chunks


async def numbers(count: int, read: list[int]) -> AsyncIterator[int]:
    for n in range(count):
        read.append(n)
        yield n


async def test_two_chunks_are_fired_side_by_side_never_more() -> None:
    running: set[int] = set()
    most = 0

    async def fire(chunk: int) -> int:
        nonlocal most
        running.add(chunk)
        most = max(most, len(running))
        await asyncio.sleep(0.01 * (chunk % 3))
        running.discard(chunk)
        return chunk

    assert await fire_chunks(numbers(7, []), fire) == sum(range(7))
    assert most == 2


async def test_a_failure_stops_the_reading_lets_the_other_finish_and_is_raised() -> None:
    read: list[int] = []
    finished: list[int] = []

    async def fire(chunk: int) -> int:
        if chunk == 1:
            raise ConnectionError("the database is gone")
        await asyncio.sleep(0.05)
        finished.append(chunk)
        return 1

    with pytest.raises(ConnectionError, match="gone"):
        await fire_chunks(numbers(10, read), fire)
    assert finished == [0, 2] or finished == [0]  # the one in flight finished, not cancelled
    assert len(read) <= 3  # no chunk read after the failure was seen
