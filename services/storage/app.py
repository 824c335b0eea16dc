"""Storage: the single shared record (DFDG).

Consumes the canonical commands of both adapters, the citizens' status and exemption messages;
stores them idempotently; publishes every accepted change on dfdg.joblog.changes (the adapters
turn it into their outbound formats) and a note on dfdg.citizen.changes for the notifier.
"""

from __future__ import annotations

from functools import partial

from services.storage import batch, citizens, handlers
from services.storage.ports import StoragePorts
from services.storage.repository import Repository
from shared.contract import topics
from shared.contract.citizen import ExemptionMessage, StatusMessage
from shared.contract.events import CitizenChange, JoblogChange, JoblogCommand, Rejection
from shared.platform.ports import keep_unexpected
from shared.platform.registry import named
from shared.platform.runtime import Runtime, Service
from shared.platform.settings import Settings
from shared.platform.steps import StepTimes
from shared.readmodel.facts import FactsReader
from shared.readmodel.joblogs import JoblogReader
from shared.readmodel.writer import ReadModelWriter

SPEC = named("storage")


def build(settings: Settings) -> Service[StoragePorts]:
    """The composition root: storage's handlers on its database, the a-kasse register, the
    platform clock and the broker's outbox."""
    runtime = Runtime(SPEC.name, settings, __doc__ or "", with_database=True)
    register = runtime.register()
    db = runtime.database()
    repo = Repository(db)
    runtime.on_start(repo.drop_unused_indexes)
    ports = StoragePorts(
        repo=repo,
        facts=FactsReader(db),
        writer=ReadModelWriter(db),
        joblogs=JoblogReader(db),
        register=register,
        clock=runtime.clock,
        outbox=runtime.outbox,
        steps=StepTimes(
            batch.STEP_METRIC,
            "A part of a batch of joblog commands: each step's time",
            runtime.metrics,
        ),
    )
    runtime.consume(
        topics.Source(topics.JOBLOG_COMMANDS), JoblogCommand,
        partial(handlers.handle_command, ports=ports), partial(handlers.keep_command, ports=ports),
        partial(batch.handle_commands, ports=ports),
    )  # fmt: skip
    keep_citizen = keep_unexpected(ports.outbox, citizens.message_id)
    runtime.consume(
        topics.Source(topics.CITIZEN_STATUS), StatusMessage,
        partial(citizens.handle_status, ports=ports), keep_citizen,
    )  # fmt: skip
    runtime.consume(
        topics.JOBCENTER_EXEMPTION, ExemptionMessage,
        partial(citizens.handle_exemption, ports=ports), keep_citizen,
    )  # fmt: skip
    runtime.sends(topics.JOBLOG_CHANGES, JoblogChange, "every accepted change, and snapshots")
    runtime.sends(topics.CITIZEN_CHANGES, CitizenChange, "a citizen's facts changed")
    refused = "a refused message and why"
    for rejected in (
        topics.JOBNET_REJECTED, topics.akasse_rejected("<nr>"), topics.CITIZEN_REJECTED,
        topics.jobcenter_rejected("<kode>"),
    ):  # fmt: skip
        runtime.sends(rejected, Rejection, refused)
    runtime.sends(topics.PLATFORM_REJECTED, Rejection, "a command we could not read")
    return Service(runtime, ports)
