"""Storage: the single shared record (DFDG).

Consumes the canonical commands of both adapters, the citizens' status and exemption messages;
stores them idempotently; publishes every accepted change on dfdg.joblog.changes (the adapters
turn it into their outbound formats) and a note on dfdg.citizen.changes for the notifier.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date, datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from services.storage import merge
from services.storage.repository import (
    Repository,
    history_doc,
    joblog_of,
)
from shared import read_model, topics
from shared.citizen import ExemptionMessage, StatusMessage, status_on, timeline
from shared.cpr import is_valid_cpr, mask
from shared.document import Document
from shared.events import CitizenChange, Handling, JoblogChange, JoblogCommand, Rejection
from shared.facts import FactsReader, status_messages
from shared.formats.akasse import AKASSE
from shared.formats.common import Format, naming_the_field
from shared.formats.jobnet import JOBNET
from shared.inbound import Inbound
from shared.joblog_rules import check_joblog
from shared.joblogs import JoblogReader, stored_from
from shared.read_model_writer import AFTER, BEFORE, ReadModelWriter
from shared.rejections import Reason, Refusal
from shared.service import Service
from shared.settings import Settings
from shared.tid import day_of

M = TypeVar("M", bound=BaseModel)


VERSION_ATTEMPTS = 5
KILDE = re.compile(r"jobnet|akasse:\d{3}")


class VersionTaken(ConnectionError):
    """Another writer took the version we computed: retry the message (a transient error)."""


class StorageService(Service):
    name = "storage"
    follows_register = True

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.repo: Repository
        self.facts: FactsReader
        self.writer: ReadModelWriter
        self.joblogs: JoblogReader

        commands = topics.Source(topics.JOBLOG_COMMANDS)
        self.consume(commands, JoblogCommand, self.handle_command, self._keep_command)
        status = topics.Source(topics.CITIZEN_STATUS)
        self.consume(status, StatusMessage, self.handle_status, self._keep_citizen)
        exemptions = topics.JOBCENTER_EXEMPTION
        self.consume(exemptions, ExemptionMessage, self.handle_exemption, self._keep_citizen)
        self.sends(topics.JOBLOG_CHANGES, JoblogChange, "every accepted change, and snapshots")
        self.sends(topics.CITIZEN_CHANGES, CitizenChange, "a citizen's facts changed")
        refused = "a refused message and why"
        for rejected in (
            topics.JOBNET_REJECTED, topics.akasse_rejected("<nr>"), topics.CITIZEN_REJECTED,
            topics.jobcenter_rejected("<kode>"),
        ):  # fmt: skip
            self.sends(rejected, Rejection, refused)

    async def prepare_database(self) -> None:
        self.repo = Repository(self.db)
        self.facts = FactsReader(self.db)
        self.writer = ReadModelWriter(self.db)
        self.joblogs = JoblogReader(self.db)
        await self.repo.create_indexes()

    # -- joblogs ---------------------------------------------------------------------------

    async def handle_command(self, inbound: Inbound) -> None:
        command = JoblogCommand.model_validate_json(inbound.body)
        if await self.repo.finished(command.beskedId):
            return  # a redelivery or a twin of a message handled to the end
        try:
            doc = await self.accept(command, await self.clock.now())
        except Refusal as refusal:
            named = naming_the_field(refusal, _format(command))  # in the producer's terms
            await self.reject(_original(command), named, str(command.beskedId))
            return
        await self.finish(doc)

    async def accept(self, command: JoblogCommand, now: datetime) -> Document:
        """The history entry for this command: the one it stored before a crash, or a new
        version decided by the merge rule."""
        check_command(command, day_of(now))
        if command.akasse_nr is not None:
            await self.check_member(command, now)
        latest = await self.repo.projected(command.joblogId)
        for _ in range(VERSION_ATTEMPTS):
            if latest is not None and latest["beskedId"] == str(command.beskedId):
                return latest  # stored by this message before a crash
            doc = await self.next_version(command, latest, now)
            if (taken := await self.repo.add_version(doc)) is None:
                break
            latest = taken  # unprojected (a crash) or a concurrent writer's: decide against it
        else:  # another writer kept taking the version: let the message come again
            raise VersionTaken(f"joblog {command.joblogId}: version taken {VERSION_ATTEMPTS} times")
        self.log.info(
            "joblog %s v%d %s from %s for %s", command.joblogId, doc["version"],
            command.handling, command.kilde, mask(command.cpr),
        )  # fmt: skip
        return doc

    async def next_version(
        self, command: JoblogCommand, latest: Document | None, now: datetime
    ) -> Document:
        stored = stored_from(latest) if latest else None
        base = None
        older = (
            command.grundversion is not None and stored and command.grundversion < stored.version
        )
        if older and command.grundversion is not None:
            base_doc = await self.repo.history_entry(command.joblogId, command.grundversion)
            base = joblog_of(base_doc) if base_doc else None
        # the database keeps milliseconds: so does every outbound message, first one included
        accepted = to_millis(now)
        outcome = merge.decide(
            command, stored, base, latest["tidspunkt"] if latest else None, accepted,
            _format(command).entry_names(),
        )  # fmt: skip
        return history_doc(
            outcome.entry, command.handling, command.beskedId, command.tidspunkt, accepted,
            outcome.merge.as_document() if outcome.merge else None,
        )  # fmt: skip

    async def check_member(self, command: JoblogCommand, now: datetime) -> None:
        today = day_of(now)
        status = await self.facts.status_on(command.cpr, today)
        if status is None or status.akasseNr != command.akasse_nr:
            raise Refusal(
                Reason.NOT_MEMBER,
                f"the citizen is not a member of a-kasse {command.akasse_nr} on {today}",
                "cpr",
            )

    async def finish(self, doc: Document) -> None:
        """Project the version, record the activity, send it on, and mark the message finished.
        Every step is idempotent: after a crash the message comes again and finishes (a change
        then may go out twice, identical: at-least-once)."""
        await self.repo.project(doc)
        activity = read_model.history_update(doc)
        citizen = await self.writer.apply(activity, AFTER) or {"_id": doc["cpr"]}
        entry = stored_from(doc)
        change = JoblogChange(
            handling=Handling(doc["handling"]),
            entry=entry,
            akasseNr=self.receiving_akasse(citizen, doc["accepteret"]),
        )
        note = CitizenChange(cpr=entry.cpr, aarsag="joblog", tidspunkt=doc["accepteret"])
        await asyncio.gather(
            self.publish(topics.JOBLOG_CHANGES, entry.cpr, change),
            self.publish(topics.CITIZEN_CHANGES, entry.cpr, note),
        )
        await self.repo.mark_finished(doc)

    def receiving_akasse(self, citizen: Document, now: datetime) -> str | None:
        """The citizen's a-kasse on the day of `now`, if it offers a joblog."""
        status = status_on(timeline(status_messages(citizen)), day_of(now))
        if status is not None and self.register.offers_joblog(status.akasseNr):
            return status.akasseNr
        return None

    # -- status and exemptions -------------------------------------------------------------

    async def handle_status(self, inbound: Inbound) -> None:
        message = await self.parse_citizen(inbound, StatusMessage)
        if message is None:
            return
        if await self.repo.status_done(message.messageId):
            return
        now = await self.clock.now()
        await self.repo.add_status(message, now)
        member, citizen = read_model.status_updates(message, now)
        await self.writer.apply(member)
        earlier = status_messages(await self.writer.apply(citizen, BEFORE), message.messageId)
        today = day_of(now)
        before = status_on(timeline(earlier), today)
        after = status_on(timeline([*earlier, message]), today)
        joined = after.akasseNr if after else None
        if (
            joined is not None
            and joined != (before.akasseNr if before else None)
            and self.register.offers_joblog(joined)
        ):
            await self.send_snapshot(message.cpr, joined)
        await self.note_change(message.cpr, "status", now)
        await self.repo.mark_status_done(message.messageId)

    async def send_snapshot(self, cpr: str, akasse_nr: str) -> None:
        """A new a-kasse offering joblog receives all the citizen's current joblogs."""
        joblogs = await self.joblogs.current_of(cpr)
        for joblog in joblogs:
            change = JoblogChange(
                handling=Handling.OPRET, entry=joblog, akasseNr=akasse_nr, snapshot=True
            )
            await self.publish(topics.JOBLOG_CHANGES, cpr, change)
        self.log.info(
            "snapshot of %d joblogs for %s to a-kasse %s", len(joblogs), mask(cpr), akasse_nr
        )

    async def handle_exemption(self, inbound: Inbound) -> None:
        message = await self.parse_citizen(inbound, ExemptionMessage)
        if message is None:
            return
        try:
            await self.check_jobcenter(message, topics.jobcenter_of(inbound.topic))
        except Refusal as refusal:
            await self.reject(inbound, refusal, str(message.messageId))
            return
        now = await self.clock.now()
        await self.repo.add_exemption(message, now)
        await self.writer.apply(read_model.exemption_update(message, now))
        await self.note_change(message.cpr, "exemption", now)

    async def check_jobcenter(self, message: ExemptionMessage, kode: str | None) -> None:
        """A jobcenter grants or revokes fritagelser for its own citizens only: those it has on
        the exemption's first day."""
        if message.jobcenter != kode:
            raise Refusal(
                Reason.JOBCENTER_MISMATCH,
                f"jobcenter {message.jobcenter} is not the jobcenter of this topic ({kode})",
                "jobcenter",
            )
        status = await self.facts.status_on(message.cpr, message.gyldigFra)
        if status is None or status.jobcenter != kode:
            raise Refusal(
                Reason.JOBCENTER_MISMATCH,
                f"the citizen does not belong to jobcenter {kode} on {message.gyldigFra}",
                "cpr",
            )

    async def note_change(self, cpr: str, why: str, now: datetime) -> None:
        change = CitizenChange.model_validate({"cpr": cpr, "aarsag": why, "tidspunkt": now})
        await self.publish(topics.CITIZEN_CHANGES, cpr, change)

    async def parse_citizen(self, inbound: Inbound, model: type[M]) -> M | None:
        """Validate a status or exemption message; a bad one goes to dfdg.citizen.rejected."""
        try:
            return model.model_validate_json(inbound.body)
        except ValidationError as error:
            refusal = citizen_refusal(error)
        except ValueError:
            refusal = Refusal(Reason.MALFORMED, "the message is not a JSON object")
        await self.reject(inbound, refusal, _message_id(inbound.body))
        return None

    async def _keep_command(self, inbound: Inbound, error: Exception) -> None:
        try:
            command = JoblogCommand.model_validate_json(inbound.body)
        except ValidationError:
            self.log.error("unreadable internal command at offset %s", inbound.offset)
            return
        refusal = Refusal(Reason.INTERNAL_ERROR, f"internal error: {type(error).__name__}")
        await self.reject(_original(command), refusal, str(command.beskedId))

    async def _keep_citizen(self, inbound: Inbound, error: Exception) -> None:
        await self.on_unexpected(_message_id)(inbound, error)


