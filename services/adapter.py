"""What the two front-end adapters share: inbound validation to the canonical command stream,
and outbound translation of accepted changes. Each adapter supplies its format's functions."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import BaseModel

from services.mapping_common import naming_the_field
from shared import topics
from shared.events import JoblogChange, JoblogCommand, Rejection
from shared.kafka import Inbound, publish
from shared.rejections import Refusal
from shared.service import Service
from shared.settings import Settings

Parse = Callable[[bytes, str | None, datetime, int], JoblogCommand]
Outbound = Callable[[JoblogChange], dict[str, Any]]


class FormatTopics(NamedTuple):
    """A front end's messages, for the AsyncAPI document: its inbound model, and where its
    outbound messages and refusals go (`<nr>` for an a-kasse's number)."""

    inbound: type[BaseModel]
    outbound_topic: str
    outbound: type[BaseModel]
    rejected_topic: str


class FrontendAdapter(Service):
    """One front end's adapter. Subclasses set the topics and format functions, and may add
    checks on the parsed command (`check`) and a routing rule for outbound (`wants`)."""

    uses_database = False
    inbound: topics.Source

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)

        documented = self.format_topics()
        on_unexpected = self.on_unexpected(self.message_id)
        self.consume(self.inbound, documented.inbound, self.handle_inbound, on_unexpected)
        changes = topics.Source(topics.JOBLOG_CHANGES)
        self.consume(changes, JoblogChange, self.handle_change, self._skip_change)
        self.sends(topics.JOBLOG_COMMANDS, JoblogCommand, "a validated change, canonical")
        self.sends(documented.outbound_topic, documented.outbound, "an accepted change")
        self.sends(documented.rejected_topic, Rejection, "a refused message and why")

    # format hooks ---------------------------------------------------------------------------

    def format_topics(self) -> FormatTopics:
        raise NotImplementedError

    def parse(
        self, raw: bytes, key: str | None, received: datetime, max_bytes: int
    ) -> JoblogCommand:
        raise NotImplementedError

    def to_outbound(self, change: JoblogChange) -> dict[str, Any]:
        raise NotImplementedError

    def message_id(self, raw: bytes) -> str | None:
        raise NotImplementedError

    def check(self, command: JoblogCommand, inbound: Inbound) -> None:
        """Further refusals that depend on where it came from and the adapter's own state (the
        a-kasse of the topic, the a-kasse register)."""

    def outbound_topic(self, change: JoblogChange) -> str | None:
        """The front end's topic that receives the change, if any."""
        raise NotImplementedError

    # handlers -------------------------------------------------------------------------------

    async def handle_inbound(self, inbound: Inbound) -> None:
        received = await self.clock.now()
        try:
            command = self.parse(
                inbound.body, inbound.key, received, self.settings.max_message_bytes
            )
            self.check(command, inbound)
        except Refusal as refusal:
            named = naming_the_field(refusal)
            await self.reject(inbound, named, self.message_id(inbound.body))
            return
        command = command.model_copy(
            update={"raaPartition": inbound.partition, "raaOffset": inbound.offset}
        )
        await self.publish(topics.JOBLOG_COMMANDS, command.cpr, command)

    async def handle_change(self, inbound: Inbound) -> None:
        change = JoblogChange.model_validate_json(inbound.body)
        if (topic := self.outbound_topic(change)) is not None:
            payload = self.to_outbound(change)
            await publish(self.broker, topic, change.entry.cpr, _json(payload))

    async def _skip_change(self, inbound: Inbound, error: Exception) -> None:
        # An internal change we cannot translate is a bug in the platform, not the producer's
        # fault: it stays in dfdg.joblog.changes at this offset for replay after the fix.
        self.log.error(
            "could not send change at %s@%s outbound: %r", inbound.topic, inbound.offset, error
        )


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()
