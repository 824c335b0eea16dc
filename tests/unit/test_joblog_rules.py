"""The contract's field rules (shared.contract.joblog_rules), and a strategy of valid entries that
the mapping tests reuse."""

from __future__ import annotations

import string
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contract.events import (
    Ansoegningsstatus,
    Arbejdstid,
    FundetVia,
    Joblog,
    JoblogType,
    Kontaktperson,
    SoegtVia,
)
from shared.contract.joblog_rules import (
    check_joblog,
    first_forbidden,
    forbidden_character,
    is_blank,
    text_length,
)
from shared.contract.rejections import Reason, Refusal

TODAY = date(2026, 11, 20)

APPLICATION = Joblog(type=JoblogType.ANSOEGNING, stilling="Lager", virksomhed="Acme", land="DK")
ACTIVITY = Joblog(type=JoblogType.ANDEN_AKTIVITET, aktivitet="Netværksmøde", aktivitetsdato=TODAY)


def refusal(joblog: Joblog, names: dict[str, str] | None = None) -> Refusal:
    with pytest.raises(Refusal) as caught:
        check_joblog(joblog, TODAY, names)
    assert caught.value.reason == Reason.FIELD_INVALID
    return caught.value


def change(joblog: Joblog, **fields: object) -> Joblog:
    return joblog.model_copy(update=fields)


def test_minimal_entries_pass() -> None:
    check_joblog(APPLICATION, TODAY)
    check_joblog(ACTIVITY, TODAY)


@pytest.mark.parametrize("field", ["stilling", "virksomhed", "land"])
@pytest.mark.parametrize("missing", [None, "", "   "])
def test_application_needs_title_employer_country(field: str, missing: str | None) -> None:
    refused = refusal(change(APPLICATION, **{field: missing}))
    assert refused.field == field
    assert "required for an application" in refused.message


@pytest.mark.parametrize("field", ["aktivitet", "aktivitetsdato"])
def test_activity_needs_description_and_date(field: str) -> None:
    assert refusal(change(ACTIVITY, **{field: None})).field == field


def test_activity_description_is_1_to_250_characters() -> None:
    assert refusal(change(ACTIVITY, aktivitet="")).field == "aktivitet"
    check_joblog(change(ACTIVITY, aktivitet="x"), TODAY)
    check_joblog(change(ACTIVITY, aktivitet="x" * 250), TODAY)
    assert refusal(change(ACTIVITY, aktivitet="x" * 251)).field == "aktivitet"


def test_notes_at_most_2000_characters() -> None:
    check_joblog(change(APPLICATION, noter="n" * 2000), TODAY)
    refused = refusal(change(APPLICATION, noter="n" * 2001))
    assert refused.field == "noter"
    assert "2001 characters, at most 2000" in refused.message


@pytest.mark.parametrize("field", ["stilling", "virksomhed", "adresse", "by", "land", "postnummer"])
def test_other_text_at_most_200_characters(field: str) -> None:
    joblog = change(APPLICATION, **{"land": "SE", field: "a" * 200})
    check_joblog(joblog, TODAY)
    assert refusal(change(joblog, **{field: "a" * 201})).field == field


@pytest.mark.parametrize("field", ["navn", "telefon", "email"])
def test_contact_fields_at_most_200_characters(field: str) -> None:
    check_joblog(change(APPLICATION, kontaktperson=Kontaktperson(**{field: "k" * 200})), TODAY)
    joblog = change(APPLICATION, kontaktperson=Kontaktperson(**{field: "k" * 201}))
    assert refusal(joblog).field == f"kontaktperson.{field}"


def test_link_at_most_200_characters() -> None:
    link = "https://x.dk/" + "a" * 188
    assert len(link) == 201
    assert refusal(change(APPLICATION, link=link)).field == "link"


@pytest.mark.parametrize("postnummer", ["800", "80000", "8OOO", "", "٨٠٠٠", " 8000"])
def test_postnummer_4_digits_in_denmark(postnummer: str) -> None:
    refused = refusal(change(APPLICATION, postnummer=postnummer))
    assert refused.field == "postnummer"
    assert "4 digits" in refused.message


def test_postnummer_free_outside_denmark() -> None:
    check_joblog(change(APPLICATION, postnummer="8000"), TODAY)
    check_joblog(change(APPLICATION, land="dk", postnummer="8000"), TODAY)
    check_joblog(change(APPLICATION, land="SE", postnummer="111 22"), TODAY)
    check_joblog(change(APPLICATION, land="DK", postnummer=None), TODAY)


@pytest.mark.parametrize("link", ["https://jobnet.dk/job/1", "http://acme.dk", "HTTPS://a.b/c?d"])
def test_web_links_pass(link: str) -> None:
    check_joblog(change(APPLICATION, link=link), TODAY)


@pytest.mark.parametrize(
    "link",
    [
        "ftp://acme.dk/job",
        "javascript:alert(1)",
        "acme.dk/job",
        "https://",
        "https:///path",
        "http://[::1",
        "https://acme.dk/a b",
        "",
    ],
)
def test_other_links_refused(link: str) -> None:
    refused = refusal(change(APPLICATION, link=link))
    assert refused.field == "link"
    assert "http or https" in refused.message


