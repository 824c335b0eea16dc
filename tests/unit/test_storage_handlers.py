"""Storage's handlers' decisions, fast: the handlers (services/storage/handlers.py, citizens.py)
run against in-memory fakes of the repository, the facts, the read-model writer and the joblog
reader, with `tests/fakes.py`'s clock and outbox. The real-broker integration tests stay."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from services.storage import citizens, handlers
from services.storage.handlers import VERSION_ATTEMPTS, VersionTaken
from services.storage.ports import StoragePorts
from services.storage.records import HistoryEntry, Outcome
from shared.contract import topics
from shared.contract.citizen import (
    ExemptionAction,
    ExemptionMessage,
    Maalgruppe,
    Period,
    StatusMessage,
    status_on,
    timeline,
)
from shared.contract.events import (
    Ansoegningsstatus,
    CitizenChange,
    Handling,
    Joblog,
    JoblogChange,
    JoblogCommand,
    JoblogType,
    StoredJoblog,
)
from shared.contract.inbound import Inbound
from shared.contract.rejections import Reason, Refusal
from shared.platform.ports import keep_unexpected
from shared.readmodel.aktivitet import activity_id
from shared.readmodel.document import Document
from shared.readmodel.facts import status_messages
from shared.readmodel.updates import ACTIVITY, CITIZENS, Update, folded
from tests.fakes import FakeClock, FakeOutbox

NOW = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)
CPR = "0101901234"
AKASSE = "067"
OTHER_AKASSE = "068"
JOBCENTER = "101"
OTHER_JOBCENTER = "147"

CONTENT = Joblog(
    type=JoblogType.ANSOEGNING,
    stilling="Lagerarbejder",
    virksomhed="Lager A/S",
    land="DK",
    status=Ansoegningsstatus.SOEGT,
    soegtDato=date(2026, 3, 1),
)


# -- fakes of storage's ports ----------------------------------------------------------------


class FakeRepository:
    """The repository in memory: history by (joblogId, version), the projection, the markers."""

    def __init__(self) -> None:
        self.history: dict[tuple[UUID, int], HistoryEntry] = {}
        self.current: dict[UUID, HistoryEntry] = {}
        self.finished_ids: set[UUID] = set()  # accepted
        self.refusals: dict[UUID, Outcome] = {}
        self.statuses: dict[UUID, StatusMessage] = {}
        self.exemptions: dict[UUID, ExemptionMessage] = {}
        self.exemption_refusals: dict[UUID, Outcome] = {}
        self.status_published: set[UUID] = set()
        self.add_attempts = 0

    async def finished(self, besked_id: UUID) -> Outcome | None:
        if besked_id in self.finished_ids:
            return Outcome()
        return self.refusals.get(besked_id)

    async def mark_finished(self, entry: HistoryEntry, replacing: bool = False) -> None:
        assert replacing == (entry.besked_id in self.refusals)  # as the database would refuse
        self.refusals.pop(entry.besked_id, None)
        self.finished_ids.add(entry.besked_id)

    async def mark_refused(
        self, refused: Iterable[tuple[UUID, Refusal, str | None]], replacing: set[UUID], day: date
    ) -> None:
        for besked_id, refusal, gentagelse in refused:
            assert (besked_id in replacing) == (besked_id in self.refusals)
            self.refusals[besked_id] = Outcome(refusal, gentagelse)

    async def joblog_at(self, joblog_id: UUID, version: int) -> Joblog | None:
        entry = self.history.get((joblog_id, version))
        return entry.stored.joblog if entry is not None else None

    async def projected(self, joblog_id: UUID) -> HistoryEntry | None:
        return self.current.get(joblog_id)

    async def add_version(self, entry: HistoryEntry) -> HistoryEntry | None:
        self.add_attempts += 1
        key = (entry.joblog_id, entry.version)
        if key in self.history:
            return self.history[key]
        self.history[key] = entry
        return None

    async def project(self, entry: HistoryEntry) -> None:
        current = self.current.get(entry.joblog_id)
        if current is None or current.version < entry.version:
            self.current[entry.joblog_id] = entry

    async def add_status(self, message: StatusMessage, received: datetime) -> bool:
        stored = message.messageId not in self.statuses
        self.statuses.setdefault(message.messageId, message)
        return stored

    async def add_exemption(self, message: ExemptionMessage, received: datetime) -> bool:
        stored = message.messageId not in self.exemptions
        self.exemptions.setdefault(message.messageId, message)
        return stored

    async def exemption_outcome(self, message_id: UUID) -> Outcome | None:
        if message_id in self.exemptions:
            return Outcome()
        return self.exemption_refusals.get(message_id)

    async def mark_exemption_refused(
        self, message_id: UUID, refusal: Refusal, gentagelse: str | None, day: date
    ) -> None:
        self.exemption_refusals[message_id] = Outcome(refusal, gentagelse)

    async def mark_status_done(self, message_id: UUID) -> None:
        self.status_published.add(message_id)

    async def status_done(self, message_id: UUID) -> bool:
        return message_id in self.status_published

    def versions(self, joblog_id: UUID) -> list[int]:
        return sorted(version for (id_, version) in self.history if id_ == joblog_id)


class RacingRepository(FakeRepository):
    """A concurrent writer takes the version computed, `rivals` times, just before we store it."""

    def __init__(self, rivals: int) -> None:
        super().__init__()
        self.rivals = rivals

    async def add_version(self, entry: HistoryEntry) -> HistoryEntry | None:
        if self.rivals > 0:
            self.rivals -= 1
            rival = uuid4()
            stored = entry.stored.model_copy(update={"kildeBeskedId": rival, "kilde": "jobnet"})
            self.history[(entry.joblog_id, entry.version)] = replace(
                entry, stored=stored, besked_id=rival
            )
        return await super().add_version(entry)


class FakeReadModel:
    """The read-model writer in memory: each document is what its updates make
    (`shared.readmodel.updates.folded`, which a test holds equal to the database's)."""

    def __init__(self) -> None:
        self.updates: dict[tuple[str, str], list[Update]] = {}

    def document(self, collection: str, id_: str) -> Document | None:
        updates = self.updates.get((collection, id_))
        return folded(updates)[collection][id_] if updates else None

    async def apply(self, update: Update, returning: bool | None = None) -> Document | None:
        before = self.document(update.collection, update.id)
        self.updates.setdefault((update.collection, update.id), []).append(update)
        if returning is None:
            return None
        return self.document(update.collection, update.id) if returning else before


@dataclass
class FakeFacts:
    """The citizen's status as the fake read model has it (as `FactsReader` reads it)."""

    writer: FakeReadModel

    async def status_on(self, cpr: str, day: date) -> Period | None:
        doc = self.writer.document(CITIZENS, cpr)
        return status_on(timeline(status_messages(doc)), day)

    async def statuses_of(self, cprs: Iterable[str]) -> dict[str, list[StatusMessage]]:
        docs = {cpr: self.writer.document(CITIZENS, cpr) for cpr in cprs}
        return {cpr: status_messages(doc) for cpr, doc in docs.items() if doc}


@dataclass
class FakeJoblogs:
    repo: FakeRepository

    async def current_of(self, cpr: str) -> list[StoredJoblog]:
        alive = [e.stored for e in self.repo.current.values() if e.cpr == cpr]
        return sorted((s for s in alive if not s.slettet), key=lambda s: s.oprettet)


@dataclass
class FakeRegister:
    offering: set[str] = field(default_factory=set)

    def offers_joblog(self, akasse_nr: str | None) -> bool:
        return akasse_nr in self.offering


@dataclass
class World:
    repo: FakeRepository
    writer: FakeReadModel
    register: FakeRegister
    clock: FakeClock
    outbox: FakeOutbox

    @property
    def ports(self) -> StoragePorts:
        return StoragePorts(
            repo=self.repo,
            facts=FakeFacts(self.writer),
            writer=self.writer,
            joblogs=FakeJoblogs(self.repo),
            register=self.register,
            clock=self.clock,
            outbox=self.outbox,
        )

    def changes(self) -> list[JoblogChange]:
        return self.outbox.on(topics.JOBLOG_CHANGES)

    def notes(self) -> list[CitizenChange]:
        return self.outbox.on(topics.CITIZEN_CHANGES)


def world(repo: FakeRepository | None = None, offering: set[str] | None = None) -> World:
    return World(
        repo or FakeRepository(),
        FakeReadModel(),
        FakeRegister(offering or set()),
        FakeClock(NOW),
        FakeOutbox(),
    )


# -- messages ----------------------------------------------------------------------------------


def command(
    handling: Handling = Handling.OPRET,
    joblog_id: UUID | None = None,
    kilde: str = "jobnet",
    joblog: Joblog | None = CONTENT,
    grundversion: int | None = None,
) -> JoblogCommand:
    return JoblogCommand(
        beskedId=uuid4(),
        kilde=kilde,
        handling=handling,
        joblogId=joblog_id or uuid4(),
        cpr=CPR,
        tidspunkt=NOW - timedelta(minutes=5),
        grundversion=grundversion,
        joblog=None if handling is Handling.SLET else joblog,
        modtaget=NOW,
        raa='{"raw": true}',
        raaPartition=3,
        raaOffset=42,
    )


def inbound_of(message: JoblogCommand | StatusMessage | ExemptionMessage, topic: str) -> Inbound:
    return Inbound(topic, 0, 7, message.cpr, message.model_dump_json().encode())


async def handle(w: World, cmd: JoblogCommand) -> None:
    await handlers.handle_command(inbound_of(cmd, topics.JOBLOG_COMMANDS), w.ports)


def status(akasse_nr: str | None, jobcenter: str = JOBCENTER) -> StatusMessage:
    return StatusMessage(
        messageId=uuid4(),
        cpr=CPR,
        jobcenter=jobcenter,
        akasseNr=akasse_nr,
        maalgruppe=Maalgruppe.DAGPENGE,
        gyldigFra=date(2026, 1, 1),
        tidspunkt=NOW - timedelta(days=1),
    )


async def with_status(w: World, message: StatusMessage) -> None:
    await citizens.handle_status(inbound_of(message, topics.CITIZEN_STATUS), w.ports)


def exemption(jobcenter: str = JOBCENTER) -> ExemptionMessage:
    return ExemptionMessage(
        messageId=uuid4(),
        cpr=CPR,
        exemptionId=uuid4(),
        jobcenter=jobcenter,
        handling=ExemptionAction.TILDEL,
        gyldigFra=date(2026, 3, 1),
        begrundelse="sygdom",
    )


# -- accepting a command -----------------------------------------------------------------------


async def test_a_new_joblog_is_stored_projected_sent_on_and_finished():
    w = world()
    cmd = command()
    await handle(w, cmd)
    assert w.repo.versions(cmd.joblogId) == [1]
    assert w.repo.current[cmd.joblogId].version == 1
    assert cmd.beskedId in w.repo.finished_ids
    [change] = w.changes()
    assert change.handling is Handling.OPRET and change.akasseNr is None
    assert change.entry.version == 1 and change.entry.joblog == CONTENT
    assert change.entry.senestAendret == NOW.replace(microsecond=123000)  # milliseconds
    [note] = w.notes()
    assert (note.cpr, note.aarsag, note.tidspunkt) == (CPR, "joblog", change.entry.senestAendret)
    activity = w.writer.document(ACTIVITY, activity_id(CPR, str(cmd.joblogId), 1))
    assert activity is not None and activity["joblogId"] == str(cmd.joblogId)
    assert (activity["version"], activity["handling"]) == (1, "opret")


async def test_a_concurrent_writer_taking_the_version_is_decided_against():
    repo = RacingRepository(rivals=0)
    w = world(repo)
    created = command()
    await handle(w, created)
    repo.rivals, repo.add_attempts = 2, 0
    edit = command(Handling.RET, created.joblogId, joblog=CONTENT.model_copy(update={"noter": "x"}))
    await handle(w, edit)
    # v2 and v3 were taken by the other writer: decided against each, ours became v4
    assert repo.add_attempts == 3
    assert w.repo.versions(created.joblogId) == [1, 2, 3, 4]
    stored = w.repo.history[(created.joblogId, 4)]
    assert stored.besked_id == edit.beskedId and stored.stored.joblog.noter == "x"
    assert [c.entry.version for c in w.changes()] == [1, 4]
    assert edit.beskedId in w.repo.finished_ids


async def test_a_version_taken_as_often_as_attempted_lets_the_message_come_again():
    repo = RacingRepository(rivals=0)
    w = world(repo)
    created = command()
    await handle(w, created)
    repo.rivals, repo.add_attempts = VERSION_ATTEMPTS, 0
    edit = command(Handling.RET, created.joblogId)
    with pytest.raises(VersionTaken):
        await handle(w, edit)
    assert repo.add_attempts == VERSION_ATTEMPTS == 5
    assert edit.beskedId not in w.repo.finished_ids
    assert [c.entry.version for c in w.changes()] == [1]  # nothing sent for the edit
    assert w.outbox.rejected == []
    assert all(e.besked_id != edit.beskedId for e in w.repo.history.values())


async def test_a_version_taken_one_time_fewer_is_stored_at_the_last_attempt():
    repo = RacingRepository(rivals=0)
    w = world(repo)
    created = command()
    await handle(w, created)
    repo.rivals, repo.add_attempts = VERSION_ATTEMPTS - 1, 0
    edit = command(Handling.RET, created.joblogId)
    await handle(w, edit)
    assert repo.add_attempts == VERSION_ATTEMPTS
    assert [c.entry.version for c in w.changes()] == [1, VERSION_ATTEMPTS + 1]
    assert w.changes()[-1].entry.kildeBeskedId == edit.beskedId


async def test_a_redelivered_finished_message_does_nothing():
    w = world()
    cmd = command()
    await handle(w, cmd)
    published, attempts = list(w.outbox.published), w.repo.add_attempts
    w.clock.moment = NOW + timedelta(hours=1)
    await handle(w, cmd)
    assert w.outbox.published == published
    assert w.repo.add_attempts == attempts
    assert w.outbox.rejected == []  # not refused as a duplicate opret either
    assert w.repo.versions(cmd.joblogId) == [1]


@pytest.mark.parametrize("projected", [False, True], ids=["unprojected", "projected"])
async def test_a_command_stored_before_a_crash_is_finished_not_versioned_again(projected):
    w = world()
    created = command()
    await handle(w, created)
    edit = command(Handling.RET, created.joblogId, joblog=CONTENT.model_copy(update={"noter": "y"}))
    entry = await handlers.accept(edit, NOW, w.ports)  # stored, then the process died
    if projected:
        await w.repo.project(entry)
    assert edit.beskedId not in w.repo.finished_ids
    w.clock.moment = NOW + timedelta(minutes=10)  # the message comes again, later
    await handle(w, edit)
    assert w.repo.versions(created.joblogId) == [1, 2]
    assert w.repo.current[created.joblogId].besked_id == edit.beskedId
    change = w.changes()[-1]
    assert change.entry.version == 2 and change.entry.joblog.noter == "y"
    assert change.entry.senestAendret == NOW.replace(microsecond=123000)  # when first accepted
    assert w.outbox.rejected == []
    assert edit.beskedId in w.repo.finished_ids


# -- refusals ----------------------------------------------------------------------------------


async def test_a_refusal_is_named_in_the_producers_terms_on_its_rejected_topic():
    w = world()
    await with_status(w, status(AKASSE))
    unknown = command(Handling.RET, kilde=f"akasse:{AKASSE}")
    await handle(w, unknown)
    [rejected] = w.outbox.rejected
    assert rejected.topic == topics.akasse_rejected(AKASSE)
    assert rejected.refusal.reason == Reason.UNKNOWN_JOBLOG
    assert rejected.refusal.field == "logId"  # the a-kasse format's name of joblogId
    assert rejected.refusal.message.startswith("logId: ")
    assert rejected.message_id == str(unknown.beskedId)
    assert rejected.inbound == Inbound(
        topics.akasse_inbound(AKASSE), 3, 42, CPR, b'{"raw": true}'
    )  # the original message, where the producer sent it
    assert w.changes() == [] and w.repo.history == {}

    jobnet = command(Handling.RET)
    await handle(w, jobnet)
    assert w.outbox.rejected[-1].topic == topics.JOBNET_REJECTED
    assert w.outbox.rejected[-1].refusal.field == "joblogId"


@pytest.mark.parametrize(
    "kilde",
    ["", "Jobnet", "jobnet ", "jobnetx", "akasse", "akasse:", "akasse:06", "akasse:0670",
     "akasse:06a", "akasse:\u0660\u0666\u0667", "akasse:\uff10\uff16\uff17", "xakasse:067"],
)  # fmt: skip
async def test_a_command_from_an_unknown_source_is_refused_and_nothing_stored(kilde):
    """Storage's own check of `kilde` (defence in depth: the internal topic is not trusted)."""
    w = world()
    await with_status(w, status(AKASSE))
    await handle(w, command(kilde=kilde))
    [rejected] = w.outbox.rejected
    assert rejected.refusal.reason == Reason.MALFORMED
    assert rejected.refusal.field in ("kilde", "origin")  # (anything but jobnet: as an a-kasse's)
    assert repr(kilde) in rejected.refusal.message
    # no front end's: kept as it came, from the internal topic, for the operator
    assert rejected.inbound.topic == topics.JOBLOG_COMMANDS
    assert topics.rejected_topic_for(rejected.inbound.topic) == topics.PLATFORM_REJECTED
    assert w.changes() == [] and w.repo.history == {}


@pytest.mark.parametrize("kilde", ["jobnet", f"akasse:{AKASSE}"])
async def test_a_command_from_a_known_source_passes_the_source_check(kilde):
    w = world()
    await with_status(w, status(AKASSE))
    await handle(w, command(kilde=kilde))
    assert w.outbox.rejected == [] and len(w.changes()) == 1


@pytest.mark.parametrize("member_of", [None, OTHER_AKASSE], ids=["no-status", "other-akasse"])
async def test_a_command_from_an_akasse_the_citizen_is_not_a_member_of_is_refused(member_of):
    w = world(offering={AKASSE})
    if member_of is not None:
        await with_status(w, status(member_of))
    cmd = command(kilde=f"akasse:{AKASSE}")
    await handle(w, cmd)
    [rejected] = w.outbox.rejected
    assert rejected.topic == topics.akasse_rejected(AKASSE)
    assert rejected.refusal.reason == Reason.NOT_MEMBER
    assert rejected.refusal.field == "memberCpr"
    assert w.repo.history == {} and w.changes() == []
    assert cmd.beskedId not in w.repo.finished_ids


async def test_a_member_akasses_command_is_accepted_and_sent_to_it():
    w = world(offering={AKASSE})
    await with_status(w, status(AKASSE))
    cmd = command(kilde=f"akasse:{AKASSE}")
    await handle(w, cmd)
    assert w.outbox.rejected == []
    assert [(c.entry.kilde, c.akasseNr) for c in w.changes()] == [(f"akasse:{AKASSE}", AKASSE)]


# -- status: a snapshot to a newly joined a-kasse --------------------------------------------


async def test_a_newly_joined_akasse_that_offers_joblog_receives_the_current_joblogs():
    w = world(offering={AKASSE})
    await with_status(w, status(None))
    kept, deleted = command(), command()
    for cmd in (kept, deleted, command(Handling.SLET, deleted.joblogId)):
        await handle(w, cmd)
    sent = len(w.changes())
    joined = status(AKASSE)
    await with_status(w, joined)
    snapshot = w.changes()[sent:]
    assert [(c.entry.joblogId, c.akasseNr, c.snapshot) for c in snapshot] == [
        (kept.joblogId, AKASSE, True)
    ]
    assert snapshot[0].handling is Handling.OPRET
    assert [n.aarsag for n in w.notes()][-1] == "status"
    assert joined.messageId in w.repo.status_published

    # a status message that keeps the a-kasse sends no snapshot again
    await with_status(w, status(AKASSE))
    assert len(w.changes()) == sent + 1


async def test_no_snapshot_to_an_akasse_that_does_not_offer_joblog():
    w = world(offering=set())
    await handle(w, command())
    sent = len(w.changes())
    await with_status(w, status(OTHER_AKASSE))
    assert len(w.changes()) == sent
    assert w.notes()[-1].aarsag == "status"  # the notifier hears of it all the same


async def test_a_status_message_handled_to_the_end_is_not_handled_again():
    w = world(offering={AKASSE})
    await handle(w, command())
    message = status(AKASSE)
    await with_status(w, message)
    published = list(w.outbox.published)
    await with_status(w, message)
    assert w.outbox.published == published


# -- exemptions: only the citizen's own jobcenter --------------------------------------------


async def exempt(w: World, message: ExemptionMessage, topic_kode: str) -> None:
    inbound = inbound_of(message, topics.jobcenter_exemption(topic_kode))
    await citizens.handle_exemption(inbound, w.ports)


async def test_an_exemption_from_another_jobcenter_than_the_topics_is_refused():
    w = world()
    await with_status(w, status(None, JOBCENTER))
    message = exemption(jobcenter=OTHER_JOBCENTER)
    await exempt(w, message, JOBCENTER)
    [rejected] = w.outbox.rejected
    assert rejected.topic == topics.jobcenter_rejected(JOBCENTER)
    assert rejected.refusal.reason == Reason.JOBCENTER_MISMATCH
    assert rejected.refusal.field == "jobcenter"
    assert rejected.message_id == str(message.messageId)
    assert w.repo.exemptions == {}


async def test_an_exemption_for_another_jobcenters_citizen_is_refused():
    w = world()
    await with_status(w, status(None, OTHER_JOBCENTER))
    notes = len(w.notes())
    message = exemption(jobcenter=JOBCENTER)
    await exempt(w, message, JOBCENTER)
    [rejected] = w.outbox.rejected
    assert rejected.topic == topics.jobcenter_rejected(JOBCENTER)
    assert rejected.refusal.reason == Reason.JOBCENTER_MISMATCH
    assert rejected.refusal.field == "cpr"
    assert w.repo.exemptions == {} and len(w.notes()) == notes


async def test_an_exemption_from_the_citizens_jobcenter_is_stored_and_noted():
    w = world()
    await with_status(w, status(None, JOBCENTER))
    message = exemption(jobcenter=JOBCENTER)
    await exempt(w, message, JOBCENTER)
    assert w.outbox.rejected == []
    assert message.messageId in w.repo.exemptions
    assert w.notes()[-1].aarsag == "exemption"
    citizen = w.writer.document(CITIZENS, CPR)
    assert citizen is not None and len(citizen["fritagelser"]) == 1


# -- the fallbacks -----------------------------------------------------------------------------


async def test_a_command_that_raised_is_kept_on_its_producers_rejected_topic():
    w = world()
    cmd = command(kilde=f"akasse:{AKASSE}")
    await handlers.keep_command(inbound_of(cmd, topics.JOBLOG_COMMANDS), KeyError("x"), w.ports)
    [rejected] = w.outbox.rejected
    assert rejected.topic == topics.akasse_rejected(AKASSE)
    assert rejected.refusal.reason == Reason.INTERNAL_ERROR
    assert rejected.refusal.message == "internal error: KeyError"
    assert rejected.message_id == str(cmd.beskedId)


async def test_a_status_message_that_raised_is_kept_on_the_citizen_rejected_topic():
    w = world()
    message = status(AKASSE)
    inbound = inbound_of(message, topics.CITIZEN_STATUS)
    keep_citizen = keep_unexpected(w.ports.outbox, citizens.message_id)  # as app.py wires it
    await keep_citizen(inbound, RuntimeError("x"))
    [rejected] = w.outbox.rejected
    assert rejected.topic == topics.CITIZEN_REJECTED
    assert rejected.refusal.reason == Reason.INTERNAL_ERROR
    assert rejected.message_id == str(message.messageId)
