"""The advisering sweep's chunks fired side by side: while one chunk waits for Kafka's
acknowledgements or a bulk write, the next is claimed, read and decided, so the notifier, the
database and Kafka work at once instead of in turn. The chunks are disjoint ranges of the due
queue, each fired under its own leases and exactly once on its own, so two in flight are as two
instances sharing a tick. (The monthly sweep stays one chunk after the other: a month that
passed while the platform was down is queued by the chunk before and found by the next read.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

Chunk = TypeVar("Chunk")

CHUNKS_IN_FLIGHT = 2
"""More gains nothing on two cores: the database is then busy all the time."""


async def fire_chunks(
    chunks: AsyncIterator[Chunk],
    fire: Callable[[Chunk], Awaitable[int]],
    at_most: int = CHUNKS_IN_FLIGHT,
) -> int:
    """Fire the chunks, at most `at_most` at a time; the notices sent. A failure stops the
    reading of further chunks, lets those in flight finish (their leases given up, not left
    to lapse) and is raised then, the first one if several failed."""
    sent = 0
    running: set[asyncio.Task[int]] = set()
    try:
        async for chunk in chunks:
            while len(running) >= at_most:
                done, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                sent += sum(task.result() for task in done)
            running.add(asyncio.ensure_future(fire(chunk)))
    finally:
        results = await asyncio.gather(*running, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
        sent += result
    return sent
