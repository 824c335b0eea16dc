"""The front-end formats as the format tests see them (tests/unit/test_formats*.py): one
`FormatCase` per format, its full message, what that parses to, and the producer's names and
values for the canonical ones."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest

from shared.contract.events import (
    Ansoegningsstatus,
    Arbejdstid,
    FundetVia,
    Joblog,
    JoblogChange,
    JoblogCommand,
    JoblogType,
    Kontaktperson,
    SoegtVia,
    StoredJoblog,
)
from shared.contract.rejections import Refusal
from shared.frontends import akasse, jobnet

CPR = "0101901234"
BESKED = "6f1c2d3e-0000-4000-8000-000000000001"  # Jobnet's beskedId, the a-kasse's eventId
JOBLOG_ID = "0b7e2d3e-0000-4000-8000-000000000002"  # joblogId, logId
MAX = 1_048_576
MB = 1024 * 1024
DROP = object()  # as a change: the field is left out
Json = dict[str, Any]

# the producer's names, by canonical (dotted) path; Jobnet's are the canonical ones
AKASSE_NAMES = {
    "beskedId": "eventId",
    "handling": "type",
    "akasseNr": "akasseNr",
    "cpr": "memberCpr",
    "joblogId": "logId",
    "tidspunkt": "occurredAt",
    "grundversion": "basedOnVersion",
    "joblog": "entry",
    "version": "version",
    "kilde": "origin",
    **{
        f"joblog.{canonical}": f"entry.{name}"
        for canonical, name in {
            "type": "kind",
            "stilling": "jobTitle",
            "virksomhed": "employer.name",
            "adresse": "employer.address",
            "postnummer": "employer.postalCode",
            "by": "employer.city",
            "land": "employer.country",
            "ansoegningsfrist": "deadline",
            "arbejdstid": "hours",
            "kontaktperson": "contact",
            "kontaktperson.navn": "contact.name",
            "kontaktperson.telefon": "contact.phone",
            "kontaktperson.email": "contact.email",
            "link": "adUrl",
            "status": "status",
            "soegtDato": "appliedOn",
            "fundetVia": "source",
            "soegtVia": "channel",
            "aktivitet": "activity",
            "aktivitetsdato": "activityDate",
            "noter": "notes",
        }.items()
    },
}
AKASSE_VALUES = {  # canonical value -> the a-kasse's, those the shared tests send
    "opret": "JOBLOG_CREATED",
    "ret": "JOBLOG_UPDATED",
    "slet": "JOBLOG_DELETED",
    "ansoegning": "APPLICATION",
    "anden_aktivitet": "OTHER_ACTIVITY",
}

JOBNET_MESSAGE: Json = {
    "beskedId": BESKED,
    "handling": "opret",
    "joblogId": JOBLOG_ID,
    "cpr": CPR,
    "tidspunkt": "2026-11-20T10:15:00+01:00",
    "joblog": {
        "type": "ansoegning",
        "stilling": "Lagermedarbejder",
        "virksomhed": "Acme A/S",
        "adresse": "Vej 1",
        "postnummer": "8000",
        "by": "Aarhus C",
        "land": "DK",
        "ansoegningsfrist": "2026-12-01",
        "arbejdstid": "fuldtid",
        "kontaktperson": {"navn": "Ann", "telefon": "12345678", "email": "a@acme.dk"},
        "link": "https://jobnet.dk/job/1",
        "status": "soegt",
        "soegtDato": "2026-11-19",
        "fundetVia": "opslaaet",
        "soegtVia": "digitalt",
        "noter": "Godt job",
    },
}
JOBNET_JOBLOG = Joblog(
    type=JoblogType.ANSOEGNING,
    stilling="Lagermedarbejder",
    virksomhed="Acme A/S",
    adresse="Vej 1",
    postnummer="8000",
    by="Aarhus C",
    land="DK",
    ansoegningsfrist=date(2026, 12, 1),
    arbejdstid=Arbejdstid.FULDTID,
    kontaktperson=Kontaktperson(navn="Ann", telefon="12345678", email="a@acme.dk"),
    link="https://jobnet.dk/job/1",
    status=Ansoegningsstatus.SOEGT,
    soegtDato=date(2026, 11, 19),
    fundetVia=FundetVia.OPSLAAET,
    soegtVia=SoegtVia.DIGITALT,
    noter="Godt job",
)
AKASSE_ENTRY: Json = {
    "kind": "APPLICATION",
    "jobTitle": "Lagermedarbejder",
    "employer": {
        "name": "Acme A/S",
        "address": "Vej 1",
        "postalCode": "8000",
        "city": "Aarhus C",
        "country": "DK",
    },
    "deadline": "2026-12-01",
    "hours": "PART_TIME",
    "contact": {"name": "Ann", "phone": "12345678", "email": "a@acme.dk"},
    "adUrl": "https://acme.dk/job/1",
    "status": "INTERVIEW",
    "appliedOn": "2026-11-19",
    "source": "NETWORK",
    "channel": "IN_PERSON",
    "activity": "Også et møde",
    "activityDate": "2026-11-18",
    "notes": "Godt job",
}
AKASSE_MESSAGE: Json = {
    "eventId": BESKED,
    "type": "JOBLOG_CREATED",
    "akasseNr": "067",
    "memberCpr": CPR,
    "logId": JOBLOG_ID,
    "occurredAt": "2026-11-20T10:15:00+01:00",
    "entry": AKASSE_ENTRY,
}
AKASSE_JOBLOG = Joblog(
    type=JoblogType.ANSOEGNING,
    stilling="Lagermedarbejder",
    virksomhed="Acme A/S",
    adresse="Vej 1",
    postnummer="8000",
    by="Aarhus C",
    land="DK",
    ansoegningsfrist=date(2026, 12, 1),
    arbejdstid=Arbejdstid.DELTID,
    kontaktperson=Kontaktperson(navn="Ann", telefon="12345678", email="a@acme.dk"),
    link="https://acme.dk/job/1",
    status=Ansoegningsstatus.SAMTALE,
    soegtDato=date(2026, 11, 19),
    fundetVia=FundetVia.NETVAERK,
    soegtVia=SoegtVia.PERSONLIGT,
    aktivitet="Også et møde",
    aktivitetsdato=date(2026, 11, 18),
    noter="Godt job",
)


class Entry(dict[str, Any]):
    """A whole entry given by canonical names and values, sent in each format's own."""


