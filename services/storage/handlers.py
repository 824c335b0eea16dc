"""Storage's handlers of joblog commands: functions of (message, `StoragePorts`).

A command is accepted (`accept`: the history entry it stored before a crash, or a new version
decided by the merge rule against the newest one) and then finished (`finish`: projected,
recorded in the citizen's read model, sent on, marked finished), or refused on its producer's
rejected topic in the producer's terms."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date, datetime

from pydantic import ValidationError

from services.storage import merge
from services.storage.ports import Register, StoragePorts
from services.storage.records import HistoryEntry
from shared.contract import topics
from shared.contract.citizen import Period, StatusMessage, status_on, timeline
from shared.contract.cpr import is_valid_cpr, mask
from shared.contract.events import CitizenChange, Handling, Joblog, JoblogChange, JoblogCommand
from shared.contract.inbound import Inbound
from shared.contract.joblog_rules import check_joblog
from shared.contract.rejections import Reason, Refusal, internal_error
from shared.contract.tid import day_of, moment_problem, to_millis
from shared.frontends.akasse import AKASSE
from shared.frontends.common import Format, naming_the_field
from shared.frontends.jobnet import JOBNET

log = logging.getLogger("dfdg.storage")

VERSION_ATTEMPTS = 5
KILDE = re.compile(r"jobnet|akasse:[0-9]{3}")  # ASCII digits (\d takes any script's)


class VersionTaken(ConnectionError):
    """Another writer took the version we computed: retry the message (a transient error)."""


async def handle_command(inbound: Inbound, ports: StoragePorts) -> None:
    command = JoblogCommand.model_validate_json(inbound.body)
    replay = gentagelse_of(command, inbound)
    before = await ports.repo.finished(command.beskedId)
    if before is not None and before.settles(replay):
        if before.refusal is not None:  # refused: again (a crash may have come before it went)
            await send_refusal(command, inbound, before.refusal, ports)
        return  # a redelivery or a twin of a message decided before
    now = await ports.clock.now()
    try:
        entry = await accept(command, now, ports)
    except Refusal as refusal:
        await ports.repo.mark_refused(
            [(command.beskedId, refusal, replay)], {command.beskedId} if before else set(),
            day_of(now),
        )  # fmt: skip
        await send_refusal(command, inbound, refusal, ports)
        return
    await finish(entry, ports, replacing=before is not None)


def gentagelse_of(command: JoblogCommand, inbound: Inbound) -> str | None:
    """The replay a command came in: its front end's message was replayed to the adapter, or
    the command itself (from dfdg.platform.rejected) to storage."""
    return command.gentagelse or inbound.gentagelse


async def send_refusal(
    command: JoblogCommand, inbound: Inbound, refusal: Refusal, ports: StoragePorts
) -> None:
    named = naming_the_field(refusal, format_of(command))  # in the producer's terms
    await ports.outbox.reject(original(command, inbound), named, str(command.beskedId))


async def accept(command: JoblogCommand, now: datetime, ports: StoragePorts) -> HistoryEntry:
    """The history entry for this command: the one it stored before a crash, or a new version
    decided by the merge rule."""
    check_command(command, day_of(now))
    if command.akasse_nr is not None:
        await check_member(command, now, ports)
    latest = await ports.repo.projected(command.joblogId)
    for _ in range(VERSION_ATTEMPTS):
        if latest is not None and latest.made_by(command.beskedId) and latest.cpr == command.cpr:
            return latest  # stored by this message before a crash
        entry = await next_version(command, latest, now, ports)
        if (taken := await ports.repo.add_version(entry)) is None:
            break
        latest = taken  # unprojected (a crash) or a concurrent writer's: decide against it
    else:  # another writer kept taking the version: let the message come again
        raise VersionTaken(f"joblog {command.joblogId}: version taken {VERSION_ATTEMPTS} times")
    log.info(
        "joblog %s v%d %s from %s for %s", command.joblogId, entry.version, command.handling,
        command.kilde, mask(command.cpr),
    )  # fmt: skip
    return entry


async def next_version(
    command: JoblogCommand, latest: HistoryEntry | None, now: datetime, ports: StoragePorts
) -> HistoryEntry:
    stored = latest.stored if latest is not None else None
    base = None
    grund = command.grundversion
    if grund is not None and stored is not None and grund < stored.version:
        base = await ports.repo.joblog_at(command.joblogId, grund)
    return next_entry(command, latest, base, now)


def next_entry(
    command: JoblogCommand, latest: HistoryEntry | None, base: Joblog | None, now: datetime
) -> HistoryEntry:
    """The next version by the merge rule, against `latest` and the merge's `base` content."""
    accepted = to_millis(now)  # the database keeps milliseconds: so does every message
    outcome = merge.decide(
        command, latest.stored if latest is not None else None, base,
        latest.tidspunkt if latest is not None else None, accepted,
        format_of(command).entry_names(),
    )  # fmt: skip
    return HistoryEntry(
        outcome.entry, command.handling, command.beskedId, command.tidspunkt, accepted,
        outcome.merge,
    )  # fmt: skip


