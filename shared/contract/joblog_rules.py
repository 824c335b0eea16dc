"""The contract's field rules for a joblog entry (both formats), as tables.

An application needs job title, employer name and country; another activity needs its
description (1-250 characters) and date. Notes are at most 2000 characters, other text fields
at most 200. Postal codes are 4 digits when the country is DK. Links are http or https with a
host. The application date and the activity date may not be after the day the message was
received; a deadline may. Neither is before `shared.contract.tid.DATE_FLOOR` (2000-01-01).

No text field may hold a control character (Unicode category Cc: C0, DEL, C1), except line
feed, carriage return and tab in the notes, nor a format character (Cf: among them the
bidirectional embeddings, overrides and isolates U+202A-U+202E, U+2066-U+2069, the zero-width
space, joiners and word joiner U+200B-U+200D, U+2060, the BOM U+FEFF, the soft hyphen and the tag
characters U+E0001-U+E007F), nor a line or paragraph separator (Zl U+2028, Zp U+2029): such a
character could reorder, hide or split what a caseworker sees of this or a neighbouring field,
make two different values look the same, or break a CSV line. The bidirectional *marks* (LRM
U+200E, RLM U+200F, ALM U+061C) are allowed: they open no scope that reaches past themselves, and
names and addresses in Arabic or Hebrew script legitimately carry them.

Lengths are counted in characters (code points) of the text in Unicode normalisation form NFC,
so "é" counts once whether sent composed or as "e" and a combining accent. Required text that
holds only whitespace and invisible characters (Default_Ignorable_Code_Point, such as U+200B or
the Hangul fillers) is blank.

Fields are named by their canonical path ("stilling", "kontaktperson.navn"); `names` turns that
into the producer's own name ("entry.jobTitle") for the refusal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from urllib.parse import urlsplit

from shared.contract.events import Joblog, JoblogType
from shared.contract.rejections import Reason, Refusal
from shared.contract.tid import date_problem

REQUIRED: dict[JoblogType, tuple[str, ...]] = {
    JoblogType.ANSOEGNING: ("stilling", "virksomhed", "land"),
    JoblogType.ANDEN_AKTIVITET: ("aktivitet", "aktivitetsdato"),
}
TYPE_WORDS = {
    JoblogType.ANSOEGNING: "an application",
    JoblogType.ANDEN_AKTIVITET: "another activity",
}
TEXT_MAX = 200
MAX_LENGTH: dict[str, int] = {
    **dict.fromkeys(
        (
            "stilling",
            "virksomhed",
            "adresse",
            "postnummer",
            "by",
            "land",
            "link",
            "kontaktperson.navn",
            "kontaktperson.telefon",
            "kontaktperson.email",
        ),
        TEXT_MAX,
    ),
    "aktivitet": 250,
    "noter": 2000,
}
TEXT_FIELDS: tuple[str, ...] = tuple(MAX_LENGTH)
MULTILINE: frozenset[str] = frozenset({"noter"})
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
BIDI_MARKS = frozenset("\u200e\u200f\u061c")  # format characters, but allowed
FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
MULTILINE_ALLOWED = frozenset("\t\n\r")
# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): drawn as nothing at all
DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
NOT_AFTER_TODAY: tuple[str, ...] = ("soegtDato", "aktivitetsdato")
LINK_SCHEMES = ("http", "https")
POSTNUMMER_DK = re.compile(r"[0-9]{4}")


def check_joblog(joblog: Joblog, today: date, names: Mapping[str, str] | None = None) -> None:
    """Raise `Refusal(FIELD_INVALID, …, field)` for the first rule the entry breaks."""

    def fail(field: str, problem: str) -> Refusal:
        name = (names or {}).get(field, field)
        return Refusal(Reason.FIELD_INVALID, f"{name}: {problem}", name)

    values = _flat(joblog)
    for field in REQUIRED[joblog.type]:
        value = values[field]
        if value is None or (isinstance(value, str) and is_blank(value)):
            raise fail(field, f"is required for {TYPE_WORDS[joblog.type]}")
    for field, limit in MAX_LENGTH.items():
        text = values[field]
        if isinstance(text, str) and (length := text_length(text)) > limit:
            raise fail(field, f"is {length} characters, at most {limit} are allowed")
    for field in TEXT_FIELDS:
        text = values[field]
        if isinstance(text, str) and (problem := _forbidden_character(text, field)):
            raise fail(field, problem)
    land, postnummer = joblog.land, joblog.postnummer
    in_dk = land is not None and land.strip().upper() == "DK"
    if in_dk and postnummer is not None and not POSTNUMMER_DK.fullmatch(postnummer):
        land_name = (names or {}).get("land", "land")
        raise fail("postnummer", f"must be exactly 4 digits when {land_name} is DK")
    if joblog.link is not None and not _is_web_link(joblog.link):
        raise fail("link", "must be an http or https URL with a host")
    for field in NOT_AFTER_TODAY:
        day = values[field]
        if isinstance(day, date) and day > today:
            raise fail(field, f"{day.isoformat()} is after the day of receipt {today.isoformat()}")
        if isinstance(day, date) and (problem := date_problem(day, ceiling=None)):
            raise fail(field, problem)


def _flat(joblog: Joblog) -> dict[str, object]:
    """The entry's fields by canonical path, the contact person's as "kontaktperson.navn"."""
    values: dict[str, object] = {name: getattr(joblog, name) for name in Joblog.model_fields}
    contact = joblog.kontaktperson
    for name in ("navn", "telefon", "email"):
        values[f"kontaktperson.{name}"] = getattr(contact, name) if contact else None
    return values


def is_blank(text: str) -> bool:
    """Only whitespace and invisible characters (or nothing)."""
    return not DEFAULT_IGNORABLE.sub("", text).strip()


def text_length(text: str) -> int:
    """The length the rules count: characters of the text in NFC."""
    return len(unicodedata.normalize("NFC", text))


def forbidden_character(text: str, multiline: bool = False) -> str | None:
    """What is wrong with the first forbidden character of the text, None if there is none
    (`multiline`: tab, line feed and carriage return are allowed)."""
    plain = text
    for allowed in MULTILINE_ALLOWED if multiline else ():
        plain = plain.replace(allowed, "")
    if plain.isprintable():  # no Other or Separator character but the space: none forbidden
        return None  # (C speed: the loop below costs about 0.1 µs a character)
    return first_forbidden(text, multiline)


def first_forbidden(text: str, multiline: bool) -> str | None:
    """`forbidden_character`, character by character."""
    for position, char in enumerate(text, 1):
        category = unicodedata.category(char)
        if category not in FORBIDDEN_CATEGORIES or char in BIDI_MARKS:
            continue
        if multiline and char in MULTILINE_ALLOWED:
            continue
        if category == "Cc":
            kind = "a control character"
        elif char in BIDI_CONTROLS:
            kind = "a bidirectional control character"
        elif category == "Cf":
            kind = "a format character"
        else:
            kind = "a line or paragraph separator"
        return f"contains {kind} (U+{ord(char):04X}) at position {position}"
    return None


def _forbidden_character(text: str, field: str) -> str | None:
    return forbidden_character(text, multiline=field in MULTILINE)


def _is_web_link(link: str) -> bool:
    if any(ch.isspace() for ch in link):
        return False
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(host)