def check_command(command: JoblogCommand, today: date) -> None:
    """Defence in depth: a record on the internal topic is checked like one from a front end
    (the adapters' checks are not trusted to have run)."""
    if not is_valid_cpr(command.cpr):
        raise Refusal(Reason.INVALID_CPR, "cpr is not a valid CPR number", "cpr")
    if not KILDE.fullmatch(command.kilde):
        raise Refusal(Reason.MALFORMED, f"unknown source {command.kilde!r}", "kilde")
    if command.joblog is not None:
        check_joblog(command.joblog, today)
    elif command.handling is not Handling.SLET:
        raise Refusal(Reason.FIELD_INVALID, "joblog: is required", "joblog")


def citizen_refusal(error: ValidationError) -> Refusal:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "json_invalid":
        return Refusal(Reason.MALFORMED, f"not valid JSON: {first['msg']}")
    if field == "cpr":
        return Refusal(Reason.INVALID_CPR, f"cpr: {first['msg']}", "cpr")
    return Refusal(Reason.FIELD_INVALID, f"{field}: {first['msg']}", field)


def to_millis(moment: datetime) -> datetime:
    """The moment as the database stores it (BSON dates hold milliseconds)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _message_id(body: bytes) -> str | None:
    try:
        value = json.loads(body).get("messageId")
    except (ValueError, AttributeError):
        return None
    return str(value) if value is not None else None


def _format(command: JoblogCommand) -> Format:
    return AKASSE if command.producer == "akasse" else JOBNET


def _original(command: JoblogCommand) -> Inbound:
    """Where the command came from, for a rejection on the producer's topic."""
    if command.producer == "jobnet" or command.akasse_nr is None:
        topic = topics.JOBNET_INBOUND
    else:
        topic = topics.akasse_inbound(command.akasse_nr)
    return Inbound(
        topic, command.raaPartition, command.raaOffset, command.cpr, command.raa.encode()
    )


def build(settings: Settings) -> StorageService:
    return StorageService(settings)
