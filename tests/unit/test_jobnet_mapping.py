"""Jobnet's format in (parse_jobnet: every refusal) and out (jobnet_outbound), and the round
trip outbound -> inbound."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.events import (
    Ansoegningsstatus,
    Handling,
    Joblog,
    JoblogChange,
    JoblogType,
    Kontaktperson,
    StoredJoblog,
)
from shared.formats.jobnet import jobnet_outbound, message_id_of, parse_jobnet
from shared.rejections import Reason, Refusal
from tests.unit.test_joblog_rules import joblogs

CPR = "0101901234"
BESKED = "6f1c2d3e-0000-4000-8000-000000000001"
JOBLOG_ID = "0b7e2d3e-0000-4000-8000-000000000002"
# 23:30 UTC is already the 21st in Copenhagen: "today" is the Copenhagen day of receipt
RECEIVED = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
MAX = 1_048_576


def message(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
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


DROP = object()


def parse(body: dict[str, Any] | bytes, key: str | None = CPR, max_bytes: int = MAX) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_jobnet(raw, key, RECEIVED, max_bytes)


def refused(body: dict[str, Any] | bytes, key: str | None = CPR, max_bytes: int = MAX) -> Refusal:
    with pytest.raises(Refusal) as caught:
        parse(body, key, max_bytes)
    return caught.value


def test_a_full_message_parses() -> None:
    raw = json.dumps(message()).encode()
    command = parse_jobnet(raw, CPR, RECEIVED, MAX)
    assert command.beskedId == UUID(BESKED)
    assert command.kilde == "jobnet"
    assert command.handling == Handling.OPRET
    assert command.joblogId == UUID(JOBLOG_ID)
    assert command.cpr == CPR
    assert command.tidspunkt == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    assert command.grundversion is None
    assert command.modtaget == RECEIVED
    assert command.raa == raw.decode()
    joblog = command.joblog
    assert joblog is not None
    assert joblog.type == JoblogType.ANSOEGNING
    assert joblog.status == Ansoegningsstatus.SOEGT
    assert joblog.kontaktperson == Kontaktperson(navn="Ann", telefon="12345678", email="a@acme.dk")
    assert (
        joblog.ansoegningsfrist is not None and joblog.ansoegningsfrist.isoformat() == "2026-12-01"
    )


def test_other_activity_parses() -> None:
    entry = {"type": "anden_aktivitet", "aktivitet": "Møde", "aktivitetsdato": "2026-11-18"}
    command = parse(message(joblog=entry))
    assert command.joblog == Joblog(
        type=JoblogType.ANDEN_AKTIVITET, aktivitet="Møde", aktivitetsdato="2026-11-18"
    )


def test_null_optional_fields_are_absent() -> None:
    command = parse(message(joblog__noter=None, joblog__kontaktperson=None, grundversion=None))
    assert command.joblog.noter is None
    assert command.joblog.kontaktperson is None


def test_ret_and_slet_need_grundversion() -> None:
    assert parse(message(handling="ret", grundversion=3)).grundversion == 3
    for handling in ("ret", "slet"):
        refusal = refused(message(handling=handling))
        assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, "grundversion")
        assert refusal.message == "grundversion: is missing"
    for bad in (0, -1, "3", 2.5, True):
        refusal = refused(message(handling="ret", grundversion=bad))
        assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, "grundversion")


def test_slet_ignores_or_lacks_the_joblog() -> None:
    assert parse(message(handling="slet", grundversion=2)).joblog is None
    assert parse(message(handling="slet", grundversion=2, joblog=DROP)).joblog is None
    assert parse(message(handling="slet", grundversion=2, joblog="junk")).joblog is None


@pytest.mark.parametrize("handling", ["opret", "ret"])
def test_opret_and_ret_need_the_joblog(handling: str) -> None:
    refusal = refused(message(handling=handling, grundversion=1, joblog=DROP))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, "joblog")
    refusal = refused(message(joblog=[1]))
    assert refusal.message == "joblog: must be an object, not an array"


# malformed ----------------------------------------------------------------------------------


def test_too_large_is_refused_before_parsing() -> None:
    body = b"{" + b" " * (5 * 1024 * 1024) + b"not json at all"
    refusal = refused(body, max_bytes=MAX)
    assert refusal.reason == Reason.MALFORMED
    assert f"more than the limit of {MAX} bytes" in refusal.message
    exact = json.dumps(message()).encode()
    assert parse(exact, max_bytes=len(exact)).cpr == CPR
    assert refused(exact, max_bytes=len(exact) - 1).reason == Reason.MALFORMED


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{not json", "not JSON"),
        (b"", "not JSON"),
        (b'{"a": 1} x', "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        ('{"cpr": "0101901234"}'.encode("utf-16"), "not UTF-8"),
        (b"[1, 2]", "an array, not a JSON object"),
        (b'"text"', "a string, not a JSON object"),
        (b"null", "null, not a JSON object"),
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_malformed(raw: bytes, problem: str) -> None:
    refusal = refused(raw)
    assert refusal.reason == Reason.MALFORMED
    assert problem in refusal.message


@pytest.mark.parametrize("key", [None, "0202901234", "", f"{CPR} "])
def test_key_must_be_the_cpr(key: str | None) -> None:
    refusal = refused(message(), key=key)
    assert (refusal.reason, refusal.field) == (Reason.MALFORMED, "key")


# invalid cpr ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cpr", ["010190-1234", "3102901234", "0101901", "01019012345", 101901234, None, "ABCDEFGHIJ"]
)
def test_invalid_cpr(cpr: object) -> None:
    refusal = refused(message(cpr=cpr), key=str(cpr))
    assert (refusal.reason, refusal.field) == (Reason.INVALID_CPR, "cpr")
    assert refusal.message.startswith("cpr: ")


def test_missing_cpr() -> None:
    refusal = refused(message(cpr=DROP))
    assert (refusal.reason, refusal.message) == (Reason.INVALID_CPR, "cpr: is missing")


def test_cpr_without_modulus_11_is_valid() -> None:
    assert parse(message(cpr="0101904000"), key="0101904000").cpr == "0101904000"


# field_invalid -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message_part"),
    [
        ({"handling": "opdater"}, "handling", "'opdater' is not one of opret, ret, slet"),
        (
            {"joblog__status": "x"},
            "joblog.status",
            "joblog.status: 'x' is not one of ikke_soegt, soegt, samtale, afslag, fik_job",
        ),
        ({"joblog__type": "APPLICATION"}, "joblog.type", "is not one of ansoegning"),
        ({"joblog__arbejdstid": 1}, "joblog.arbejdstid", "1 is not one of fuldtid, deltid"),
        ({"joblog__fundetVia": "avis"}, "joblog.fundetVia", "is not one of"),
        ({"joblog__soegtVia": "brev"}, "joblog.soegtVia", "is not one of"),
        ({"beskedId": "not-a-uuid"}, "beskedId", "'not-a-uuid' is not a UUID"),
        ({"beskedId": DROP}, "beskedId", "beskedId: is missing"),
        ({"joblogId": 12}, "joblogId", "12 is not a UUID"),
        ({"joblogId": "0b7e2d3e00004000800000000000002a"}, "joblogId", "is not a UUID"),
        ({"tidspunkt": "2026-11-20T10:15:00"}, "tidspunkt", "has no offset"),
        ({"tidspunkt": "i går"}, "tidspunkt", "is not an ISO 8601 time"),
        ({"tidspunkt": DROP}, "tidspunkt", "is missing"),
        ({"joblog__soegtDato": "19-11-2026"}, "joblog.soegtDato", "is not an ISO date"),
        ({"joblog__soegtDato": "2026-02-30"}, "joblog.soegtDato", "is not an ISO date"),
        ({"joblog__ansoegningsfrist": "20261201"}, "joblog.ansoegningsfrist", "ISO date"),
        ({"joblog__stilling": 42}, "joblog.stilling", "must be a string, not a number"),
        ({"joblog__kontaktperson": "Ann"}, "joblog.kontaktperson", "must be an object"),
        ({"joblog__kontaktperson__navn": ["Ann"]}, "joblog.kontaktperson.navn", "a string"),
        ({"joblog__type": DROP}, "joblog.type", "joblog.type: is missing"),
        ({"ekstra": 1}, "ekstra", "ekstra: unknown field"),
        ({"version": 3}, "version", "unknown field"),
        ({"joblog__jobTitle": "x"}, "joblog.jobTitle", "unknown field"),
        ({"joblog__kontaktperson__fax": "1"}, "joblog.kontaktperson.fax", "unknown field"),
    ],
)
def test_field_invalid(changes: dict[str, Any], field: str, message_part: str) -> None:
    refusal = refused(message(**changes))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, field)
    assert message_part in refusal.message
    assert refusal.message.startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"joblog__stilling": DROP}, "joblog.stilling"),
        ({"joblog__virksomhed": ""}, "joblog.virksomhed"),
        ({"joblog__land": None}, "joblog.land"),
        ({"joblog__noter": "n" * 2001}, "joblog.noter"),
        ({"joblog__by": "b" * 201}, "joblog.by"),
        ({"joblog__kontaktperson__email": "e" * 201}, "joblog.kontaktperson.email"),
        ({"joblog__postnummer": "800"}, "joblog.postnummer"),
        ({"joblog__link": "ftp://jobnet.dk/1"}, "joblog.link"),
        ({"joblog__soegtDato": "2026-11-22"}, "joblog.soegtDato"),
        (
            {"joblog": {"type": "anden_aktivitet", "aktivitetsdato": "2026-11-18"}},
            "joblog.aktivitet",
        ),
        (
            {
                "joblog": {
                    "type": "anden_aktivitet",
                    "aktivitet": "a" * 251,
                    "aktivitetsdato": "2026-11-18",
                }
            },
            "joblog.aktivitet",
        ),
    ],
)
def test_field_rules_name_jobnet_fields(changes: dict[str, Any], field: str) -> None:
    refusal = refused(message(**changes))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, field)
    assert refusal.message.startswith(f"{field}: ")


EMOJI = "\U0001f600"  # outside the BMP: one character, a surrogate pair in escaped JSON


@pytest.mark.parametrize("ensure_ascii", [True, False])  # "\ud83d\ude00" or the UTF-8 bytes
def test_text_length_counts_characters_outside_the_bmp_once(ensure_ascii: bool) -> None:
    def raw(stilling: str) -> bytes:
        body = message(joblog__stilling=stilling)
        return json.dumps(body, ensure_ascii=ensure_ascii).encode()

    assert parse(raw(EMOJI * 200)).joblog.stilling == EMOJI * 200
    refusal = refused(raw(EMOJI * 201))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, "joblog.stilling")
    assert "201 characters, at most 200" in refusal.message


def test_a_lone_surrogate_is_field_invalid() -> None:
    # before: accepted here, then the command could not be written as UTF-8 (internal_error)
    raw = json.dumps(message(joblog__stilling="Lager\ud83d")).encode()
    assert b"\\ud83d" in raw
    refusal = refused(raw)
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, "joblog.stilling")
    assert "lone surrogate" in refusal.message and "character 6" in refusal.message
    refusal.message.encode("utf-8")  # the rejection itself can be sent
    # a whole pair is one character
    assert parse(json.dumps(message(joblog__stilling="Lager\ud83d\ude00")).encode()) is not None


def test_padded_lower_case_dk_is_kept_as_sent() -> None:
    command = parse(message(joblog__land=" dk ", joblog__postnummer="8000"))
    assert command.joblog.land == " dk "  # not rewritten to "DK"
    refusal = refused(message(joblog__land=" dk ", joblog__postnummer="111 22"))
    assert refusal.field == "joblog.postnummer"


def test_whitespace_only_aktivitet_is_field_invalid() -> None:
    entry = {"type": "anden_aktivitet", "aktivitet": " \t ", "aktivitetsdato": "2026-11-18"}
    refusal = refused(message(joblog=entry))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, "joblog.aktivitet")


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"joblog__stilling": "Lager\u0000"}, "joblog.stilling", "U+0000"),
        ({"joblog__virksomhed": "Acme\nA/S"}, "joblog.virksomhed", "U+000A"),
        ({"joblog__by": "Aarhus\tC"}, "joblog.by", "U+0009"),
        ({"joblog__kontaktperson__navn": "Ann\u001b[31m"}, "joblog.kontaktperson.navn", "U+001B"),
        ({"joblog__adresse": "Vej\u00851"}, "joblog.adresse", "U+0085"),
        ({"joblog__noter": "Godt\n\u0007job"}, "joblog.noter", "U+0007"),
        ({"joblog__stilling": "Lager\u202egnirb"}, "joblog.stilling", "U+202E"),
        ({"joblog__noter": "\u2067note\u2069"}, "joblog.noter", "U+2067"),
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
    notes = "Samtale mandag\r\n\t- medbring CV\nRing \u200eAnn\u200f"
    assert parse(message(joblog__noter=notes)).joblog.noter == notes


def test_today_is_the_copenhagen_day_of_receipt() -> None:
    # received 23:30 UTC on the 20th = the 21st in Copenhagen
    assert parse(message(joblog__soegtDato="2026-11-21")).joblog.soegtDato.day == 21


def test_future_deadline_accepted() -> None:
    assert parse(message(joblog__ansoegningsfrist="2030-01-01")).joblog is not None


def test_message_id_of() -> None:
    assert message_id_of(json.dumps(message()).encode()) == BESKED
    assert message_id_of(json.dumps(message(beskedId="x")).encode()) == "x"
    assert message_id_of(json.dumps(message(beskedId=5)).encode()) is None
    assert message_id_of(b"not json") is None
    assert message_id_of(b"\xff") is None
    assert message_id_of(b"[]") is None


# outbound ------------------------------------------------------------------------------------


def stored(joblog: Joblog, **fields: Any) -> StoredJoblog:
    values: dict[str, Any] = {
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


def test_outbound() -> None:
    joblog = Joblog(
        type=JoblogType.ANSOEGNING,
        stilling="Lager",
        virksomhed="Acme",
        land="DK",
        soegtDato="2026-11-19",
        kontaktperson=Kontaktperson(navn="Ann"),
    )
    out = jobnet_outbound(JoblogChange(handling=Handling.RET, entry=stored(joblog)))
    assert out == {
        "beskedId": BESKED,
        "handling": "ret",
        "joblogId": JOBLOG_ID,
        "cpr": CPR,
        "tidspunkt": "2026-11-20T09:15:00+00:00",
        "joblog": {
            "type": "ansoegning",
            "stilling": "Lager",
            "virksomhed": "Acme",
            "land": "DK",
            "kontaktperson": {"navn": "Ann"},
            "soegtDato": "2026-11-19",
        },
        "version": 4,
        "oprettet": "2026-11-01T08:00:00+00:00",
        "senestAendret": "2026-11-20T09:15:00+00:00",
        "kilde": "akasse:067",
        "kildeBeskedId": BESKED,
        "slettet": False,
    }
    json.dumps(out)


def test_outbound_deleted_and_snapshot() -> None:
    entry = stored(Joblog(type=JoblogType.ANDEN_AKTIVITET), slettet=True)
    out = jobnet_outbound(JoblogChange(handling=Handling.SLET, entry=entry, snapshot=True))
    assert out["handling"] == "slet"
    assert out["slettet"] is True
    assert out["snapshot"] is True
    assert out["joblog"] == {"type": "anden_aktivitet"}


# round trip ----------------------------------------------------------------------------------

INBOUND_KEYS = ("beskedId", "handling", "joblogId", "cpr", "tidspunkt", "joblog")


@given(joblogs(), st.sampled_from([Handling.OPRET, Handling.RET]), st.integers(1, 10**6))
def test_outbound_parses_back_to_the_same_joblog(
    joblog: Joblog, handling: Handling, version: int
) -> None:
    out = jobnet_outbound(JoblogChange(handling=handling, entry=stored(joblog, version=version)))
    inbound = {key: out[key] for key in INBOUND_KEYS}
    if handling == Handling.RET:
        inbound["grundversion"] = version
    raw = json.dumps(inbound, ensure_ascii=False).encode()
    command = parse_jobnet(raw, CPR, RECEIVED, MAX)
    assert command.joblog == joblog
    assert command.handling == handling
    assert (command.beskedId, command.joblogId) == (UUID(BESKED), UUID(JOBLOG_ID))
    assert command.tidspunkt == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