@dataclass(frozen=True)
class FormatCase:
    """One format as the tests see it: its full message, what that parses to, its functions,
    and the producer's names and values for the canonical ones."""

    name: str
    full_message: Json
    full_joblog: Joblog  # what the full message's entry parses to
    parse_fn: Callable[[bytes, str | None, datetime, int], JoblogCommand]
    outbound: Callable[[JoblogChange], Json]
    message_id_of: Callable[[bytes], str | None]
    received: datetime
    kilde: str  # the full message's
    akasse_nr: str | None  # the full message's, and the outbound one's receiver
    names: dict[str, str]  # canonical dotted path -> the producer's, where they differ
    values: dict[str, str]  # canonical value -> the producer's, where they differ
    inbound_keys: tuple[str, ...]  # the outbound fields a producer sends back in

    def __str__(self) -> str:
        return self.name

    def field(self, path: str) -> str:
        """The producer's name for a canonical dotted path ("joblog.kontaktperson.fax" ->
        "entry.contact.fax"); a name that is not canonical is the producer's and kept."""
        parts = path.split(".")
        for end in range(len(parts), 0, -1):
            head = ".".join(parts[:end])
            if head in self.names:
                return ".".join([self.names[head], *parts[end:]])
        return path

    def value(self, canonical: str) -> str:
        return self.values.get(canonical, canonical)

    def entry(self, fields: Entry) -> Json:
        """The whole entry in the producer's names and values."""
        out: Json = {}
        for path, value in fields.items():
            *parents, last = self.field(f"joblog.{path}").split(".")[1:]
            target = out
            for part in parents:
                target = target.setdefault(part, {})
            target[last] = self.value(value) if path == "type" else value
        return out

    def message(self, **changes: Any) -> Json:
        """The full message with `changes`: a path (levels joined by "__", canonical names
        are translated) -> its new value, or DROP to leave it out."""
        body = json.loads(json.dumps(self.full_message))
        for path, value in changes.items():
            *parents, last = self.field(path.replace("__", ".")).split(".")
            target = body
            for part in parents:
                target = target[part]
            if value is DROP:
                target.pop(last, None)
            else:
                target[last] = self.entry(value) if isinstance(value, Entry) else value
        return body

    def parse(self, body: Json | bytes, key: str | None = CPR, max_bytes: int = MAX) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.parse_fn(raw, key, self.received, max_bytes)

    def refused(self, body: Json | bytes, key: str | None = CPR, max_bytes: int = MAX) -> Refusal:
        with pytest.raises(Refusal) as caught:
            self.parse(body, key, max_bytes)
        return caught.value


JOBNET = FormatCase(
    name="jobnet",
    full_message=JOBNET_MESSAGE,
    full_joblog=JOBNET_JOBLOG,
    parse_fn=jobnet.parse_jobnet,
    outbound=jobnet.jobnet_outbound,
    message_id_of=jobnet.message_id_of,
    # 23:30 UTC is already the 21st in Copenhagen: "today" is the Copenhagen day of receipt
    received=datetime(2026, 11, 20, 23, 30, tzinfo=UTC),
    kilde="jobnet",
    akasse_nr=None,
    names={},
    values={},
    inbound_keys=("beskedId", "handling", "joblogId", "cpr", "tidspunkt", "joblog"),
)
AKASSE = FormatCase(
    name="akasse",
    full_message=AKASSE_MESSAGE,
    full_joblog=AKASSE_JOBLOG,
    parse_fn=akasse.parse_akasse,
    outbound=akasse.akasse_outbound,
    message_id_of=akasse.message_id_of,
    received=datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
    kilde="akasse:067",
    akasse_nr="067",
    names=AKASSE_NAMES,
    values=AKASSE_VALUES,
    inbound_keys=("eventId", "type", "akasseNr", "memberCpr", "logId", "occurredAt", "entry"),
)
CASES = [JOBNET, AKASSE]


def stored(joblog: Joblog, **fields: Any) -> StoredJoblog:
    values: Json = {
        "joblogId": UUID(JOBLOG_ID),
        "cpr": CPR,
        "version": 4,
        "joblog": joblog,
        "oprettet": datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
        "senestAendret": datetime(2026, 11, 20, 9, 15, tzinfo=UTC),
        "kilde": "akasse:067",
        "kildeBeskedId": UUID(BESKED),
    }
    return StoredJoblog(**{**values, **fields})