@pytest.mark.parametrize("field", ["soegtDato", "aktivitetsdato"])
def test_dates_not_after_today(field: str) -> None:
    joblog = change(ACTIVITY, **{field: TODAY})
    check_joblog(joblog, TODAY)
    refused = refusal(change(joblog, **{field: TODAY + timedelta(days=1)}))
    assert refused.field == field
    assert "2026-11-21 is after" in refused.message


def test_deadline_may_be_in_the_future() -> None:
    check_joblog(change(APPLICATION, ansoegningsfrist=TODAY + timedelta(days=400)), TODAY)


TEXT_FIELDS = [
    "stilling", "virksomhed", "adresse", "postnummer", "by", "land", "link", "aktivitet", "noter",
]  # fmt: skip
CONTROLS = ["\x00", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]
BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


def with_text(field: str, text: str) -> Joblog:
    """APPLICATION (outside DK, so any postnummer) with `text` in `field`."""
    base = change(APPLICATION, land="SE")
    if field == "land":
        return change(base, land=f"SE{text}")
    if field == "link":
        return change(base, link=f"https://acme.dk/{text}")
    return change(base, **{field: f"a{text}b"})


@pytest.mark.parametrize("char", [*CONTROLS, "\n", "\r", "\t"])
@pytest.mark.parametrize("field", [f for f in TEXT_FIELDS if f != "noter"])
def test_control_characters_refused(field: str, char: str) -> None:
    refused = refusal(with_text(field, char))
    assert refused.field == field
    assert f"{field}: contains a control character (U+{ord(char):04X})" in refused.message


@pytest.mark.parametrize("field", ["navn", "telefon", "email"])
def test_control_characters_refused_in_contact(field: str) -> None:
    joblog = change(APPLICATION, kontaktperson=Kontaktperson(**{field: "Ann\x00"}))
    refused = refusal(joblog)
    assert refused.field == f"kontaktperson.{field}"
    assert "control character (U+0000) at position 4" in refused.message


def test_notes_allow_line_breaks_and_tabs_only() -> None:
    check_joblog(change(APPLICATION, noter="Linje 1\r\nLinje 2\n\tindrykket"), TODAY)
    for char in CONTROLS:
        refused = refusal(change(APPLICATION, noter=f"Linje 1\n{char}"))
        assert refused.field == "noter" and f"U+{ord(char):04X}" in refused.message


@pytest.mark.parametrize("char", BIDI_CONTROLS)
@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_bidi_controls_refused(field: str, char: str) -> None:
    refused = refusal(with_text(field, char))
    assert refused.field == field
    assert f"{field}: contains a bidirectional control character (U+{ord(char):04X})" in (
        refused.message
    )


def test_bidi_marks_and_other_scripts_allowed() -> None:
    """LRM, RLM and ALM scope nothing beyond themselves: allowed, as are other scripts."""
    for text in ("\u200eAcme\u200f", "شركة\u061c 12", "חברה בע״מ", "Ærø Å", "e\u0301", "a\u00a0b"):
        check_joblog(change(APPLICATION, virksomhed=text, noter=text), TODAY)


@given(
    st.text(st.characters(codec=None), max_size=40)
    | st.text(st.sampled_from("a æ\t\n\r\x00\x85\u00a0\u200e\u200b\u2028\u202e\ufeff"), max_size=8),
    st.booleans(),
)
def test_the_quick_check_for_forbidden_characters_answers_as_the_loop(
    text: str, multiline: bool
) -> None:
    assert forbidden_character(text, multiline) == first_forbidden(text, multiline)


def test_forbidden_characters_named_in_the_producers_terms() -> None:
    names = {"stilling": "joblog.stilling"}
    refused = refusal(change(APPLICATION, stilling="Lager\u202emedarbejder"), names)
    assert refused.field == "joblog.stilling"
    assert refused.message.startswith("joblog.stilling: contains a bidirectional control")


def test_names_give_the_producers_terms() -> None:
    names = {"postnummer": "entry.employer.postalCode", "land": "entry.employer.country"}
    refused = refusal(change(APPLICATION, postnummer="12"), names)
    assert refused.field == "entry.employer.postalCode"
    assert refused.message == (
        "entry.employer.postalCode: must be exactly 4 digits when entry.employer.country is DK"
    )


@pytest.mark.parametrize("blank", [" ", "   ", "\t\n", "\u00a0", "\u3000 \u2003"])
def test_whitespace_only_aktivitet_is_refused(blank: str) -> None:
    # blank in any Unicode sense (str.isspace: also no-break and ideographic spaces)
    refused = refusal(change(ACTIVITY, aktivitet=blank))
    assert refused.field == "aktivitet"
    assert "required for another activity" in refused.message


def test_aktivitet_with_text_inside_whitespace_is_kept_as_sent() -> None:
    check_joblog(change(ACTIVITY, aktivitet="  Jobmesse  "), TODAY)


