"""The a-kasse format in (parse_akasse: every refusal, in a-kasse terms) and out
(akasse_outbound), and the round trip outbound -> inbound."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.events import (
    Ansoegningsstatus,
    Arbejdstid,
    FundetVia,
    Handling,
    Joblog,
    JoblogChange,
    JoblogType,
    Kontaktperson,
    SoegtVia,
    StoredJoblog,
)
from shared.formats.akasse import (
    AKASSE,
    akasse_outbound,
    message_id_of,
    parse_akasse,
)
from shared.rejections import Reason, Refusal
from tests.unit.test_joblog_rules import joblogs

CPR = "0101901234"
EVENT = "6f1c2d3e-0000-4000-8000-000000000001"
LOG_ID = "0b7e2d3e-0000-4000-8000-000000000002"
RECEIVED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MAX = 1_048_576
DROP = object()

FULL_ENTRY: dict[str, Any] = {
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
FULL_JOBLOG = Joblog(
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


def message(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventId": EVENT,
        "type": "JOBLOG_CREATED",
        "akasseNr": "067",
        "memberCpr": CPR,
        "logId": LOG_ID,
        "occurredAt": "2026-11-20T10:15:00+01:00",
        "entry": json.loads(json.dumps(FULL_ENTRY)),
    }
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = body
        for part in parents:
            target = target[part]
        if value is DROP:
            target.pop(last, None)
        else:
            target[last] = value
    return body


def parse(body: dict[str, Any] | bytes, key: str | None = CPR, max_bytes: int = MAX) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_akasse(raw, key, RECEIVED, max_bytes)


def refused(body: dict[str, Any] | bytes, key: str | None = CPR, max_bytes: int = MAX) -> Refusal:
    with pytest.raises(Refusal) as caught:
        parse(body, key, max_bytes)
    return caught.value


def test_a_full_message_parses() -> None:
    raw = json.dumps(message()).encode()
    command = parse_akasse(raw, CPR, RECEIVED, MAX)
    assert command.beskedId == UUID(EVENT)
    assert command.kilde == "akasse:067"
    assert command.akasse_nr == "067"
    assert command.handling == Handling.OPRET
    assert command.joblogId == UUID(LOG_ID)
    assert command.cpr == CPR
    assert command.tidspunkt == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    assert command.grundversion is None
    assert command.modtaget == RECEIVED
    assert command.raa == raw.decode()
    assert command.joblog == FULL_JOBLOG


@pytest.mark.parametrize(
    ("value", "handling"),
    [("JOBLOG_CREATED", "opret"), ("JOBLOG_UPDATED", "ret"), ("JOBLOG_DELETED", "slet")],
)
def test_types(value: str, handling: str) -> None:
    command = parse(message(type=value, basedOnVersion=2))
    assert command.handling == handling
    assert command.grundversion == 2
    assert (command.joblog is None) == (handling == "slet")


@pytest.mark.parametrize(
    ("field", "value", "canonical"),
    [
        ("kind", "OTHER_ACTIVITY", "anden_aktivitet"),
        ("hours", "FULL_TIME", "fuldtid"),
        ("status", "NOT_APPLIED", "ikke_soegt"),
        ("status", "APPLIED", "soegt"),
        ("status", "REJECTED", "afslag"),
        ("status", "HIRED", "fik_job"),
        ("source", "ADVERTISED", "opslaaet"),
        ("source", "UNSOLICITED", "uopfordret"),
        ("channel", "DIGITAL", "digitalt"),
        ("channel", "PHONE", "telefonisk"),
    ],
)
def test_enum_values(field: str, value: str, canonical: str) -> None:
    canonical_field = {v: k for k, v in AKASSE.entry.items()}[field]
    joblog = parse(message(**{f"entry__{field}": value})).joblog
    assert getattr(joblog, canonical_field) == canonical


def test_employer_and_contact_may_be_partial_or_absent() -> None:
    entry = {"kind": "APPLICATION", "jobTitle": "X", "employer": {"name": "Y", "country": "SE"}}
    joblog = parse(message(entry=entry)).joblog
    assert joblog == Joblog(type="ansoegning", stilling="X", virksomhed="Y", land="SE")
    assert parse(message(entry__contact={})).joblog.kontaktperson == Kontaktperson()
    assert parse(message(entry__contact=None)).joblog.kontaktperson is None


# refusals ------------------------------------------------------------------------------------


def test_too_large_is_refused_before_parsing() -> None:
    refusal = refused(b"x" * (5 * 1024 * 1024))
    assert refusal.reason == Reason.MALFORMED
    assert f"{5 * 1024 * 1024} bytes, more than the limit" in refusal.message


@pytest.mark.parametrize("raw", [b"{", b"\xc3\x28", b"42", b"[]", b"true"])
def test_malformed(raw: bytes) -> None:
    assert refused(raw).reason == Reason.MALFORMED


@pytest.mark.parametrize("key", [None, "0202901234"])
def test_key_must_be_the_member_cpr(key: str | None) -> None:
    refusal = refused(message(), key=key)
    assert (refusal.reason, refusal.field) == (Reason.MALFORMED, "key")
    assert "memberCpr" in refusal.message


@pytest.mark.parametrize("cpr", ["3213901234", "01019O1234", None, 101901234])
def test_invalid_cpr(cpr: object) -> None:
    refusal = refused(message(memberCpr=cpr), key=str(cpr))
    assert (refusal.reason, refusal.field) == (Reason.INVALID_CPR, "memberCpr")


@pytest.mark.parametrize("akasse_nr", ["67", "0670", "A67", 67, None, DROP])
def test_akasse_nr_is_3_digits(akasse_nr: object) -> None:
    refusal = refused(message(akasseNr=akasse_nr))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, "akasseNr")


@pytest.mark.parametrize(
    ("changes", "field", "message_part"),
    [
        ({"type": "JOBLOG_CHANGED"}, "type", "is not one of JOBLOG_CREATED, JOBLOG_UPDATED"),
        ({"type": "opret"}, "type", "is not one of"),
        ({"entry__kind": "ansoegning"}, "entry.kind", "is not one of APPLICATION, OTHER_ACTIVITY"),
        ({"entry__status": "soegt"}, "entry.status", "is not one of NOT_APPLIED, APPLIED"),
        ({"entry__hours": "HALF"}, "entry.hours", "is not one of FULL_TIME, PART_TIME"),
        ({"entry__source": "x"}, "entry.source", "is not one of ADVERTISED"),
        ({"entry__channel": "x"}, "entry.channel", "is not one of DIGITAL"),
        ({"eventId": "x"}, "eventId", "'x' is not a UUID"),
        ({"logId": DROP}, "logId", "logId: is missing"),
        ({"occurredAt": "2026-11-20T10:15"}, "occurredAt", "has no offset"),
        ({"type": "JOBLOG_UPDATED"}, "basedOnVersion", "basedOnVersion: is missing"),
        ({"type": "JOBLOG_UPDATED", "basedOnVersion": 0}, "basedOnVersion", "not a version"),
        ({"entry": DROP}, "entry", "entry: is missing"),
        ({"entry__kind": DROP}, "entry.kind", "entry.kind: is missing"),
        ({"entry__appliedOn": "2026/11/19"}, "entry.appliedOn", "not an ISO date"),
        ({"entry__employer": "Acme"}, "entry.employer", "must be an object"),
        ({"entry__employer__name": 7}, "entry.employer.name", "must be a string"),
        ({"entry__employer__vat": "1"}, "entry.employer.vat", "unknown field"),
        ({"entry__stilling": "x"}, "entry.stilling", "unknown field"),
        ({"origin": "jobnet"}, "origin", "unknown field"),
        # field rules, named the a-kasse way
        ({"entry__jobTitle": DROP}, "entry.jobTitle", "required for an application"),
        ({"entry__employer__name": " "}, "entry.employer.name", "required"),
        ({"entry__employer__country": None}, "entry.employer.country", "required"),
        ({"entry__notes": "n" * 2001}, "entry.notes", "at most 2000"),
        ({"entry__jobTitle": "t" * 201}, "entry.jobTitle", "at most 200"),
        ({"entry__contact__phone": "1" * 201}, "entry.contact.phone", "at most 200"),
        ({"entry__activity": "a" * 251}, "entry.activity", "at most 250"),
        (
            {"entry__employer__postalCode": "DK-8000"},
            "entry.employer.postalCode",
            "exactly 4 digits when entry.employer.country is DK",
        ),
        ({"entry__adUrl": "mailto:job@acme.dk"}, "entry.adUrl", "http or https"),
        ({"entry__appliedOn": "2026-11-21"}, "entry.appliedOn", "is after the day"),
        ({"entry__activityDate": "2027-01-01"}, "entry.activityDate", "is after the day"),
        (
            {"entry": {"kind": "OTHER_ACTIVITY", "activity": "Møde"}},
            "entry.activityDate",
            "required for another activity",
        ),
        (
            {"entry": {"kind": "OTHER_ACTIVITY", "activity": "", "activityDate": "2026-11-01"}},
            "entry.activity",
            "required for another activity",
        ),
    ],
)
def test_field_invalid(changes: dict[str, Any], field: str, message_part: str) -> None:
    refusal = refused(message(**changes))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, field)
    assert refusal.message.startswith(f"{field}: ")
    assert message_part in refusal.message


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"entry__jobTitle": "Lager\u0000"}, "entry.jobTitle", "U+0000"),
        ({"entry__employer__name": "Acme\rA/S"}, "entry.employer.name", "U+000D"),
        ({"entry__employer__city": "Aarhus\u009bC"}, "entry.employer.city", "U+009B"),
        ({"entry__contact__phone": "1234\u007f"}, "entry.contact.phone", "U+007F"),
        ({"entry__activity": "Møde\u000b"}, "entry.activity", "U+000B"),
        ({"entry__notes": "ok\n\u0000"}, "entry.notes", "U+0000"),
        ({"entry__adUrl": "https://acme.dk/\u202d1"}, "entry.adUrl", "U+202D"),
        ({"entry__notes": "\u2066note"}, "entry.notes", "U+2066"),
    ],
)
def test_control_and_bidi_characters_refused(
    changes: dict[str, Any], field: str, code: str
) -> None:
    refusal = refused(message(**changes))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, field)
    assert refusal.message.startswith(f"{field}: contains a ")
    assert f"({code})" in refusal.message


def test_notes_keep_line_breaks_and_tabs() -> None:
    notes = "Samtale mandag\r\n\t- medbring CV\nRing \u200fAnn"
    assert parse(message(entry__notes=notes)).joblog.noter == notes


def test_future_deadline_accepted() -> None:
    assert parse(message(entry__deadline="2031-05-05")).joblog.ansoegningsfrist.year == 2031


def test_message_id_of() -> None:
    assert message_id_of(json.dumps(message()).encode()) == EVENT
    assert message_id_of(json.dumps(message(eventId=None)).encode()) is None
    assert message_id_of(b"{broken") is None


# outbound ------------------------------------------------------------------------------------


def stored(joblog: Joblog, **fields: Any) -> StoredJoblog:
    values: dict[str, Any] = {
        "joblogId": UUID(LOG_ID),
        "cpr": CPR,
        "version": 2,
        "joblog": joblog,
        "oprettet": datetime(2026, 11, 1, 8, 0, tzinfo=UTC),
        "senestAendret": datetime(2026, 11, 20, 9, 15, tzinfo=UTC),
        "kilde": "jobnet",
        "kildeBeskedId": UUID(EVENT),
    }
    return StoredJoblog(**{**values, **fields})


def test_outbound() -> None:
    change = JoblogChange(handling=Handling.RET, entry=stored(FULL_JOBLOG), akasseNr="067")
    out = akasse_outbound(change)
    assert out == {
        "eventId": EVENT,
        "type": "JOBLOG_UPDATED",
        "akasseNr": "067",
        "memberCpr": CPR,
        "logId": LOG_ID,
        "occurredAt": "2026-11-20T09:15:00+00:00",
        "entry": FULL_ENTRY,
        "version": 2,
        "createdAt": "2026-11-01T08:00:00+00:00",
        "updatedAt": "2026-11-20T09:15:00+00:00",
        "origin": "jobnet",
        "originEventId": EVENT,
        "deleted": False,
    }
    assert list(out)[:6] == ["eventId", "type", "akasseNr", "memberCpr", "logId", "occurredAt"]
    json.dumps(out)


def test_outbound_omits_none_and_marks_deleted_and_snapshot() -> None:
    joblog = Joblog(type=JoblogType.ANDEN_AKTIVITET, aktivitet="Møde", aktivitetsdato="2026-11-02")
    entry = stored(joblog, slettet=True, kilde="akasse:099")
    out = akasse_outbound(
        JoblogChange(handling=Handling.SLET, entry=entry, akasseNr="067", snapshot=True)
    )
    assert out["type"] == "JOBLOG_DELETED"
    assert out["entry"] == {
        "kind": "OTHER_ACTIVITY",
        "activity": "Møde",
        "activityDate": "2026-11-02",
    }
    assert (out["deleted"], out["snapshot"], out["origin"]) == (True, True, "akasse:099")
    assert "basedOnVersion" not in out


# round trip ----------------------------------------------------------------------------------

INBOUND_KEYS = ("eventId", "type", "akasseNr", "memberCpr", "logId", "occurredAt", "entry")


@given(joblogs(), st.sampled_from([Handling.OPRET, Handling.RET]), st.integers(1, 10**6))
def test_outbound_parses_back_to_the_same_joblog(
    joblog: Joblog, handling: Handling, version: int
) -> None:
    change = JoblogChange(handling=handling, entry=stored(joblog, version=version), akasseNr="067")
    out = akasse_outbound(change)
    inbound = {key: out[key] for key in INBOUND_KEYS}
    if handling == Handling.RET:
        inbound["basedOnVersion"] = version
    raw = json.dumps(inbound, ensure_ascii=False).encode()
    command = parse_akasse(raw, CPR, RECEIVED, MAX)
    assert command.joblog == joblog
    assert command.handling == handling
    assert command.kilde == "akasse:067"
    assert (command.beskedId, command.joblogId) == (UUID(EVENT), UUID(LOG_ID))
