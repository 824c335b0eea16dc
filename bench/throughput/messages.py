"""The backlog's and the steady load's messages: a-kasse edits beside Jobnet creates, the sizes of
a run."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness import (
    jobnet,
    new_cpr,
)
from shared.contract import topics

Json = dict[str, Any]
AKASSE = "067"
AKASSE_INBOUND = topics.akasse_inbound(AKASSE)
AKASSE_OUTBOUND = topics.akasse_outbound(AKASSE)
OUTBOUND = {topics.JOBNET_OUTBOUND: "beskedId", AKASSE_OUTBOUND: "eventId"}
"""Each outbound topic and its field holding the origin's message id."""
REJECTED = (
    topics.JOBNET_REJECTED, topics.akasse_rejected(AKASSE), topics.CITIZEN_REJECTED,
    topics.PLATFORM_REJECTED,
)  # fmt: skip


@dataclass(frozen=True)
class Sizes:
    changes: int
    citizens: int
    akasse_share: float
    steady_rate: float
    steady_seconds: float
    steady_wait: float

    @property
    def edits(self) -> int:
        return round(self.changes * self.akasse_share) // 2 * 2  # each joblog edited twice

    @property
    def creates(self) -> int:
        return self.changes - self.edits

    @property
    def edited_joblogs(self) -> int:
        return self.edits // 2


# -- messages ------------------------------------------------------------------------------------


def entry(status_value: str, notes: str | None = None) -> Json:
    """An a-kasse entry equal to `harness.application()` but for `status` and the notes."""
    body: Json = {
        "kind": "APPLICATION", "jobTitle": "Lagermedarbejder",
        "employer": {"name": "Acme A/S", "country": "DK", "postalCode": "8000",
                     "city": "Aarhus C"},
        "status": status_value,
    }  # fmt: skip
    if notes:
        body["notes"] = notes
    return body


def edit(cpr: str, log_id: str, at: datetime, second: bool) -> Json:
    """An a-kasse JOBLOG_UPDATED based on version 1: the first moves the status to INTERVIEW,
    the second (also based on 1, when the first has made 2) adds notes: merged three-way."""
    return {
        "eventId": str(uuid.uuid4()), "type": "JOBLOG_UPDATED", "akasseNr": AKASSE,
        "memberCpr": cpr, "logId": log_id, "occurredAt": at.isoformat(), "basedOnVersion": 1,
        "entry": entry("APPLIED", "Ringede til virksomheden") if second else entry("INTERVIEW"),
    }  # fmt: skip


@dataclass
class Record:
    topic: str
    key: str
    body: Json

    @property
    def id(self) -> str:
        return str(self.body.get("beskedId") or self.body["eventId"])


def backlog(sizes: Sizes, cprs: list[str], joblogs: list[tuple[str, str]]) -> list[Record]:
    now = datetime.now(UTC)
    records = [
        Record(topics.JOBNET_INBOUND, cpr, jobnet("opret", cpr, str(uuid.uuid4()), now))
        for i in range(sizes.creates)
        for cpr in [cprs[i % len(cprs)]]
    ]
    for second in (False, True):
        records += [
            Record(AKASSE_INBOUND, cpr, edit(cpr, log_id, now, second)) for cpr, log_id in joblogs
        ]
    return records


def unique_cprs(n: int) -> list[str]:
    seen: set[str] = set()
    while len(seen) < n:
        seen.add(new_cpr())
    return sorted(seen)
