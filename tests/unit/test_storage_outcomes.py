"""A joblog message is decided once: storage records a refusal as the message's outcome (in
`beskeder`, before the refusal goes out), so a redelivery after the facts changed gets the same
refusal again instead of a new decision, and only a replay (`joblog replay`, the `dfdg-replay`
header) decides it anew. Both paths: the batch handler and the per-record one; and a fritagelse
message the same way."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest

from services.storage import batch, citizens, handlers
from shared.contract import topics
from shared.contract.citizen import ExemptionMessage
from shared.contract.events import JoblogCommand
from shared.contract.inbound import Inbound
from shared.contract.rejections import Reason
from tests.unit.test_storage_batch import World, world
from tests.unit.test_storage_handlers import (
    AKASSE,
    JOBCENTER,
    OTHER_JOBCENTER,
    command,
    exemption,
    inbound_of,
    status,
    with_status,
)

Handle = Callable[[World, JoblogCommand, str | None], Awaitable[None]]


def delivered(cmd: JoblogCommand, gentagelse: str | None) -> Inbound:
    """The command as storage receives it, in the replay `gentagelse` (the header) or none."""
    return replace(inbound_of(cmd, topics.JOBLOG_COMMANDS), gentagelse=gentagelse)


async def in_batch(w: World, cmd: JoblogCommand, gentagelse: str | None) -> None:
    await batch.handle_commands([delivered(cmd, gentagelse)], w.ports)


async def per_record(w: World, cmd: JoblogCommand, gentagelse: str | None) -> None:
    await handlers.handle_command(delivered(cmd, gentagelse), w.ports)


paths = pytest.mark.parametrize("handle", [in_batch, per_record], ids=["batch", "per-record"])


def reasons(w: World) -> list[Reason]:
    return [r.refusal.reason for r in w.outbox.rejected]


@paths
async def test_a_refused_message_redelivered_after_the_facts_changed_stays_refused(
    handle: Handle,
):
    w = world(offering={AKASSE})
    create = command(kilde=f"akasse:{AKASSE}")
    await handle(w, create, None)  # not yet a member: refused
    await with_status(w, status(AKASSE))  # now he is
    await handle(w, create, None)  # the same message again (a rebalance, a crash)
    assert reasons(w) == [Reason.NOT_MEMBER, Reason.NOT_MEMBER]
    assert [r.message_id for r in w.outbox.rejected] == [str(create.beskedId)] * 2
    assert w.repo.history == {} and w.changes() == []


@paths
async def test_a_refused_message_in_a_replay_is_decided_anew_and_then_settled(handle: Handle):
    w = world(offering={AKASSE})
    create = command(kilde=f"akasse:{AKASSE}")
    await handle(w, create, None)
    await with_status(w, status(AKASSE))
    await handle(w, create, "replay-1")  # the operator replays it after the fix
    assert reasons(w) == [Reason.NOT_MEMBER]
    assert [c.entry.version for c in w.changes()] == [1]
    assert create.beskedId in w.repo.finished_ids and create.beskedId not in w.repo.refusals
    for gentagelse in (None, "replay-1", "replay-2"):  # accepted: settled for every delivery
        await handle(w, create, gentagelse)
    assert reasons(w) == [Reason.NOT_MEMBER] and len(w.changes()) == 1


@paths
async def test_a_replay_refused_again_is_settled_for_that_replay_only(handle: Handle):
    w = world(offering={AKASSE})
    create = command(kilde=f"akasse:{AKASSE}")
    await handle(w, create, None)
    await handle(w, create, "replay-1")  # not fixed yet: refused again, under the replay
    assert w.repo.refusals[create.beskedId].gentagelse == "replay-1"
    await with_status(w, status(AKASSE))
    await handle(w, create, "replay-1")  # that replay redelivered: its refusal again
    assert reasons(w) == [Reason.NOT_MEMBER] * 3 and w.changes() == []
    await handle(w, create, "replay-2")  # a new replay after the fix
    assert len(w.changes()) == 1


@paths
async def test_a_crash_before_the_refusal_went_out_sends_it_on_redelivery(
    handle: Handle, monkeypatch
):
    w = world(offering={AKASSE})
    create = command(kilde=f"akasse:{AKASSE}")
    real = w.outbox.reject

    async def outage(*args, **kwargs):
        raise ConnectionError("kafka is gone")

    monkeypatch.setattr(w.outbox, "reject", outage)
    with pytest.raises(ConnectionError):
        await handle(w, create, None)
    assert w.repo.refusals[create.beskedId].refusal is not None  # decided before it went out
    monkeypatch.setattr(w.outbox, "reject", real)
    await with_status(w, status(AKASSE))  # the facts change before the redelivery
    await handle(w, create, None)
    assert reasons(w) == [Reason.NOT_MEMBER] and w.changes() == []


async def test_a_batch_decides_a_refused_message_and_its_twin_once():
    w = world(offering={AKASSE})
    create = command(kilde=f"akasse:{AKASSE}")
    twin = delivered(create, None)
    await batch.handle_commands([twin, replace(twin, offset=8)], w.ports)
    assert reasons(w) == [Reason.NOT_MEMBER]
    assert w.repo.trips["beskeder write"] == 1


# -- a fritagelse message, decided once as well ------------------------------------------------


async def grant(w: World, message: ExemptionMessage, gentagelse: str | None = None) -> None:
    inbound = inbound_of(message, topics.jobcenter_exemption(JOBCENTER))
    await citizens.handle_exemption(replace(inbound, gentagelse=gentagelse), w.ports)


async def test_a_refused_fritagelse_delivered_again_after_the_move_stays_refused():
    w = world()
    await with_status(w, status(None, OTHER_JOBCENTER))
    message = exemption(jobcenter=JOBCENTER)
    await grant(w, message)  # not yet the jobcenter's citizen: refused
    await with_status(w, status(None, JOBCENTER))  # the move arrives
    await grant(w, message)  # the same message again
    assert reasons(w) == [Reason.JOBCENTER_MISMATCH] * 2 and w.repo.exemptions == {}
    await grant(w, message, "replay-1")  # the operator's replay decides it anew
    assert message.messageId in w.repo.exemptions and len(w.outbox.rejected) == 2
    await grant(w, message)  # accepted: settled for every delivery
    assert len(w.outbox.rejected) == 2


async def test_an_accepted_fritagelse_delivered_again_after_a_move_is_not_refused():
    w = world()
    await with_status(w, status(None, JOBCENTER))
    message = exemption(jobcenter=JOBCENTER)
    await grant(w, message)
    await with_status(w, status(None, OTHER_JOBCENTER))  # he moved since (backdated)
    await grant(w, message)  # a redelivery completes, never refuses what was accepted
    assert w.outbox.rejected == [] and message.messageId in w.repo.exemptions
