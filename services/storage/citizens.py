"""Storage's handlers of the citizens' status and exemption messages: functions of (message,
`StoragePorts`). Each is stored, recorded in the read models, and noted on dfdg.citizen.changes
for the notifier; an a-kasse that offers joblog and that the citizen newly joins receives his
current joblogs (a snapshot). A bad message is refused on its producer's rejected topic."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from services.storage.ports import StoragePorts
from shared.contract import topics
from shared.contract.citizen import ExemptionMessage, StatusMessage, status_on, timeline
from shared.contract.cpr import mask
from shared.contract.events import CitizenChange, Handling, JoblogChange
from shared.contract.inbound import Inbound
from shared.contract.rejections import Reason, Refusal
from shared.contract.tid import day_of, moment_problem
from shared.readmodel import updates as read_model
from shared.readmodel.facts import status_messages
from shared.readmodel.writer import BEFORE

M = TypeVar("M", bound=BaseModel)
log = logging.getLogger("dfdg.storage")


async def handle_status(inbound: Inbound, ports: StoragePorts) -> None:
    message = await parse_citizen(inbound, StatusMessage, ports)
    if message is None:
        return
    if await ports.repo.status_done(message.messageId):
        return
    now = await ports.clock.now()
    # the feed stamps the real time: with a simulated clock behind it, the wall clock is receipt
    if problem := moment_problem(message.tidspunkt, max(now, datetime.now(UTC))):
        refusal = Refusal(Reason.FIELD_INVALID, f"tidspunkt: {problem}", "tidspunkt")
        await ports.outbox.reject(inbound, refusal, str(message.messageId))
        return
    await ports.repo.add_status(message, now)
    member, citizen = read_model.status_updates(message, now)
    await ports.writer.apply(member)
    earlier = status_messages(await ports.writer.apply(citizen, BEFORE), message.messageId)
    today = day_of(now)
    before = status_on(timeline(earlier), today)
    after = status_on(timeline([*earlier, message]), today)
    joined = after.akasseNr if after else None
    if (
        joined is not None
        and joined != (before.akasseNr if before else None)
        and ports.register.offers_joblog(joined)
    ):
        await send_snapshot(message.cpr, joined, ports)
    await note_change(message.cpr, "status", now, ports)
    await ports.repo.mark_status_done(message.messageId)


async def send_snapshot(cpr: str, akasse_nr: str, ports: StoragePorts) -> None:
    """A new a-kasse offering joblog receives all the citizen's current joblogs."""
    joblogs = await ports.joblogs.current_of(cpr)
    for joblog in joblogs:
        change = JoblogChange(
            handling=Handling.OPRET, entry=joblog, akasseNr=akasse_nr, snapshot=True
        )
        await ports.outbox.publish(topics.JOBLOG_CHANGES, cpr, change)
    log.info("snapshot of %d joblogs for %s to a-kasse %s", len(joblogs), mask(cpr), akasse_nr)


async def handle_exemption(inbound: Inbound, ports: StoragePorts) -> None:
    """A fritagelse message is decided once, as a joblog message is: a redelivery of one
    accepted before is not checked again (it completes what a crash left), one refused before
    gets its refusal again, and only a replay (`joblog replay`) decides it anew."""
    message = await parse_citizen(inbound, ExemptionMessage, ports)
    if message is None:
        return
    before = await ports.repo.exemption_outcome(message.messageId)
    if before is not None and before.refusal is not None and before.settles(inbound.gentagelse):
        await ports.outbox.reject(inbound, before.refusal, str(message.messageId))
        return
    if before is None or before.refusal is not None:
        try:
            await check_jobcenter(message, topics.jobcenter_of(inbound.topic), ports)
        except Refusal as refusal:
            day = day_of(await ports.clock.now())
            await ports.repo.mark_exemption_refused(
                message.messageId, refusal, inbound.gentagelse, day
            )
            await ports.outbox.reject(inbound, refusal, str(message.messageId))
            return
    now = await ports.clock.now()
    await ports.repo.add_exemption(message, now)
    await ports.writer.apply(read_model.exemption_update(message, now))
    await note_change(message.cpr, "exemption", now, ports)


async def check_jobcenter(message: ExemptionMessage, kode: str | None, ports: StoragePorts) -> None:
    """A jobcenter grants or revokes fritagelser for its own citizens only: those it has on the
    exemption's first day."""
    if message.jobcenter != kode:
        raise Refusal(
            Reason.JOBCENTER_MISMATCH,
            f"jobcenter {message.jobcenter} is not the jobcenter of this topic ({kode})",
            "jobcenter",
        )
    status = await ports.facts.status_on(message.cpr, message.gyldigFra)
    if status is None or status.jobcenter != kode:
        raise Refusal(
            Reason.JOBCENTER_MISMATCH,
            f"the citizen does not belong to jobcenter {kode} on {message.gyldigFra}",
            "cpr",
        )


async def note_change(cpr: str, why: str, now: datetime, ports: StoragePorts) -> None:
    change = CitizenChange.model_validate({"cpr": cpr, "aarsag": why, "tidspunkt": now})
    await ports.outbox.publish(topics.CITIZEN_CHANGES, cpr, change)


async def parse_citizen(inbound: Inbound, model: type[M], ports: StoragePorts) -> M | None:
    """Validate a status or exemption message; a bad one goes to its producer's rejected topic
    (dfdg.citizen.rejected, jobcenter.<kode>.rejected)."""
    try:
        return model.model_validate_json(inbound.body)
    except ValidationError as error:
        refusal = citizen_refusal(error)
    except ValueError:
        refusal = Refusal(Reason.MALFORMED, "the message is not a JSON object")
    await ports.outbox.reject(inbound, refusal, message_id(inbound.body))
    return None


def citizen_refusal(error: ValidationError) -> Refusal:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "json_invalid":
        return Refusal(Reason.MALFORMED, f"not valid JSON: {first['msg']}")
    if field == "cpr":
        return Refusal(Reason.INVALID_CPR, f"cpr: {first['msg']}", "cpr")
    return Refusal(Reason.FIELD_INVALID, f"{field}: {first['msg']}", field)


def message_id(body: bytes) -> str | None:
    """Best effort: the message's messageId, for a rejection record (None for a body that is no
    JSON object, too deeply nested to read, or without one)."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    found = value.get("messageId") if isinstance(value, dict) else None
    return found[:200] if isinstance(found, str) else None