def test_padded_lower_case_dk_is_denmark() -> None:
    """ " dk " is accepted as sent, not refused and not rewritten: like every other text field,
    the country is stored as the producer wrote it (the platform trims or recases no text). For
    the postal code rule it is Denmark, compared without case and surrounding whitespace."""
    check_joblog(change(APPLICATION, land=" dk ", postnummer="8000"), TODAY)
    refused = refusal(change(APPLICATION, land=" dk ", postnummer="111 22"))
    assert refused.field == "postnummer"
    check_joblog(change(APPLICATION, land=" se ", postnummer="111 22"), TODAY)
    check_joblog(change(APPLICATION, land="Danmark", postnummer="111 22"), TODAY)  # not "DK"


OUTSIDE_BMP = "\U0001f600"  # 😀, one character (code point), two UTF-16 units, 4 UTF-8 bytes


@pytest.mark.parametrize(
    ("field", "limit"),
    [("stilling", 200), ("virksomhed", 200), ("noter", 2000), ("kontaktperson.navn", 200)],
)
def test_text_length_is_counted_in_characters_outside_the_bmp_too(field: str, limit: int) -> None:
    def with_text(text: str) -> Joblog:
        if field.startswith("kontaktperson."):
            return change(APPLICATION, kontaktperson=Kontaktperson(navn=text))
        return change(APPLICATION, **{field: text})

    check_joblog(with_text(OUTSIDE_BMP * limit), TODAY)
    refused = refusal(with_text(OUTSIDE_BMP * (limit + 1)))
    assert refused.field == field
    assert f"is {limit + 1} characters, at most {limit}" in refused.message


def test_aktivitet_length_outside_the_bmp() -> None:
    check_joblog(change(ACTIVITY, aktivitet=OUTSIDE_BMP * 250), TODAY)
    assert refusal(change(ACTIVITY, aktivitet=OUTSIDE_BMP * 251)).field == "aktivitet"
    check_joblog(change(ACTIVITY, aktivitet=OUTSIDE_BMP), TODAY)  # 1 character is enough


# a strategy of valid entries ----------------------------------------------------------------

# valid text: no control characters (tab, line feed, carriage return in the notes only), no
# format characters but the bidi marks, no line or paragraph separators; required text not blank
# (only whitespace and invisible characters); lengths counted in NFC
INVALID_TEXT = ("Cs", "Cc", "Cf", "Zl", "Zp")
LINE = st.characters(exclude_categories=INVALID_TEXT, include_characters="\u200e\u200f\u061c")
NOTE = st.characters(exclude_categories=INVALID_TEXT, include_characters="\u200e\u200f\u061c\t\n\r")


def at_most(
    limit: int, min_size: int = 0, chars: st.SearchStrategy[str] = LINE
) -> st.SearchStrategy[str]:
    return st.text(chars, min_size=min_size, max_size=limit).filter(
        lambda s: text_length(s) <= limit
    )


TEXT = at_most(200)
NONBLANK = at_most(200, 1).filter(lambda s: not is_blank(s))
PAST = st.dates(min_value=date(2000, 1, 1), max_value=TODAY)


def optional(strategy: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | strategy


LINKS = st.builds(
    "{}://{}.dk/{}".format,
    st.sampled_from(["http", "https"]),
    st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=30),
    st.text(string.ascii_letters + string.digits + "-_/?=&", max_size=80),
)
CONTACTS = st.builds(
    Kontaktperson, navn=optional(TEXT), telefon=optional(TEXT), email=optional(TEXT)
)


@st.composite
def joblogs(draw: st.DrawFn) -> Joblog:
    kind = draw(st.sampled_from(JoblogType))
    application = kind == JoblogType.ANSOEGNING
    land = draw(NONBLANK if application else optional(TEXT))
    digits = st.text("0123456789", min_size=4, max_size=4)
    in_dk = isinstance(land, str) and land.strip().upper() == "DK"
    return Joblog(
        type=kind,
        stilling=draw(NONBLANK if application else optional(TEXT)),
        virksomhed=draw(NONBLANK if application else optional(TEXT)),
        adresse=draw(optional(TEXT)),
        postnummer=draw(optional(digits if in_dk else TEXT)),
        by=draw(optional(TEXT)),
        land=land,
        ansoegningsfrist=draw(optional(st.dates())),
        arbejdstid=draw(optional(st.sampled_from(Arbejdstid))),
        kontaktperson=draw(optional(CONTACTS)),
        link=draw(optional(LINKS)),
        status=draw(optional(st.sampled_from(Ansoegningsstatus))),
        soegtDato=draw(optional(PAST)),
        fundetVia=draw(optional(st.sampled_from(FundetVia))),
        soegtVia=draw(optional(st.sampled_from(SoegtVia))),
        aktivitet=draw(
            at_most(250, 1).filter(lambda s: not is_blank(s))
            if not application
            else optional(at_most(250))
        ),
        aktivitetsdato=draw(PAST if not application else optional(PAST)),
        noter=draw(optional(at_most(2000, chars=NOTE))),
    )


@given(joblogs())
def test_generated_entries_are_valid(joblog: Joblog) -> None:
    check_joblog(joblog, TODAY)
