"""The ports a handler uses besides its repository: the clock and the outbox. Handlers are plain
functions of (message, ports); the composition root of each service (its `app.py`) passes the
real ones (`shared.runtime`), the handler tests pass fakes (`tests/fakes.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from shared.inbound import Inbound
from shared.rejections import Refusal


class Clock(Protocol):
    """The platform clock (`shared.clock.PlatformClock`)."""

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
