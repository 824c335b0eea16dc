"""THE place where the retention rules live (GDPR art. 5(1)(e): personal data kept no longer than
its purpose needs). Pure: no I/O, no clock; `services/retention/` applies them.

The periods (`Periods`, from the settings, docs/operations.md "Retention"):

- a joblog's non-mandatory fields: 4 years after its last change (STAR's own joblog does so);
- the whole joblog and its history: 5 years after its last change;
- the access log: 5 years after the read;
- message ids kept for deduplication (`beskeder`): 30 days after the message was accepted,
  well past any redelivery (the topics keep a record 7 days, a replay's copy another 7).

**When a period in years ends** (the law leaves it open; we take the EU's rule for periods,
Regulation (EEC, Euratom) No 1182/71 art. 3(1) and 3(2)(c)): the day of the event is not
counted, and a period of n years ends at the end of the same date n years later, or, when that
date does not exist (29 February), at the end of the last day of that month (28 February). The
data is deleted on the day after: `due_on(day, n) = anniversary(day, n) + 1 day`. (Art. 3(4),
which moves the end of a period past a weekend or holiday, is for time limits to act, not for a
limit on keeping: it is not applied.) Days are Copenhagen days (the contract's "day").

**A joblog's last change** is the last change a front end made (`senestAendret`): the platform's
own retention versions keep it, so its clearing of the optional fields does not start the clock
again, and a front end that counts from the same `senestAendret` (`updatedAt`) counts alike.

**Non-mandatory fields** are those the field rules (`shared.contract.joblog_rules.REQUIRED`) do
not require of the entry's type: an application keeps its type, job title, employer name and
country; another activity its type, description and date. Everything else (notes, contact
person, link, address, dates, status, …) is cleared, in every version of its history.

**What the job does with a queue entry** (`decide`), an entry `<kind>|<day>|<joblogId>` being a
day the joblog changed (`ryd`, to clear) or the day of its last change once cleared (`slet`, to
erase): it is stale (`DROP`) if the joblog is gone or its last change is another day (a later
change has its own entry); otherwise, by the periods, `ERASE` (or `ERASED`: the erasure was begun
and is finished), `CLEAR` (or `CLEARED`), or `WAIT`.
"""

from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID, uuid5

from shared.contract.events import JOBLOG_FIELDS, Joblog, JoblogType, StoredJoblog
from shared.contract.joblog_rules import REQUIRED
from shared.contract.tid import as_utc, day_of