async def check_member(command: JoblogCommand, now: datetime, ports: StoragePorts) -> None:
    today = day_of(now)
    check_membership(command, await ports.facts.status_on(command.cpr, today), today)


def check_membership(command: JoblogCommand, status: Period | None, today: date) -> None:
    """An a-kasse's command is for its own members only (the citizen's status `today`)."""
    if status is None or status.akasseNr != command.akasse_nr:
        raise Refusal(
            Reason.NOT_MEMBER,
            f"the citizen is not a member of a-kasse {command.akasse_nr} on {today}",
            "cpr",
        )


async def finish(entry: HistoryEntry, ports: StoragePorts, replacing: bool = False) -> None:
    """Project the version, record the activity, send it on, and mark the message finished
    (`replacing` its refusal of before). Every step is idempotent: after a crash the message
    comes again and finishes (a change then may go out twice, identical: at-least-once)."""
    await ports.repo.project(entry)
    await ports.writer.apply(entry.activity())
    statuses = await ports.facts.statuses_of([entry.cpr])
    change = JoblogChange(
        handling=entry.handling,
        entry=entry.stored,
        akasseNr=receiving_of(statuses.get(entry.cpr, []), entry.accepteret, ports.register),
    )
    note = CitizenChange(cpr=entry.cpr, aarsag="joblog", tidspunkt=entry.accepteret)
    await asyncio.gather(
        ports.outbox.publish(topics.JOBLOG_CHANGES, entry.cpr, change),
        ports.outbox.publish(topics.CITIZEN_CHANGES, entry.cpr, note),
    )
    await ports.repo.mark_finished(entry, replacing)


def receiving_of(messages: list[StatusMessage], now: datetime, register: Register) -> str | None:
    """The citizen's a-kasse on the day of `now` (from his status messages), if it offers a
    joblog."""
    status = status_on(timeline(messages), day_of(now))
    if status is not None and register.offers_joblog(status.akasseNr):
        return status.akasseNr
    return None


async def keep_command(inbound: Inbound, error: Exception, ports: StoragePorts) -> None:
    """The fallback: a command that raised something unexpected is kept on its producer's
    rejected topic with `internal_error`; one that cannot even be read (an adapter's bug) is
    kept as it is on dfdg.platform.rejected, for `joblog replay` after the fix."""
    refusal = internal_error(error)
    try:
        command = JoblogCommand.model_validate_json(inbound.body)
    except ValidationError:
        log.error("unreadable internal command at offset %s", inbound.offset)
        await ports.outbox.reject(inbound, refusal, None, topic=topics.PLATFORM_REJECTED)
        return
    await ports.outbox.reject(original(command, inbound), refusal, str(command.beskedId))


def check_command(command: JoblogCommand, today: date) -> None:
    """Defence in depth: a record on the internal topic is checked like one from a front end
    (the adapters' checks are not trusted to have run)."""
    if not is_valid_cpr(command.cpr):
        raise Refusal(Reason.INVALID_CPR, "cpr is not a valid CPR number", "cpr")
    if not KILDE.fullmatch(command.kilde):
        raise Refusal(Reason.MALFORMED, f"unknown source {command.kilde!r}", "kilde")
    # the times first: one out of bounds (year 1 or 9999 with an offset) has no UTC value, so
    # nothing below may compare or store it (an OverflowError, again on every replay)
    if problem := moment_problem(command.modtaget):
        raise Refusal(Reason.MALFORMED, problem, "modtaget")
    if problem := moment_problem(command.tidspunkt, command.modtaget):
        raise Refusal(Reason.FIELD_INVALID, problem, "tidspunkt")
    if command.joblog is not None:
        check_joblog(command.joblog, today)
    elif command.handling is not Handling.SLET:
        raise Refusal(Reason.FIELD_INVALID, "joblog: is required", "joblog")


def format_of(command: JoblogCommand) -> Format:
    return AKASSE if command.producer == "akasse" else JOBNET


def original(command: JoblogCommand, inbound: Inbound) -> Inbound:
    """Where the command came from, for a rejection on the producer's topic. A command of no
    known source (an adapter's bug, or a forgery on the internal topic) is no front end's to
    see: it is kept as it is, on the operator's dfdg.platform.rejected."""
    if command.kilde == "jobnet":
        topic = topics.JOBNET_INBOUND
    elif KILDE.fullmatch(command.kilde) and command.akasse_nr is not None:
        topic = topics.akasse_inbound(command.akasse_nr)
    else:
        return inbound
    return Inbound(
        topic, command.raaPartition, command.raaOffset, command.cpr, command.raa.encode()
    )
