"""The records storage passes between its handlers, the merge rule and its repository (which
alone turns them into documents and back). Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from services.storage.merge import MergeReport
from shared.contract.events import Handling, StoredJoblog
from shared.contract.rejections import Refusal
from shared.readmodel import updates as read_model


@dataclass(frozen=True)
class HistoryEntry:
    """One accepted version of a joblog (`joblog_history`), and how it came to be: the message
    that made it (`besked_id`, its `tidspunkt`), when it was accepted, and the merge report when
    it was merged against a newer version than the one it was based on."""

    stored: StoredJoblog
    handling: Handling
    besked_id: UUID
    tidspunkt: datetime
    accepteret: datetime
    merge: MergeReport | None = None

    @property
    def joblog_id(self) -> UUID:
        return self.stored.joblogId

    @property
    def cpr(self) -> str:
        return self.stored.cpr

    @property
    def version(self) -> int:
        return self.stored.version

    def made_by(self, besked_id: UUID) -> bool:
        return self.besked_id == besked_id

    def activity(self) -> read_model.Update:
        """The citizen's read model learns of this change (as `read_model.history_update` does
        from the stored document)."""
        return read_model.activity_update(
            self.cpr, str(self.joblog_id), self.version, self.handling.value, self.accepteret
        )


@dataclass(frozen=True)
class Outcome:
    """What `beskeder` says became of a message id: accepted (`refusal` None), or refused, in
    the replay `gentagelse` (`joblog replay`'s id) or in no replay (None)."""

    refusal: Refusal | None = None
    gentagelse: str | None = None

    def settles(self, gentagelse: str | None) -> bool:
        """Whether this outcome stands for a delivery of the message in `gentagelse`: an
        acceptance always; a refusal unless the message comes in another replay (after the
        operator fixed the cause), so a plain redelivery is never decided anew."""
        return self.refusal is None or self.gentagelse == gentagelse