KILDE = "dfdg"
"""The `kilde` of the platform's own versions of a joblog (the clearing, the erasure)."""
NAMESPACE = uuid5(UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8"), "urn:dfdg:joblog:sletning")
"""uuid5 namespace of the retention versions' message ids (fixed forever)."""

# the kinds of the retention queue (`udloeb`), `_id` "<kind>|<day>|<id>"
RYD = "ryd"
"""A day a joblog changed: its optional fields are cleared when the period since has run."""
SLET = "slet"
"""The last change of a cleared joblog: it is erased when the period since has run."""
BESKED = "besked"
"""The day a message was accepted: its id leaves `beskeder` when the period since has run."""
KINDS = (RYD, SLET, BESKED)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Periods:
    """The retention periods (settings `JOBLOG_RETENTION_*`)."""

    optional_fields_years: int = 4
    joblog_years: int = 5
    access_log_years: int = 5
    message_id_days: int = 30

    def __post_init__(self) -> None:
        if min(self.optional_fields_years, self.joblog_years, self.access_log_years) < 1:
            raise ValueError("a retention period in years is at least 1")
        if self.message_id_days < 1:
            raise ValueError("message ids are kept at least 1 day")

    @property
    def clears(self) -> bool:
        """The optional fields go before the whole joblog does (else the erasure comes first)."""
        return self.optional_fields_years < self.joblog_years


# -- when a period ends ------------------------------------------------------------------


def anniversary(day: date, years: int) -> date:
    """The same date `years` later; 29 February becomes 28 February in a common year."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def due_on(day: date, years: int) -> date:
    """The first day data of `day` may no longer be kept: the day after the period ended."""
    return anniversary(day, years) + timedelta(days=1)


def is_due(day: date, years: int, today: date) -> bool:
    return due_on(day, years) <= today


def latest_due_day(today: date, years: int) -> date:
    """The last day whose data is due `today`: every earlier day's is too (the queue is read up
    to it). 28 February 2029 is the anniversary of 29 February 2024, so on 1 March 2029 both
    28 and 29 February 2024 are due."""
    day = anniversary(today - timedelta(days=1), -years)
    while is_due(day + timedelta(days=1), years, today):
        day += timedelta(days=1)
    return day


def message_id_due(day: date, days: int, today: date) -> bool:
    """A message id accepted on `day` is kept `days` days after that day."""
    return day + timedelta(days=days + 1) <= today


def latest_message_day(today: date, days: int) -> date:
    return today - timedelta(days=days + 1)


# -- what is kept ------------------------------------------------------------------------


def kept_fields(kind: JoblogType) -> tuple[str, ...]:
    """The fields an entry of this type keeps once its optional fields are cleared."""
    return ("type", *REQUIRED[kind])


def optional_fields(kind: JoblogType) -> tuple[str, ...]:
    """The fields cleared of an entry of this type (its history's too)."""
    kept = kept_fields(kind)
    return tuple(name for name in JOBLOG_FIELDS if name not in kept)


def cleared(joblog: Joblog) -> Joblog:
    """The entry with its optional fields cleared (it still obeys the field rules)."""
    return Joblog.model_validate({name: getattr(joblog, name) for name in kept_fields(joblog.type)})


def is_erased(stored: StoredJoblog) -> bool:
    """A tombstone: the version the erasure leaves of a joblog (no cpr, no content)."""
    return stored.kilde == KILDE and stored.slettet and not stored.cpr


def version_id(action: str, joblog_id: UUID, version: int) -> UUID:
    """The message id (`kildeBeskedId`) of a retention version: the same on every run."""
    return uuid5(NAMESPACE, f"{action}:{joblog_id}:{version}")


# -- the decision on one queue entry -----------------------------------------------------


class Action(StrEnum):
    DROP = "drop"  # stale: the joblog is gone, or changed on another day
    WAIT = "wait"  # not due yet (or due for another pass)
    CLEAR = "clear"  # clear the optional fields (a new version)
    CLEARED = "cleared"  # cleared before: finish the steps after the version
    ERASE = "erase"  # erase the joblog and its history
    ERASED = "erased"  # erasure begun before: finish its steps


def decide(
    kind: str, day: date, current: StoredJoblog | None, today: date, periods: Periods
) -> Action:
    """What the job does with the queue entry `<kind>|<day>|<joblogId>` for the joblog's current
    version `current` (None: no such joblog)."""
    if current is None:
        return Action.DROP
    if day_of(current.senestAendret) != day:
        return Action.DROP
    if is_erased(current):
        return Action.ERASED
    if is_due(day, periods.joblog_years, today):
        return Action.ERASE
    if kind != RYD or not periods.clears or not is_due(day, periods.optional_fields_years, today):
        return Action.WAIT
    return Action.CLEARED if current.kilde == KILDE else Action.CLEAR


def queue_key(kind: str, day: date, item: str) -> str:
    return f"{kind}|{day.isoformat()}|{item}"


def day_range(kind: str, day: date) -> dict[str, str]:
    """The `_id` filter of one day's entries of a kind ('|' < digits: the next day bounds it)."""
    return {"$gte": f"{kind}|{day.isoformat()}", "$lt": f"{kind}|{day + timedelta(days=1)}"}


def due_range(kind: str, last_day: date) -> dict[str, str]:
    """The `_id` filter of a kind's entries up to and with `last_day`."""
    return {"$gte": f"{kind}|", "$lt": f"{kind}|{last_day + timedelta(days=1)}"}


def parse_key(key: str) -> tuple[str, date, str]:
    kind, day, item = key.split("|", 2)
    return kind, date.fromisoformat(day), item


class Changed(Protocol):
    """What `entries_of` reads of a stored change: a `StoredJoblog`, or the retention service's
    parse of these fields alone."""

    @property
    def kilde(self) -> str: ...
    @property
    def senestAendret(self) -> datetime: ...
    @property
    def joblogId(self) -> UUID: ...
    @property
    def kildeBeskedId(self) -> UUID: ...


def entries_of(changed: Changed) -> list[str]:
    """The queue entries an accepted change adds: the day it changed the joblog (`ryd`) and
    the day its message id was finished (`besked`); the platform's own versions add none."""
    if changed.kilde == KILDE:
        return []
    day = day_of(changed.senestAendret)
    return [
        queue_key(RYD, day, str(changed.joblogId)),
        queue_key(BESKED, day, str(changed.kildeBeskedId)),
    ]


# -- the access log's `_id`s: UUIDv7 of the time read --------------------------------------


def _millis(moment: datetime) -> int:
    return (as_utc(moment) - EPOCH) // timedelta(milliseconds=1)


def uuid7(moment: datetime) -> UUID:
    """A UUIDv7 (RFC 9562) of `moment`: its Unix milliseconds, then random bits. Its text sorts
    by the moment, so the access log's entries of a period are one `_id` range."""
    random = int.from_bytes(secrets.token_bytes(10)) & ((1 << 74) - 1)
    rand_a, rand_b = random >> 62, random & ((1 << 62) - 1)
    value = _millis(moment) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return UUID(int=value)


def uuid7_prefix(moment: datetime) -> str:
    """How the text of a UUIDv7 of `moment` begins (its 48 bits of milliseconds): every entry
    of an earlier moment sorts before it, every one of this moment or later after."""
    text = f"{_millis(moment):012x}"
    return f"{text[:8]}-{text[8:]}"
