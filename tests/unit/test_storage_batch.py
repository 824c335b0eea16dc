"""Storage's joblog commands a batch at a time (services/storage/batch.py), fast, on in-memory
fakes that count the round trips per collection: the same decisions as the per-record handler
(run side by side on the same commands), one read and one write per collection per batch, the
waves (the second edit of a joblog in one batch decided against the first), a bad record among
good ones, a version taken, and a crash after each step and mid-bulk followed by the batch again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from pymongo.errors import ConnectionFailure

from services.storage import batch, handlers
from services.storage.handlers import VERSION_ATTEMPTS, VersionTaken
from services.storage.ports import StoragePorts
from services.storage.records import HistoryEntry, Outcome
from shared.contract import topics
from shared.contract.citizen import StatusMessage
from shared.contract.events import Handling, JoblogCommand
from shared.contract.inbound import Inbound
from shared.contract.rejections import Reason, Refusal
from shared.platform.kafka import deliver_whole
from shared.platform.steps import StepTimes
from shared.readmodel.facts import status_messages
from shared.readmodel.updates import CITIZENS, Update
from tests.fakes import FakeClock, FakeOutbox
from tests.unit.test_storage_handlers import (
    AKASSE,
    CONTENT,
    CPR,
    NOW,
    OTHER_AKASSE,
    FakeFacts,
    FakeJoblogs,
    FakeReadModel,
    FakeRegister,
    FakeRepository,
    command,
    inbound_of,
    status,
    with_status,
)
from tests.unit.test_storage_handlers import World as RecordWorld

OTHER_CPR = "0202902345"


# -- fakes that count round trips ------------------------------------------------------------


class BatchRepository(FakeRepository):
    """The fake repository with the batch methods; `trips` counts the round trips per
    collection and kind ("beskeder read", "joblog_history write", ...)."""

    def __init__(self) -> None:
        super().__init__()
        self.trips: Counter[str] = Counter()
        self.earlier: dict[UUID, tuple[UUID, int]] = {}  # the projections' batchTidligere

    async def finished_among(self, besked_ids: Iterable[UUID]) -> dict[UUID, Outcome]:
        self.trips["beskeder read"] += 1
        return {b: found for b in besked_ids if (found := await self.finished(b)) is not None}

    async def projected_among(
        self, joblog_ids: Iterable[UUID]
    ) -> tuple[dict[UUID, HistoryEntry], dict[UUID, tuple[UUID, int]]]:
        self.trips["joblogs read"] += 1
        wanted = set(joblog_ids)
        earlier = {b: made for b, made in self.earlier.items() if made[0] in wanted}
        return {j: self.current[j] for j in wanted if j in self.current}, earlier

    async def entries_at(
        self, keys: Iterable[tuple[UUID, int]]
    ) -> dict[tuple[UUID, int], HistoryEntry]:
        self.trips["joblog_history read"] += 1
        return {k: self.history[k] for k in keys if k in self.history}

    async def add_versions(
        self, entries: list[HistoryEntry]
    ) -> dict[tuple[UUID, int], HistoryEntry | None]:
        self.trips["joblog_history write"] += 1
        taken: dict[tuple[UUID, int], HistoryEntry | None] = {}
        for entry in entries:
            if (held := await self.add_version(entry)) is not None:
                taken[(entry.joblog_id, entry.version)] = held
        return taken

    async def project_all(self, entries: Iterable[HistoryEntry], existing: set[UUID]) -> None:
        self.trips["joblogs write"] += 1
        by_joblog: dict[UUID, list[HistoryEntry]] = {}
        for entry in entries:
            by_joblog.setdefault(entry.joblog_id, []).append(entry)
        for made in by_joblog.values():
            made.sort(key=lambda e: e.version)
            before = self.current.get(made[-1].joblog_id)
            await self.project(made[-1])
            if self.current[made[-1].joblog_id] is not before:  # replaced: as the database
                for old in [b for b, m in self.earlier.items() if m[0] == made[-1].joblog_id]:
                    del self.earlier[old]
                for e in made[:-1]:
                    self.earlier[e.besked_id] = (e.joblog_id, e.version)

    async def mark_all_finished(
        self, entries: Iterable[HistoryEntry], replacing: Iterable[UUID] = ()
    ) -> None:
        self.trips["beskeder write"] += 1
        again = set(replacing)
        for entry in entries:
            await self.mark_finished(entry, entry.besked_id in again)

    async def mark_refused(
        self, refused: Iterable[tuple[UUID, Refusal, str | None]], replacing: set[UUID], day: date
    ) -> None:
        self.trips["beskeder write"] += 1
        await super().mark_refused(refused, replacing, day)


class RacingBatchRepository(BatchRepository):
    """A concurrent writer takes each version computed for `joblog`, `rivals` times."""

    def __init__(self, rivals: int = 0) -> None:
        super().__init__()
        self.rivals = rivals
        self.joblog: UUID | None = None

    async def add_version(self, entry: HistoryEntry) -> HistoryEntry | None:
        if self.rivals > 0 and entry.joblog_id == self.joblog:
            self.rivals -= 1
            rival = uuid4()
            stored = entry.stored.model_copy(update={"kildeBeskedId": rival, "kilde": "jobnet"})
            self.history[(entry.joblog_id, entry.version)] = replace(
                entry, stored=stored, besked_id=rival
            )
        return await super().add_version(entry)


class BatchReadModel(FakeReadModel):
    def __init__(self, trips: Counter[str]) -> None:
        super().__init__()
        self.trips = trips

    async def apply_bulk(self, updates: Iterable[Update]) -> int:
        self.trips["aktivitet write"] += 1
        done = 0
        for update in updates:
            await self.apply(update)
            done += 1
        return done


@dataclass
class BatchFacts(FakeFacts):
    trips: Counter[str] | None = None

    async def statuses_of(self, cprs: Iterable[str]) -> dict[str, list[StatusMessage]]:
        assert self.trips is not None
        self.trips["borgere read"] += 1
        docs = {cpr: self.writer.document(CITIZENS, cpr) for cpr in set(cprs)}
        return {cpr: status_messages(doc) for cpr, doc in docs.items() if doc is not None}


class World(RecordWorld):
    repo: BatchRepository
    writer: BatchReadModel

    @property
    def ports(self) -> StoragePorts:
        return StoragePorts(
            repo=self.repo,
            facts=BatchFacts(self.writer, self.repo.trips),
            writer=self.writer,
            joblogs=FakeJoblogs(self.repo),
            register=self.register,
            clock=self.clock,
            outbox=self.outbox,
        )


def world(repo: BatchRepository | None = None, offering: set[str] | None = None) -> World:
    repo = repo or BatchRepository()
    return World(
        repo, BatchReadModel(repo.trips), FakeRegister(offering or set()), FakeClock(NOW),
        FakeOutbox(),
    )  # fmt: skip


def record_world(offering: set[str] | None = None) -> RecordWorld:
    return RecordWorld(
        FakeRepository(), FakeReadModel(), FakeRegister(offering or set()), FakeClock(NOW),
        FakeOutbox(),
    )  # fmt: skip


def inbound(cmd: JoblogCommand, offset: int = 7) -> Inbound:
    return replace(inbound_of(cmd, topics.JOBLOG_COMMANDS), offset=offset)


async def run(w: World, commands: list[JoblogCommand]) -> None:
    await batch.handle_commands([inbound(c, i) for i, c in enumerate(commands)], w.ports)


def for_cpr(cmd: JoblogCommand, cpr: str) -> JoblogCommand:
    return cmd.model_copy(update={"cpr": cpr})


def outcome(w: RecordWorld) -> dict[str, Any]:
    """What went out (each citizen's in order: the citizens' go out at once) and what is
    stored, in comparable terms."""
    published: dict[str, list[Any]] = {}
    for p in w.outbox.published:
        published.setdefault(p.key, []).append((p.topic, p.payload))
    rejected: dict[str | None, list[Any]] = {}
    for r in w.outbox.rejected:
        rejected.setdefault(r.inbound.key, []).append(
            (r.topic, r.inbound, r.refusal.reason, r.refusal.message, r.refusal.field,
             r.message_id)
        )  # fmt: skip
    return {
        "published": published,
        "rejected": rejected,
        "history": w.repo.history,
        "current": w.repo.current,
        "finished": w.repo.finished_ids,
        "citizens": {k: w.writer.document(*k) for k in w.writer.updates},
    }


async def side_by_side(
    setup: list[StatusMessage], commands: list[JoblogCommand], offering: set[str] | None = None
) -> tuple[World, RecordWorld]:
    """The same commands through the batch handler (one batch) and the per-record handler."""
    w, r = world(offering=offering), record_world(offering)
    for message in setup:
        await with_status(w, message)
        await with_status(r, message)
    w.outbox.published.clear()
    r.outbox.published.clear()
    w.repo.trips.clear()
    await run(w, commands)
    for i, cmd in enumerate(commands):
        await handlers.handle_command(inbound(cmd, i), r.ports)
    return w, r


# -- one read and one write per collection ---------------------------------------------------


async def test_a_batch_of_creates_reads_and_writes_each_collection_once():
    others = [for_cpr(command(), OTHER_CPR) for _ in range(3)]
    commands = [command() for _ in range(5)] + others
    w, r = await side_by_side([status(AKASSE)], commands, offering={AKASSE})
    assert w.repo.trips == {
        "beskeder read": 1, "borgere read": 1, "joblogs read": 1, "joblog_history write": 1,
        "joblogs write": 1, "aktivitet write": 1, "beskeder write": 1,
    }  # fmt: skip
    assert outcome(w) == outcome(r)
    assert sorted((c.entry.cpr, c.akasseNr) for c in w.changes()) == sorted(
        [(CPR, AKASSE)] * 5 + [(OTHER_CPR, None)] * 3
    )


async def test_a_redelivered_finished_batch_reads_beskeder_only():
    w = world()
    commands = [command() for _ in range(3)]
    await run(w, commands)
    published = list(w.outbox.published)
    w.repo.trips.clear()
    w.clock.moment = NOW + timedelta(hours=1)
    await run(w, commands)
    assert w.repo.trips == {"beskeder read": 1}
    assert w.outbox.published == published and w.outbox.rejected == []


async def test_twins_in_one_batch_are_handled_once():
    w = world()
    cmd = command()
    await run(w, [cmd, cmd])
    assert w.repo.versions(cmd.joblogId) == [1] and len(w.changes()) == 1


# -- waves: the records of one joblog in order -----------------------------------------------


async def test_an_opret_then_ret_and_slet_in_one_batch_make_versions_one_to_three():
    created = command()
    edit = command(Handling.RET, created.joblogId, joblog=CONTENT.model_copy(update={"noter": "x"}))
    deleted = command(Handling.SLET, created.joblogId)
    again = command(Handling.RET, created.joblogId)  # of a deleted joblog: refused
    w, r = await side_by_side([], [created, edit, deleted, again])
    assert w.repo.versions(created.joblogId) == [1, 2, 3]
    assert [c.entry.version for c in w.changes()] == [1, 2, 3]
    assert w.changes()[1].entry.joblog.noter == "x" and w.changes()[2].entry.slettet
    assert [x.refusal.reason for x in w.outbox.rejected] == [Reason.JOBLOG_DELETED]
    assert outcome(w) == outcome(r)
    assert w.repo.trips["joblog_history write"] == 3  # one insert per wave
    assert w.repo.trips["joblogs write"] == w.repo.trips["aktivitet write"] == 1


async def test_two_edits_of_one_joblog_in_a_batch_the_second_merged_against_the_first():
    created = command()
    pre = world()
    await run(pre, [created])  # v1 stored before
    noter = command(
        Handling.RET, created.joblogId, joblog=CONTENT.model_copy(update={"noter": "a"}),
        grundversion=1,
    )  # fmt: skip
    stilling = command(
        Handling.RET, created.joblogId, joblog=CONTENT.model_copy(update={"stilling": "b"}),
        grundversion=1,
    )  # fmt: skip
    w, r = await side_by_side([], [created, noter, stilling])
    v3 = w.changes()[-1].entry
    assert v3.version == 3 and (v3.joblog.noter, v3.joblog.stilling) == ("a", "b")
    assert outcome(w) == outcome(r)
    assert w.repo.history[(created.joblogId, 3)].merge is not None


async def test_an_edit_based_on_an_older_version_reads_its_base_in_the_batch_read():
    created = command()
    w = world()
    await run(w, [created])
    for noter in ("1", "2"):
        content = CONTENT.model_copy(update={"noter": noter})
        await run(w, [command(Handling.RET, created.joblogId, joblog=content)])
    w.repo.trips.clear()
    old = command(
        Handling.RET, created.joblogId, joblog=CONTENT.model_copy(update={"stilling": "c"}),
        grundversion=1,
    )  # fmt: skip
    await run(w, [old, command()])
    assert w.repo.trips["joblog_history read"] == 1
    v4 = w.changes()[-2].entry
    assert (v4.version, v4.joblog.noter, v4.joblog.stilling) == (4, "2", "c")


# -- refusals --------------------------------------------------------------------------------


async def test_a_bad_record_in_a_batch_is_refused_and_the_others_go_through():
    bad = for_cpr(command(), "0000000000")
    stranger = command()
    theirs = for_cpr(command(Handling.RET, stranger.joblogId), OTHER_CPR)  # issue 23
    not_member = command(kilde=f"akasse:{OTHER_AKASSE}")
    good = [command(), command()]
    w, r = await side_by_side(
        [status(AKASSE)], [good[0], bad, stranger, theirs, not_member, good[1]], {AKASSE}
    )
    assert [x.refusal.reason for x in w.outbox.rejected] == [
        Reason.INVALID_CPR, Reason.UNKNOWN_JOBLOG, Reason.NOT_MEMBER
    ]  # fmt: skip
    assert [c.entry.joblogId for c in w.changes()] == [
        good[0].joblogId, stranger.joblogId, good[1].joblogId
    ]  # fmt: skip
    assert outcome(w) == outcome(r)


async def test_an_unreadable_record_sends_the_batch_record_by_record_and_the_rest_through():
    w = world()
    good = [command(), command()]
    records = [inbound(good[0], 0), Inbound(topics.JOBLOG_COMMANDS, 0, 1, CPR, b"{"),
               inbound(good[1], 2)]  # fmt: skip
    ports = w.ports

    async def handle(i: Inbound) -> None:
        await handlers.handle_command(i, ports)

    async def keep(i: Inbound, error: Exception) -> None:
        await handlers.keep_command(i, error, ports)

    async def handle_batch(b: list[Inbound]) -> None:
        await batch.handle_commands(b, ports)

    await deliver_whole(records, handle_batch, handle, keep, 8)
    assert [c.entry.joblogId for c in w.changes()] == [g.joblogId for g in good]
    [kept] = w.outbox.rejected
    assert kept.topic == topics.PLATFORM_REJECTED and kept.refusal.reason == Reason.INTERNAL_ERROR


# -- a version taken -------------------------------------------------------------------------


async def test_a_version_taken_in_a_batch_is_decided_against_the_holder():
    repo = RacingBatchRepository()
    w = world(repo)
    created = command()
    await run(w, [created])
    repo.rivals, repo.add_attempts, repo.joblog = 2, 0, created.joblogId
    edit = command(Handling.RET, created.joblogId, joblog=CONTENT.model_copy(update={"noter": "x"}))
    other = command()
    await run(w, [edit, other])
    assert w.repo.versions(created.joblogId) == [1, 2, 3, 4]
    assert w.repo.history[(created.joblogId, 4)].besked_id == edit.beskedId
    assert w.repo.versions(other.joblogId) == [1]
    assert sorted(c.entry.version for c in w.changes()) == [1, 1, 4]
    assert {edit.beskedId, other.beskedId} <= w.repo.finished_ids


async def test_a_version_taken_as_often_as_attempted_lets_the_batch_come_again():
    repo = RacingBatchRepository()
    w = world(repo)
    created = command()
    await run(w, [created])
    repo.rivals, repo.add_attempts, repo.joblog = VERSION_ATTEMPTS, 0, created.joblogId
    with pytest.raises(VersionTaken):
        await run(w, [command(Handling.RET, created.joblogId)])
    assert repo.add_attempts == VERSION_ATTEMPTS
    assert [c.entry.version for c in w.changes()] == [1] and w.outbox.rejected == []


async def test_a_message_stored_before_a_crash_is_finished_from_its_entry_not_versioned_again():
    w = world()
    created = command()
    entry = await handlers.accept(created, NOW, w.ports)  # stored, then the process died
    await w.repo.project(entry)
    w.clock.moment = NOW + timedelta(minutes=10)
    await run(w, [created])
    assert w.repo.versions(created.joblogId) == [1]
    assert w.changes()[0].entry.senestAendret == NOW.replace(microsecond=123000)
    assert w.outbox.rejected == [] and created.beskedId in w.repo.finished_ids


# -- a crash after each step, and mid-bulk ---------------------------------------------------


class Crash(ConnectionFailure):
    pass


def summary(w: World) -> dict[str, Any]:
    """What a batch leaves stored, whenever it was accepted: each joblog's versions, by which
    message, with what content; the projections; the finished messages; each citizen's
    activities (one per version: a version recorded twice would show here)."""
    activity = {}
    for collection, id_ in w.writer.updates:
        doc = w.writer.document(collection, id_) or {}
        activity[id_] = sorted((a["joblogId"], a["version"]) for a in doc.get("aktivitet", []))
    return {
        "history": {
            k: (e.besked_id, e.handling, e.stored.joblog, e.stored.slettet)
            for k, e in w.repo.history.items()
        },
        "current": {j: (e.version, e.besked_id) for j, e in w.repo.current.items()},
        "finished": w.repo.finished_ids,
        "activity": activity,
    }


STEPS = ["add_versions", "project_all", "apply_bulk", "publish", "mark_all_finished"]


def crashing(target: Any, name: str, after: int | None) -> list[int]:
    """Make `target.name` raise a simulated crash once: after the step's effect (`after` None),
    or mid-bulk, after `after` of its documents."""
    step = getattr(target, name)
    crashed: list[int] = []

    async def crash(*args: Any) -> Any:
        if crashed:
            return await step(*args)
        crashed.append(1)
        if after is not None and args and isinstance(args[0], list):
            await step(args[0][:after])
            raise Crash("simulated crash mid-bulk")
        await step(*args)
        raise Crash("simulated crash")

    setattr(target, name, crash)
    return crashed


@pytest.mark.parametrize(
    ("step", "after"),
    [(s, None) for s in STEPS] + [("add_versions", 1), ("apply_bulk", 2), ("mark_all_finished", 1)],
)
async def test_a_crash_in_a_batch_and_the_batch_again_completes_exactly_what_was_missing(
    step, after
):
    created = [command(), for_cpr(command(), OTHER_CPR), command()]
    edit = command(
        Handling.RET, created[0].joblogId, joblog=CONTENT.model_copy(update={"noter": "x"})
    )
    commands = [*created, edit]
    clean = world()
    await run(clean, commands)

    w = world()
    target = w.outbox if step == "publish" else w.writer if step == "apply_bulk" else w.repo
    crashed = crashing(target, step, after)
    with pytest.raises(Crash):
        await run(w, commands)
    assert crashed
    w.clock.moment = NOW + timedelta(minutes=5)  # the batch comes again, later
    await run(w, commands)

    assert summary(w) == summary(clean)
    # every change at least once, its copies identical, and as stored
    changes: dict[tuple[UUID, int], list[Any]] = {}
    for change in w.changes():
        changes.setdefault((change.entry.joblogId, change.entry.version), []).append(change)
    assert set(changes) == {(c.entry.joblogId, c.entry.version) for c in clean.changes()}
    for key, copies in changes.items():
        assert all(copy == copies[0] for copy in copies)
        assert copies[0].entry == w.repo.history[key].stored
    assert {(n.cpr, n.tidspunkt) for n in w.notes()} == {
        (e.cpr, e.accepteret) for e in w.repo.history.values()
    }
    assert w.outbox.rejected == []


async def test_a_day_boundary_between_membership_and_acceptance_is_the_same_day():
    """The status is read once before the batch: the membership check and the receiving
    a-kasse use the same day, as the per-record path does."""
    w = world(offering={AKASSE})
    await with_status(w, status(AKASSE))
    cmd = command(kilde=f"akasse:{AKASSE}")
    await run(w, [cmd])
    assert [c.akasseNr for c in w.changes()] == [AKASSE]
    assert date(2026, 3, 2) == NOW.date()


async def test_each_step_of_a_batch_is_timed_in_order():
    w = world(offering={AKASSE})
    ports = replace(w.ports, steps=StepTimes())
    await batch.handle_commands([inbound(command(), 0), inbound(command(), 1)], ports)
    seconds = ports.steps.seconds()
    assert list(seconds) == list(batch.STEPS) and all(s >= 0 for s in seconds.values())
    assert len(w.changes()) == 2
