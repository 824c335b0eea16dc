"""The front-end formats, Jobnet's (shared.frontends.jobnet) and the a-kasser's
(shared.frontends.akasse): in (every refusal, in the producer's terms), out, and the round trip
outbound -> inbound. Each behaviour they share is one test run for both formats (a
`FormatCase`, tests/unit/format_cases.py); what one format has alone is in
test_formats_specific.py."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contract.events import (
    Handling,
    Joblog,
    JoblogChange,
    JoblogType,
    Kontaktperson,
    StoredJoblog,
)
from shared.contract.rejections import Reason
from tests.unit.format_cases import (
    AKASSE,
    AKASSE_ENTRY,
    AKASSE_JOBLOG,
    BESKED,
    CASES,
    CPR,
    DROP,
    JOBLOG_ID,
    JOBNET,
    MAX,
    MB,
    Entry,
    FormatCase,
    Json,
    stored,
)
from tests.unit.test_joblog_rules import joblogs


@pytest.fixture(params=CASES, ids=str, scope="module")
def case(request: pytest.FixtureRequest) -> FormatCase:
    return request.param


# inbound -------------------------------------------------------------------------------------


def test_a_full_message_parses(case: FormatCase) -> None:
    raw = json.dumps(case.message()).encode()
    command = case.parse_fn(raw, CPR, case.received, MAX)
    assert command.beskedId == UUID(BESKED)
    assert command.kilde == case.kilde
    assert command.akasse_nr == case.akasse_nr
    assert command.handling == Handling.OPRET
    assert command.joblogId == UUID(JOBLOG_ID)
    assert command.cpr == CPR
    assert command.tidspunkt == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
    assert command.grundversion is None
    assert command.modtaget == case.received
    assert command.raa == raw.decode()
    assert command.joblog == case.full_joblog


def test_other_activity_parses(case: FormatCase) -> None:
    entry = Entry(type="anden_aktivitet", aktivitet="Møde", aktivitetsdato="2026-11-18")
    command = case.parse(case.message(joblog=entry))
    assert command.joblog == Joblog(
        type=JoblogType.ANDEN_AKTIVITET, aktivitet="Møde", aktivitetsdato="2026-11-18"
    )


def test_null_optional_fields_are_absent(case: FormatCase) -> None:
    changes = {"joblog__noter": None, "joblog__kontaktperson": None, "grundversion": None}
    command = case.parse(case.message(**changes))
    assert command.joblog.noter is None
    assert command.joblog.kontaktperson is None


@pytest.mark.parametrize("handling", ["opret", "ret", "slet"])
def test_each_handling_takes_a_grundversion(case: FormatCase, handling: str) -> None:
    command = case.parse(case.message(handling=case.value(handling), grundversion=2))
    assert command.handling == handling
    assert command.grundversion == 2
    assert (command.joblog is None) == (handling == "slet")


def test_ret_and_slet_need_grundversion(case: FormatCase) -> None:
    field = case.field("grundversion")
    assert case.parse(case.message(handling=case.value("ret"), grundversion=3)).grundversion == 3
    for handling in ("ret", "slet"):
        refusal = case.refused(case.message(handling=case.value(handling)))
        assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, field)
        assert refusal.message == f"{field}: is missing"
    for bad in (0, -1, "3", 2.5, True):
        refusal = case.refused(case.message(handling=case.value("ret"), grundversion=bad))
        assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, field)
        assert "is not a version" in refusal.message


def test_slet_ignores_or_lacks_the_joblog(case: FormatCase) -> None:
    slet = {"handling": case.value("slet"), "grundversion": 2}
    assert case.parse(case.message(**slet)).joblog is None
    assert case.parse(case.message(**slet, joblog=DROP)).joblog is None
    assert case.parse(case.message(**slet, joblog="junk")).joblog is None


@pytest.mark.parametrize("handling", ["opret", "ret"])
def test_opret_and_ret_need_the_joblog(case: FormatCase, handling: str) -> None:
    field = case.field("joblog")
    body = case.message(handling=case.value(handling), grundversion=1, joblog=DROP)
    refusal = case.refused(body)
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, field)
    assert refusal.message == f"{field}: is missing"
    refusal = case.refused(case.message(joblog=[1]))
    assert refusal.message == f"{field}: must be an object, not an array"


# malformed -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{" + b" " * (5 * MB) + b"not json at all", b"x" * (5 * MB)])
def test_too_large_is_refused_before_parsing(case: FormatCase, body: bytes) -> None:
    refusal = case.refused(body, max_bytes=MAX)
    assert refusal.reason == Reason.MALFORMED
    assert f"{len(body)} bytes, more than the limit of {MAX} bytes" in refusal.message


def test_the_size_limit_is_inclusive(case: FormatCase) -> None:
    exact = json.dumps(case.message()).encode()
    assert case.parse(exact, max_bytes=len(exact)).cpr == CPR
    assert case.refused(exact, max_bytes=len(exact) - 1).reason == Reason.MALFORMED


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"{not json", "not JSON"),
        (b"{", "not JSON"),
        (b"", "not JSON"),
        (b'{"a": 1} x', "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"\xc3\x28", "not UTF-8"),
        ('{"cpr": "0101901234"}'.encode("utf-16"), "not UTF-8"),
        (b"[1, 2]", "an array, not a JSON object"),
        (b"[]", "an array, not a JSON object"),
        (b'"text"', "a string, not a JSON object"),
        (b"42", "a number, not a JSON object"),
        (b"true", "a boolean, not a JSON object"),
        (b"null", "null, not a JSON object"),
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_malformed(case: FormatCase, raw: bytes, problem: str) -> None:
    refusal = case.refused(raw)
    assert refusal.reason == Reason.MALFORMED
    assert problem in refusal.message


@pytest.mark.parametrize("key", [None, "0202901234", "", f"{CPR} "])
def test_key_must_be_the_cpr(case: FormatCase, key: str | None) -> None:
    refusal = case.refused(case.message(), key=key)
    assert (refusal.reason, refusal.field) == (Reason.MALFORMED, "key")
    assert refusal.message.endswith(f"the key must be {case.field('cpr')}")


# invalid cpr ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cpr",
    [
        "010190-1234",
        "3102901234",
        "3213901234",
        "0101901",
        "01019012345",
        "01019O1234",
        101901234,
        None,
        "ABCDEFGHIJ",
    ],
)
def test_invalid_cpr(case: FormatCase, cpr: object) -> None:
    field = case.field("cpr")
    refusal = case.refused(case.message(cpr=cpr), key=str(cpr))
    assert (refusal.reason, refusal.field) == (Reason.INVALID_CPR, field)
    assert refusal.message.startswith(f"{field}: ")


def test_missing_cpr(case: FormatCase) -> None:
    refusal = case.refused(case.message(cpr=DROP))
    assert (refusal.reason, refusal.message) == (
        Reason.INVALID_CPR,
        f"{case.field('cpr')}: is missing",
    )


def test_cpr_without_modulus_11_is_valid(case: FormatCase) -> None:
    assert case.parse(case.message(cpr="0101904000"), key="0101904000").cpr == "0101904000"


# field_invalid: in canonical names, refused in each format's ------------------------------------

OTHER_ACTIVITY = {"type": "anden_aktivitet", "aktivitetsdato": "2026-11-18"}


@pytest.mark.parametrize(
    ("changes", "path", "message_part"),
    [
        ({"joblog__fundetVia": "avis"}, "joblog.fundetVia", "is not one of"),
        ({"joblog__soegtVia": "brev"}, "joblog.soegtVia", "is not one of"),
        ({"beskedId": "not-a-uuid"}, "beskedId", "'not-a-uuid' is not a UUID"),
        ({"beskedId": "x"}, "beskedId", "'x' is not a UUID"),
        ({"beskedId": DROP}, "beskedId", "{field}: is missing"),
        ({"joblogId": 12}, "joblogId", "12 is not a UUID"),
        ({"joblogId": "0b7e2d3e00004000800000000000002a"}, "joblogId", "is not a UUID"),
        ({"joblogId": DROP}, "joblogId", "{field}: is missing"),
        ({"tidspunkt": "2026-11-20T10:15:00"}, "tidspunkt", "has no offset"),
        ({"tidspunkt": "2026-11-20T10:15"}, "tidspunkt", "has no offset"),
        ({"tidspunkt": "i går"}, "tidspunkt", "is not an ISO 8601 time"),
        ({"tidspunkt": DROP}, "tidspunkt", "is missing"),
        ({"joblog": DROP}, "joblog", "{field}: is missing"),
        ({"joblog__soegtDato": "19-11-2026"}, "joblog.soegtDato", "is not an ISO date"),
        ({"joblog__soegtDato": "2026/11/19"}, "joblog.soegtDato", "not an ISO date"),
        ({"joblog__soegtDato": "2026-02-30"}, "joblog.soegtDato", "is not an ISO date"),
        ({"joblog__ansoegningsfrist": "20261201"}, "joblog.ansoegningsfrist", "ISO date"),
        ({"joblog__stilling": 42}, "joblog.stilling", "must be a string, not a number"),
        ({"joblog__virksomhed": 7}, "joblog.virksomhed", "must be a string"),
        ({"joblog__kontaktperson": "Ann"}, "joblog.kontaktperson", "must be an object"),
        ({"joblog__kontaktperson__navn": ["Ann"]}, "joblog.kontaktperson.navn", "a string"),
        ({"joblog__type": DROP}, "joblog.type", "{field}: is missing"),
        ({"ekstra": 1}, "ekstra", "ekstra: unknown field"),
        ({"version": 3}, "version", "unknown field"),  # outbound only
        ({"kilde": "jobnet"}, "kilde", "unknown field"),  # outbound only
        ({"joblog__kontaktperson__fax": "1"}, "joblog.kontaktperson.fax", "unknown field"),
        # the field rules (shared.contract.joblog_rules), named the producer's way
        ({"joblog__stilling": DROP}, "joblog.stilling", "required for an application"),
        ({"joblog__virksomhed": ""}, "joblog.virksomhed", "required for an application"),
        ({"joblog__virksomhed": " "}, "joblog.virksomhed", "required"),
        ({"joblog__land": None}, "joblog.land", "required"),
        ({"joblog__noter": "n" * 2001}, "joblog.noter", "at most 2000"),
        ({"joblog__stilling": "t" * 201}, "joblog.stilling", "at most 200"),
        ({"joblog__by": "b" * 201}, "joblog.by", "at most 200"),
        ({"joblog__kontaktperson__email": "e" * 201}, "joblog.kontaktperson.email", "at most 200"),
        (
            {"joblog__kontaktperson__telefon": "1" * 201},
            "joblog.kontaktperson.telefon",
            "at most 200",
        ),
        ({"joblog__aktivitet": "a" * 251}, "joblog.aktivitet", "at most 250"),
        ({"joblog__postnummer": "800"}, "joblog.postnummer", "must be exactly 4 digits when"),
        ({"joblog__link": "ftp://jobnet.dk/1"}, "joblog.link", "http or https"),
        ({"joblog__link": "mailto:job@acme.dk"}, "joblog.link", "http or https"),
        ({"joblog__aktivitetsdato": "2027-01-01"}, "joblog.aktivitetsdato", "is after the day"),
        (
            {"joblog": Entry(type="anden_aktivitet", aktivitet="Møde")},
            "joblog.aktivitetsdato",
            "required for another activity",
        ),
        ({"joblog": Entry(OTHER_ACTIVITY)}, "joblog.aktivitet", "required for another activity"),
        (
            {"joblog": Entry(type="anden_aktivitet", aktivitet="", aktivitetsdato="2026-11-01")},
            "joblog.aktivitet",
            "required for another activity",
        ),
        (
            {"joblog": Entry(OTHER_ACTIVITY, aktivitet=" \t ")},
            "joblog.aktivitet",
            "required for another activity",
        ),
        ({"joblog": Entry(OTHER_ACTIVITY, aktivitet="a" * 251)}, "joblog.aktivitet", "at most 250"),
    ],
)
def test_field_invalid(case: FormatCase, changes: Json, path: str, message_part: str) -> None:
    field = case.field(path)
    refusal = case.refused(case.message(**changes))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, field)
    assert refusal.message.startswith(f"{field}: ")
    assert message_part.format(field=field) in refusal.message


EMOJI = "\U0001f600"  # outside the BMP: one character, a surrogate pair in escaped JSON


@pytest.mark.parametrize("ensure_ascii", [True, False])  # "\ud83d\ude00" or the UTF-8 bytes
def test_text_length_counts_characters_outside_the_bmp_once(
    case: FormatCase, ensure_ascii: bool
) -> None:
    def raw(stilling: str) -> bytes:
        body = case.message(joblog__stilling=stilling)
        return json.dumps(body, ensure_ascii=ensure_ascii).encode()

    assert case.parse(raw(EMOJI * 200)).joblog.stilling == EMOJI * 200
    refusal = case.refused(raw(EMOJI * 201))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, case.field("joblog.stilling"))
    assert "201 characters, at most 200" in refusal.message


def test_a_lone_surrogate_is_field_invalid(case: FormatCase) -> None:
    # before: accepted here, then the command could not be written as UTF-8 (internal_error)
    raw = json.dumps(case.message(joblog__stilling="Lager\ud83d")).encode()
    assert b"\\ud83d" in raw
    refusal = case.refused(raw)
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, case.field("joblog.stilling"))
    assert "lone surrogate" in refusal.message and "character 6" in refusal.message
    refusal.message.encode("utf-8")  # the rejection itself can be sent
    # a whole pair is one character
    pair = json.dumps(case.message(joblog__stilling="Lager\ud83d\ude00")).encode()
    assert case.parse(pair) is not None


def test_padded_lower_case_dk_is_kept_as_sent(case: FormatCase) -> None:
    command = case.parse(case.message(joblog__land=" dk ", joblog__postnummer="8000"))
    assert command.joblog.land == " dk "  # not rewritten to "DK"
    refusal = case.refused(case.message(joblog__land=" dk ", joblog__postnummer="111 22"))
    assert refusal.field == case.field("joblog.postnummer")


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("joblog.stilling", "Lager\u0000", "U+0000"),
        ("joblog.virksomhed", "Acme\nA/S", "U+000A"),
        ("joblog.virksomhed", "Acme\rA/S", "U+000D"),
        ("joblog.by", "Aarhus\tC", "U+0009"),
        ("joblog.by", "Aarhus\u009bC", "U+009B"),
        ("joblog.kontaktperson.navn", "Ann\u001b[31m", "U+001B"),
        ("joblog.kontaktperson.telefon", "1234\u007f", "U+007F"),
        ("joblog.adresse", "Vej\u00851", "U+0085"),
        ("joblog.aktivitet", "Møde\u000b", "U+000B"),
        ("joblog.noter", "Godt\n\u0007job", "U+0007"),
        ("joblog.noter", "ok\n\u0000", "U+0000"),
        ("joblog.stilling", "Lager\u202egnirb", "U+202E"),
        ("joblog.link", "https://acme.dk/\u202d1", "U+202D"),
        ("joblog.noter", "\u2067note\u2069", "U+2067"),
        ("joblog.noter", "\u2066note", "U+2066"),
    ],
)
def test_control_and_bidi_characters_refused(
    case: FormatCase, path: str, value: str, code: str
) -> None:
    field = case.field(path)
    refusal = case.refused(case.message(**{path.replace(".", "__"): value}))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, field)
    assert refusal.message.startswith(f"{field}: contains a ")
    assert f"({code})" in refusal.message


@pytest.mark.parametrize(
    "notes",
    [
        "Samtale mandag\r\n\t- medbring CV\nRing \u200eAnn\u200f",
        "Samtale mandag\r\n\t- medbring CV\nRing \u200fAnn",
    ],
)
def test_notes_keep_line_breaks_and_tabs(case: FormatCase, notes: str) -> None:
    assert case.parse(case.message(joblog__noter=notes)).joblog.noter == notes


@pytest.mark.parametrize("deadline", ["2030-01-01", "2031-05-05"])
def test_future_deadline_accepted(case: FormatCase, deadline: str) -> None:
    joblog = case.parse(case.message(joblog__ansoegningsfrist=deadline)).joblog
    assert joblog.ansoegningsfrist == date.fromisoformat(deadline)


def test_message_id_of(case: FormatCase) -> None:
    def message_id(**changes: Any) -> str | None:
        return case.message_id_of(json.dumps(case.message(**changes)).encode())

    assert message_id() == BESKED
    assert message_id(beskedId="x") == "x"
    assert message_id(beskedId=5) is None
    assert message_id(beskedId=None) is None
    for raw in (b"not json", b"{broken", b"\xff", b"[]"):
        assert case.message_id_of(raw) is None


# outbound ------------------------------------------------------------------------------------

SMALL_JOBLOG = Joblog(
    type=JoblogType.ANSOEGNING,
    stilling="Lager",
    virksomhed="Acme",
    land="DK",
    soegtDato="2026-11-19",
    kontaktperson=Kontaktperson(navn="Ann"),
)
JOBNET_OUT = {
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
AKASSE_OUT = {
    "eventId": BESKED,
    "type": "JOBLOG_UPDATED",
    "akasseNr": "067",
    "memberCpr": CPR,
    "logId": JOBLOG_ID,
    "occurredAt": "2026-11-20T09:15:00+00:00",
    "entry": AKASSE_ENTRY,
    "version": 2,
    "createdAt": "2026-11-01T08:00:00+00:00",
    "updatedAt": "2026-11-20T09:15:00+00:00",
    "origin": "jobnet",
    "originEventId": BESKED,
    "deleted": False,
}


@pytest.mark.parametrize(
    ("case", "entry", "expected"),
    [
        (JOBNET, stored(SMALL_JOBLOG), JOBNET_OUT),
        (AKASSE, stored(AKASSE_JOBLOG, version=2, kilde="jobnet"), AKASSE_OUT),
    ],
    ids=str,
)
def test_outbound(case: FormatCase, entry: StoredJoblog, expected: Json) -> None:
    out = case.outbound(JoblogChange(handling=Handling.RET, entry=entry, akasseNr=case.akasse_nr))
    assert out == expected
    assert list(out) == list(expected)  # in the contract's order
    json.dumps(out)


DELETED_ACTIVITY = Joblog(
    type=JoblogType.ANDEN_AKTIVITET, aktivitet="Møde", aktivitetsdato="2026-11-02"
)


@pytest.mark.parametrize(
    ("case", "entry", "expected", "absent"),
    [
        (
            JOBNET,
            stored(Joblog(type=JoblogType.ANDEN_AKTIVITET), slettet=True),
            {
                "handling": "slet",
                "slettet": True,
                "snapshot": True,
                "joblog": {"type": "anden_aktivitet"},
            },
            "grundversion",
        ),
        (  # and None fields are omitted from the entry
            AKASSE,
            stored(DELETED_ACTIVITY, slettet=True, kilde="akasse:099", version=2),
            {
                "type": "JOBLOG_DELETED",
                "entry": {
                    "kind": "OTHER_ACTIVITY",
                    "activity": "Møde",
                    "activityDate": "2026-11-02",
                },
                "deleted": True,
                "snapshot": True,
                "origin": "akasse:099",
            },
            "basedOnVersion",
        ),
    ],
    ids=str,
)
def test_outbound_deleted_and_snapshot(
    case: FormatCase, entry: StoredJoblog, expected: Json, absent: str
) -> None:
    change = JoblogChange(
        handling=Handling.SLET, entry=entry, akasseNr=case.akasse_nr, snapshot=True
    )
    out = case.outbound(change)
    assert {name: out[name] for name in expected} == expected
    assert absent not in out


# round trip ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
@given(joblogs(), st.sampled_from([Handling.OPRET, Handling.RET]), st.integers(1, 10**6))
def test_outbound_parses_back_to_the_same_joblog(
    case: FormatCase, joblog: Joblog, handling: Handling, version: int
) -> None:
    entry = stored(joblog, version=version)
    out = case.outbound(JoblogChange(handling=handling, entry=entry, akasseNr=case.akasse_nr))
    inbound = {key: out[key] for key in case.inbound_keys}
    if handling == Handling.RET:
        inbound[case.field("grundversion")] = version
    raw = json.dumps(inbound, ensure_ascii=False).encode()
    command = case.parse_fn(raw, CPR, case.received, MAX)
    assert command.joblog == joblog
    assert command.handling == handling
    assert command.kilde == case.kilde
    assert (command.beskedId, command.joblogId) == (UUID(BESKED), UUID(JOBLOG_ID))
    assert command.tidspunkt == datetime(2026, 11, 20, 9, 15, tzinfo=UTC)
