"""What storage's handlers use, as protocols: the composition root (`app.py`) passes the real
ones, the handler tests in-memory fakes (`tests/unit/test_storage_handlers.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

from services.storage.records import HistoryEntry, Outcome
from shared.contract.citizen import ExemptionMessage, Period, StatusMessage
from shared.contract.events import Joblog, StoredJoblog
from shared.contract.rejections import Refusal
from shared.platform.ports import Clock, Outbox
from shared.platform.steps import StepTimes
from shared.readmodel.document import Document
from shared.readmodel.updates import Update


class StorageRepository(Protocol):
    """The records storage keeps (`services.storage.repository.Repository`)."""

    async def finished(self, besked_id: UUID) -> Outcome | None: ...
    async def mark_finished(self, entry: HistoryEntry, replacing: bool = False) -> None: ...
    async def mark_refused(
        self, refused: Iterable[tuple[UUID, Refusal, str | None]], replacing: set[UUID], day: date
    ) -> None: ...
    async def joblog_at(self, joblog_id: UUID, version: int) -> Joblog | None: ...
    async def projected(self, joblog_id: UUID) -> HistoryEntry | None: ...
    async def add_version(self, entry: HistoryEntry) -> HistoryEntry | None: ...
    async def project(self, entry: HistoryEntry) -> None: ...
    async def add_status(self, message: StatusMessage, received: datetime) -> bool: ...
    async def add_exemption(self, message: ExemptionMessage, received: datetime) -> bool: ...
    async def exemption_outcome(self, message_id: UUID) -> Outcome | None: ...
    async def mark_exemption_refused(
        self, message_id: UUID, refusal: Refusal, gentagelse: str | None, day: date
    ) -> None: ...
    async def mark_status_done(self, message_id: UUID) -> None: ...
    async def status_done(self, message_id: UUID) -> bool: ...
    # a batch at a time (services.storage.batch): one round trip each
    async def finished_among(self, besked_ids: Iterable[UUID]) -> dict[UUID, Outcome]: ...
    async def projected_among(
        self, joblog_ids: Iterable[UUID]
    ) -> tuple[dict[UUID, HistoryEntry], dict[UUID, tuple[UUID, int]]]: ...
    async def entries_at(
        self, keys: Iterable[tuple[UUID, int]]
    ) -> dict[tuple[UUID, int], HistoryEntry]: ...
    async def add_versions(
        self, entries: list[HistoryEntry]
    ) -> dict[tuple[UUID, int], HistoryEntry | None]: ...
    async def project_all(self, entries: Iterable[HistoryEntry], existing: set[UUID]) -> None: ...
    async def mark_all_finished(
        self, entries: Iterable[HistoryEntry], replacing: Iterable[UUID] = ()
    ) -> None: ...


class Facts(Protocol):
    """A citizen's status as the read model has it (`shared.readmodel.facts.FactsReader`)."""

    async def status_on(self, cpr: str, day: date) -> Period | None: ...
    async def statuses_of(self, cprs: Iterable[str]) -> dict[str, list[StatusMessage]]: ...


class ReadModel(Protocol):
    """The read models' writer (`shared.readmodel.writer.ReadModelWriter`): `returning` is
    `BEFORE`/`AFTER` for the document before or after the update."""

    async def apply(self, update: Update, returning: bool | None = None) -> Document | None: ...
    async def apply_bulk(self, updates: Iterable[Update]) -> int: ...


class Joblogs(Protocol):
    """A citizen's current joblogs (`shared.readmodel.joblogs.JoblogReader`)."""

    async def current_of(self, cpr: str) -> list[StoredJoblog]: ...


class Register(Protocol):
    """The a-kasse register (`shared.platform.akasse_register.AkasseRegister`)."""

    def offers_joblog(self, akasse_nr: str | None) -> bool: ...


@dataclass(frozen=True)
class StoragePorts:
    repo: StorageRepository
    facts: Facts
    writer: ReadModel
    joblogs: Joblogs
    register: Register
    clock: Clock
    outbox: Outbox
    steps: StepTimes = field(default_factory=StepTimes)  # a batch's time by step (metrics)
