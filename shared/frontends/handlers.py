"""What the two front-end adapters share: inbound validation to the canonical command stream,
and outbound translation of accepted changes. The handlers are functions of (record, ports);
each adapter's composition root (`services/<front end>_adapter/app.py`) supplies its format's
functions (`FrontEnd`) and wires them with `wire`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from shared.contract import topics
from shared.contract.events import JoblogChange, JoblogCommand, Rejection
from shared.contract.inbound import Inbound
from shared.contract.rejections import Refusal, internal_error
from shared.frontends.common import naming_the_field
from shared.platform.ports import Clock, Outbox, Send, in_key_order, keep_unexpected

if TYPE_CHECKING:
    from shared.platform.runtime import Runtime

log = logging.getLogger("dfdg.adapter")

Parse = Callable[[bytes, str | None, datetime, int], JoblogCommand]


def no_check(command: JoblogCommand, inbound: Inbound) -> None:
    """No further refusals."""


@dataclass(frozen=True)
class FrontEnd:
    """One front end's format, and its rules of where messages come from and go."""

    parse: Parse
    message_id: Callable[[bytes], str | None]
    to_outbound: Callable[[JoblogChange], dict[str, Any]]
    outbound_topic: Callable[[JoblogChange], str | None]
    """The front end's topic that receives the change, if any."""
    check: Callable[[JoblogCommand, Inbound], None] = no_check
    """Further refusals that depend on where it came from and the adapter's own state (the
    a-kasse of the topic, the a-kasse register)."""


@dataclass(frozen=True)
class AdapterPorts:
    front: FrontEnd
    clock: Clock
    outbox: Outbox
    max_bytes: int


async def handle_inbound(inbound: Inbound, ports: AdapterPorts) -> None:
    """A front end's message: refused on its rejected topic, or sent on, canonical, to storage
    (a batch of one: `handle_inbounds`)."""
    await handle_inbounds([inbound], ports)


async def handle_inbounds(batch: list[Inbound], ports: AdapterPorts) -> None:
    """A batch of a front end's messages, each parsed and checked alone by the same rules; the
    commands and refusals are sent together (a citizen's in their order)."""
    received = await ports.clock.now()
    await in_key_order((inbound.key, answer(inbound, received, ports)) for inbound in batch)


def answer(inbound: Inbound, received: datetime, ports: AdapterPorts) -> Send:
    """What to send for one message: its refusal, or its command to storage."""
    front = ports.front
    try:
        command = front.parse(inbound.body, inbound.key, received, ports.max_bytes)
        front.check(command, inbound)
    except Refusal as refusal:
        named = naming_the_field(refusal)
        return partial(ports.outbox.reject, inbound, named, front.message_id(inbound.body))
    command = command.model_copy(
        update={
            "raaPartition": inbound.partition,
            "raaOffset": inbound.offset,
            "gentagelse": inbound.gentagelse,
        }
    )
    return partial(ports.outbox.publish, topics.JOBLOG_COMMANDS, command.cpr, command)


async def handle_change(inbound: Inbound, ports: AdapterPorts) -> None:
    """An accepted change: to the front end's outbound topic, in its format, if it is for it
    (a batch of one: `handle_changes`)."""
    await handle_changes([inbound], ports)


async def handle_changes(batch: list[Inbound], ports: AdapterPorts) -> None:
    """A batch of accepted changes, translated one by one and sent together (a citizen's in
    their order)."""
    sends: list[tuple[str | None, Send]] = []
    for inbound in batch:
        change = JoblogChange.model_validate_json(inbound.body)
        if (topic := ports.front.outbound_topic(change)) is not None:
            payload = _json(ports.front.to_outbound(change))
            send = partial(ports.outbox.publish, topic, change.entry.cpr, payload)
            sends.append((change.entry.cpr, send))
    await in_key_order(sends)


async def keep_change(inbound: Inbound, error: Exception, outbox: Outbox) -> None:
    """An internal change we cannot translate is a bug in the platform, not the producer's
    fault: it is kept on dfdg.platform.rejected (`internal_error`, the change as it is), where
    `joblog replay` finds it after the fix."""
    log.error("could not send change at %s@%s outbound: %r", inbound.topic, inbound.offset, error)
    refusal = internal_error(error)
    await outbox.reject(inbound, refusal, None, topic=topics.PLATFORM_REJECTED)


@dataclass(frozen=True)
class Documented:
    """A front end's messages, for the AsyncAPI document: its inbound model, and where its
    outbound messages and refusals go (`<nr>` for an a-kasse's number)."""

    inbound: type[BaseModel]
    outbound_topic: str
    outbound: type[BaseModel]
    rejected_topic: str


def wire(
    runtime: Runtime, inbound: topics.Source, front: FrontEnd, documented: Documented
) -> AdapterPorts:
    """An adapter's composition: its front end's inbound and the accepted changes, handled with
    the runtime's clock and outbox (the ports returned)."""
    ports = AdapterPorts(front, runtime.clock, runtime.outbox, runtime.settings.max_message_bytes)
    on_unexpected = keep_unexpected(runtime.outbox, front.message_id)
    runtime.consume(
        inbound, documented.inbound, partial(handle_inbound, ports=ports), on_unexpected,
        partial(handle_inbounds, ports=ports),
    )  # fmt: skip
    changes = topics.Source(topics.JOBLOG_CHANGES)
    keep = partial(keep_change, outbox=runtime.outbox)
    runtime.consume(
        changes, JoblogChange, partial(handle_change, ports=ports), keep,
        partial(handle_changes, ports=ports),
    )  # fmt: skip
    runtime.sends(topics.JOBLOG_COMMANDS, JoblogCommand, "a validated change, canonical")
    runtime.sends(documented.outbound_topic, documented.outbound, "an accepted change")
    runtime.sends(documented.rejected_topic, Rejection, "a refused message and why")
    runtime.sends(topics.PLATFORM_REJECTED, Rejection, "a change we could not send out")
    return ports


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()
