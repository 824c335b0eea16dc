"""Kafka topic names. External ones are fixed by the contract (docs/contract.md); internal ones
are ours. Per-party topics carry the party's number: `akasse.<nr>.…`, `jobcenter.<kode>.…`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.contract.kommuner import KOMMUNER

# Jobnet (one party).
JOBNET_INBOUND = "jobnet.joblog.inbound"
JOBNET_OUTBOUND = "jobnet.joblog.outbound"
JOBNET_REJECTED = "jobnet.joblog.rejected"

# The national status feed, the citizens' digital post, the clock and the a-kasse register.
CITIZEN_STATUS = "dfdg.citizen.status"
CITIZEN_REJECTED = "dfdg.citizen.rejected"
NOTICES_BORGER = "dfdg.notices.borger"
TIMERS = "dfdg.timers"
AKASSE_REGISTER = "dfdg.akasse.register"
PLATFORM_REJECTED = "dfdg.platform.rejected"
"""The operator's rejected topic: refused ticks, and records of the platform's own topics
(dfdg.timers, dfdg.joblog.commands, dfdg.joblog.changes, dfdg.citizen.changes) that a service
failed on (`internal_error`), kept for `joblog replay` after the fix."""

PLATFORM_HEADER = "dfdg-platform"
"""Kafka header on every notice: which platform (JOBLOG_GROUP_PREFIX) sent it."""

# Internal canonical streams (keyed by cpr), the platform's services' alone.
JOBLOG_COMMANDS = "dfdg.joblog.commands"
"""Validated joblog changes from either adapter, in the canonical model, on their way to storage."""
JOBLOG_CHANGES = "dfdg.joblog.changes"
"""Every change storage accepted (and snapshots for a new a-kasse), for the adapters' outbound."""
CITIZEN_CHANGES = "dfdg.citizen.changes"
"""A citizen's status, exemption or joblog activity was stored: the notifier redoes his timer."""

INTERNAL = (JOBLOG_COMMANDS, JOBLOG_CHANGES, CITIZEN_CHANGES)
COMPACTED = {AKASSE_REGISTER}

PLATFORM = [
    JOBNET_INBOUND, JOBNET_OUTBOUND, JOBNET_REJECTED, CITIZEN_STATUS, CITIZEN_REJECTED,
    NOTICES_BORGER, TIMERS, AKASSE_REGISTER, PLATFORM_REJECTED, *INTERNAL,
]  # fmt: skip
"""The topics that exist once per platform (the per-party ones come with their party)."""


# -- per a-kasse -------------------------------------------------------------------------------


def akasse_inbound(nr: str) -> str:
    return f"akasse.{nr}.joblog.inbound"


def akasse_outbound(nr: str) -> str:
    return f"akasse.{nr}.joblog.outbound"


def akasse_rejected(nr: str) -> str:
    return f"akasse.{nr}.joblog.rejected"


def akasse_topics(nr: str) -> list[str]:
    return [akasse_inbound(nr), akasse_outbound(nr), akasse_rejected(nr)]


# -- per jobcenter -----------------------------------------------------------------------------


def jobcenter_exemption(kode: str) -> str:
    return f"jobcenter.{kode}.exemption"


def jobcenter_rejected(kode: str) -> str:
    return f"jobcenter.{kode}.rejected"


def jobcenter_notices(kode: str) -> str:
    return f"jobcenter.{kode}.notices"


def jobcenter_topics(kode: str) -> list[str]:
    return [jobcenter_exemption(kode), jobcenter_rejected(kode), jobcenter_notices(kode)]


def notice_topics() -> list[str]:
    """Every topic a notice goes to: the citizens' and each jobcenter's."""
    return [NOTICES_BORGER, *(jobcenter_notices(kode) for kode in sorted(KOMMUNER))]


_AKASSE = re.compile(r"akasse\.(\d{3})\.joblog\.(inbound|outbound|rejected)")
_JOBCENTER = re.compile(r"jobcenter\.(\d{3})\.(exemption|rejected|notices)")


def akasse_of(topic: str) -> str | None:
    """The a-kasse number in a per-a-kasse topic's name."""
    found = _AKASSE.fullmatch(topic)
    return found.group(1) if found else None


def jobcenter_of(topic: str) -> str | None:
    """The kommunekode in a per-jobcenter topic's name."""
    found = _JOBCENTER.fullmatch(topic)
    return found.group(1) if found else None


def rejected_topic_for(source: str) -> str:
    """Where a refused message from `source` is reported: its producer's *.rejected topic, and
    for the operator's ticks and the platform's own topics dfdg.platform.rejected."""
    if source in (TIMERS, *INTERNAL):
        return PLATFORM_REJECTED
    if source == JOBNET_INBOUND:
        return JOBNET_REJECTED
    if source == CITIZEN_STATUS:
        return CITIZEN_REJECTED
    if (nr := akasse_of(source)) is not None:
        return akasse_rejected(nr)
    if (kode := jobcenter_of(source)) is not None:
        return jobcenter_rejected(kode)
    raise KeyError(f"no producer's rejected topic for {source}")


# -- what the services consume -----------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """What a subscriber reads: one topic, or every topic matching a pattern (a family of
    per-party topics, followed as parties are added). `name` names its consumer group."""

    name: str
    pattern: str | None = None

    def matches(self, topic: str) -> bool:
        if self.pattern is None:
            return topic == self.name
        return re.fullmatch(self.pattern, topic) is not None


# (FastStream reads `{…}` in a pattern as a path parameter: no `\d{3}`)
AKASSE_INBOUND = Source("akasse.joblog.inbound", r"akasse\.\d\d\d\.joblog\.inbound")
JOBCENTER_EXEMPTION = Source("jobcenter.exemption", r"jobcenter\.\d\d\d\.exemption")
