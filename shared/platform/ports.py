"""The ports a handler uses besides its repository: the clock and the outbox. Handlers are plain
functions of (message, ports); the composition root of each service (its `app.py`) passes the
real ones (`shared.platform.runtime`), the handler tests pass fakes (`tests/fakes.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from shared.contract.inbound import Inbound
from shared.contract.rejections import Refusal, internal_error

Handle = Callable[[Inbound], Awaitable[None]]
"""A handler, as the delivery policy (`shared.platform.kafka.deliver_batch`) calls it."""
Fallback = Callable[[Inbound, Exception], Awaitable[None]]
HandleBatch = Callable[[list[Inbound]], Awaitable[None]]
"""A batch-native handler: the whole batch in one go (one read and one bulk write per
collection), each key's records in their order."""
"""What becomes of a record whose handler raised something unexpected."""


class Clock(Protocol):
    """The platform clock (`shared.platform.clock.PlatformClock`)."""

    async def now(self) -> datetime: ...


class Outbox(Protocol):
    """Where a handler's effects go: records on topics, and refusals on the producer's
    `*.rejected` topic."""

    async def publish(self, topic: str, key: str, payload: BaseModel | bytes) -> None: ...

    async def reject(
        self,
        inbound: Inbound,
        refusal: Refusal,
        message_id: str | None,
        topic: str | None = None,
    ) -> None:
        """Report `inbound` refused on `topic` (default: its producer's rejected topic)."""


def keep_unexpected(outbox: Outbox, message_id_of: Callable[[bytes], str | None]) -> Fallback:
    """The fallback of `deliver_batch` for a producer's messages: one that raised something
    unexpected is kept on the producer's rejected topic with `internal_error`, so it is lost
    nowhere and blocks nothing."""

    async def keep(inbound: Inbound, error: Exception) -> None:
        await outbox.reject(inbound, internal_error(error), message_id_of(inbound.body))

    return keep


Send = Callable[[], Awaitable[object]]


async def in_key_order(sends: Iterable[tuple[str | None, Send]]) -> None:
    """Run a batch's publishes together: those of one key (a citizen) one after another in the
    order given, as the records they answer were (Kafka keeps a key's records in the order they
    were sent, and a handler's record by record did so), the keys' at once."""
    chains: dict[str | None, list[Send]] = {}
    for key, send in sends:
        chains.setdefault(key, []).append(send)

    async def in_order(chain: list[Send]) -> None:
        for send in chain:
            await send()

    await asyncio.gather(*(in_order(chain) for chain in chains.values()))
