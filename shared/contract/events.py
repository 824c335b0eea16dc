"""The canonical model: what both adapters produce and what storage and the notifier consume.

Field names follow DFDG's own (Danish) vocabulary, which is also Jobnet's. The a-kasse adapter
maps its English format to and from these.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict


class Handling(StrEnum):
    """What a change does to a joblog: create, edit (ret) or delete (slet)."""

    OPRET = "opret"
    RET = "ret"
    SLET = "slet"


class JoblogType(StrEnum):
    ANSOEGNING = "ansoegning"  # a job application
    ANDEN_AKTIVITET = "anden_aktivitet"  # another job-search activity


class Arbejdstid(StrEnum):
    FULDTID = "fuldtid"
    DELTID = "deltid"


class Ansoegningsstatus(StrEnum):
    IKKE_SOEGT = "ikke_soegt"
    SOEGT = "soegt"
    SAMTALE = "samtale"
    AFSLAG = "afslag"
    FIK_JOB = "fik_job"


class FundetVia(StrEnum):
    OPSLAAET = "opslaaet"  # advertised
    UOPFORDRET = "uopfordret"  # unsolicited
    NETVAERK = "netvaerk"


class SoegtVia(StrEnum):
    DIGITALT = "digitalt"
    PERSONLIGT = "personligt"
    TELEFONISK = "telefonisk"


class Sletning(StrEnum):
    """Why the platform itself changed or removed a joblog: its retention period ran out
    (shared/contract/retention.py)."""

    VALGFRIE_FELTER = "valgfrie_felter"  # the non-mandatory fields were cleared (a new version)
    JOBLOG = "joblog"  # the joblog and its history were erased


class Kontaktperson(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    navn: str | None = None
    telefon: str | None = None
    email: str | None = None


class Joblog(BaseModel):
    """One joblog entry's content. Which fields are required depends on `type` (validation.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: JoblogType
    stilling: str | None = None
    virksomhed: str | None = None
    adresse: str | None = None
    postnummer: str | None = None
    by: str | None = None
    land: str | None = None
    ansoegningsfrist: date | None = None
    arbejdstid: Arbejdstid | None = None
    kontaktperson: Kontaktperson | None = None
    link: str | None = None
    status: Ansoegningsstatus | None = None
    soegtDato: date | None = None
    fundetVia: FundetVia | None = None
    soegtVia: SoegtVia | None = None
    aktivitet: str | None = None
    aktivitetsdato: date | None = None
    noter: str | None = None


JOBLOG_FIELDS: tuple[str, ...] = tuple(Joblog.model_fields)

Producer = Literal["jobnet", "akasse"]


class JoblogCommand(BaseModel):
    """A validated change from a front end, on `dfdg.joblog.commands` keyed by cpr."""

    model_config = ConfigDict(frozen=True)
    beskedId: UUID  # the producer's message id (Jobnet beskedId, a-kasse eventId)
    kilde: str  # "jobnet" or "akasse:067"
    handling: Handling
    joblogId: UUID
    cpr: str
    tidspunkt: datetime  # when the citizen made the change (occurredAt)
    grundversion: int | None = None  # the version the edit was based on
    joblog: Joblog | None = None  # None for slet
    modtaget: datetime  # when the adapter received it, on the platform clock
    raa: str  # the raw message, so storage can reject with it
    raaPartition: int | None = None  # where the raw message is in the inbound topic
    raaOffset: int | None = None
    gentagelse: str | None = None  # the replay the raw message came in (`joblog replay`)

    @property
    def producer(self) -> Producer:
        return "jobnet" if self.kilde == "jobnet" else "akasse"

    @property
    def akasse_nr(self) -> str | None:
        return self.kilde.split(":", 1)[1] if self.kilde.startswith("akasse:") else None


class StoredJoblog(BaseModel):
    """A joblog as DFDG holds it: the single shared record."""

    joblogId: UUID
    cpr: str
    version: int
    slettet: bool = False
    joblog: Joblog
    oprettet: datetime
    senestAendret: datetime
    kilde: str
    kildeBeskedId: UUID


class JoblogChange(BaseModel):
    """An accepted change (or a snapshot entry), on `dfdg.joblog.changes` keyed by cpr.

    The adapters turn it into their outbound format; `akasseNr` is the a-kasse that should
    receive it (the citizen's a-kasse if it offers joblog), decided by storage.
    """

    handling: Handling
    entry: StoredJoblog
    akasseNr: str | None = None
    snapshot: bool = False  # True: sent to a new a-kasse only, not a change
    sletning: Sletning | None = None  # set on the platform's own retention changes


class CitizenChange(BaseModel):
    """On `dfdg.citizen.changes`: something that can move the citizen's advisering timer was
    stored."""

    cpr: str
    aarsag: Literal["joblog", "status", "exemption"]
    tidspunkt: datetime


class Rejection(BaseModel):
    """What a `*.rejected` topic carries: the id, a stable reason code, a readable message naming
    the field, and the raw message."""

    id: str | None
    reason: str
    message: str
    field: str | None = None
    raw: str
    rawBytes: int
    sourceTopic: str
    sourcePartition: int | None = None
    sourceOffset: int | None = None
    rejectedAt: datetime
