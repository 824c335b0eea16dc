"""How many udsøgninger one holder may have streaming at once (JOBLOG_UDSOEGNING_CONCURRENCY).

An extraction reads every citizen of a jobcenter, so a holder gets a few at a time: one more is
refused with 429 and `Retry-After`. The count is per API process and in memory (one event loop:
no lock is needed between looking and taking). A slot is held from the request's acceptance
until its response has been sent or abandoned (`SlotResponse`), whatever happens in between.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import anyio
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

RETRY_AFTER_SECONDS = 10


class Slot:
    """One running extraction of a holder; `release` may be called more than once."""

    def __init__(self, slots: ExtractionSlots, holder: str) -> None:
        self._slots = slots
        self.holder = holder
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._release(self.holder)


class ExtractionSlots:
    def __init__(self, per_holder: int) -> None:
        self.per_holder = per_holder
        self._running: Counter[str] = Counter()

    def take(self, holder: str) -> Slot | None:
        """A slot for one more extraction of `holder`, None if it has `per_holder` running."""
        if self._running[holder] >= self.per_holder:
            return None
        self._running[holder] += 1
        return Slot(self, holder)

    def running(self, holder: str) -> int:
        return self._running[holder]

    def _release(self, holder: str) -> None:
        self._running[holder] -= 1
        if self._running[holder] <= 0:
            del self._running[holder]


class SlotResponse(StreamingResponse):
    """A streamed response that gives its slot back when it is done: sent, failed or the
    client gone."""

    def __init__(self, content: Any, slot: Slot, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:  # an abandoned stream is closed now (its cleanup runs), not when collected
                close = getattr(self.body_iterator, "aclose", None)
                if close is not None:
                    with anyio.CancelScope(shield=True):
                        await close()
            finally:
                self.slot.release()
