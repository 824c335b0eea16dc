"""The notifier's records as its handlers and its store pass them (the store alone turns them
into documents and back, `services.notifier.store`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.notifier.advisering import MODTAGER_BORGER, DueNotice
from services.notifier.maaned import MaanedNotice
from shared.contract import topics

Notice = DueNotice | MaanedNotice
"""An advisering or a monthly notice (told apart by `noticeType`, which an advisering has not)."""


def notice_topic(notice: Notice) -> str:
    """The citizen's notice goes to digital post, the jobcenter's to that jobcenter only."""
    if notice.modtager == MODTAGER_BORGER:
        return topics.NOTICES_BORGER
    return topics.jobcenter_notices(notice.jobcenter)


@dataclass(frozen=True)
class Timer:
    """A citizen's advisering timer."""

    cpr: str
    due: datetime | None
    """The next due time (None: no duty ahead, nothing scheduled)."""
    last_notified_due: datetime | None = None
    """`forfaldt` of the latest pair sent (it restarts the clock)."""
    revision: int | None = None
    """Bumped by every recomputation: a fired timer moves on only if nothing recomputed it."""
    lease: str | None = None
    """The instance firing it, if one is."""


@dataclass(frozen=True)
class TopicOffset:
    """Where a partition of a notice topic ended before a notice was first sent."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True)
class StoredNotice:
    """A notice as stored (before it is sent): the notice, the ends of its topic's partitions
    before it was first sent (to look it up there after a crash), and whether Kafka
    acknowledged it."""

    notice: Notice
    checkpoint: tuple[TopicOffset, ...]
    published: bool = False

    @property
    def id(self) -> str:
        return str(self.notice.noticeId)

    @property
    def topic(self) -> str:
        return notice_topic(self.notice)
