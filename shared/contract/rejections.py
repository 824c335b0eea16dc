"""Rejection records for the producers' `*.rejected` topics, and the stable reason codes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from shared.contract.events import Rejection
from shared.contract.inbound import Inbound


class Reason(StrEnum):
    MALFORMED = "malformed"  # not JSON, not an object, too large, wrong key
    INVALID_CPR = "invalid_cpr"
    FIELD_INVALID = "field_invalid"
    AKASSE_WITHOUT_JOBLOG = "akasse_without_joblog"
    NOT_MEMBER = "not_member"
    UNKNOWN_JOBLOG = "unknown_joblog"
    JOBLOG_DELETED = "joblog_deleted"
    DUPLICATE_JOBLOG = "duplicate_joblog"  # opret of an id that already exists, other content
    AKASSE_MISMATCH = "akasse_mismatch"  # akasseNr is not the a-kasse of the topic
    JOBCENTER_MISMATCH = "jobcenter_mismatch"  # not the topic's jobcenter, or not his citizen
    MERGE_INVALID = "merge_invalid"  # a three-way merge would give an entry the rules refuse
    JOBLOG_ERASED = "joblog_erased"  # erased when its retention period ran out (a tombstone)
    INTERNAL_ERROR = "internal_error"  # a bug; the message is kept here for replay


class Refusal(Exception):
    """Raised by validation and rules: the message is refused with this reason."""

    def __init__(self, reason: Reason, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.field = field


def internal_error(error: Exception) -> Refusal:
    """The refusal of a message that raised something unexpected (a bug of ours): it is kept
    on a rejected topic, for replay after the fix, and blocks nothing."""
    return Refusal(Reason.INTERNAL_ERROR, f"internal error: {type(error).__name__}")


def rejection(
    inbound: Inbound,
    refusal: Refusal,
    message_id: str | None,
    rejected_at: datetime,
    raw_max_bytes: int,
) -> Rejection:
    """The record for a refused message. A raw body over `raw_max_bytes` is cut there; the
    whole message stays in its source topic at the partition and offset given."""
    raw = inbound.body[:raw_max_bytes].decode("utf-8", errors="replace")
    return Rejection(
        id=message_id,
        reason=refusal.reason,
        message=refusal.message,
        field=refusal.field,
        raw=raw,
        rawBytes=len(inbound.body),
        sourceTopic=inbound.topic,
        sourcePartition=inbound.partition,
        sourceOffset=inbound.offset,
        rejectedAt=rejected_at,
    )
