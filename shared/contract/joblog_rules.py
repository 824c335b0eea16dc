"""The contract's field rules for a joblog entry (both formats), as tables.

An application needs job title, employer name and country; another activity needs its
description (1-250 characters) and date. Notes are at most 2000 characters, other text fields
at most 200. Postal codes are 4 digits when the country is DK. Links are http or https with a
host. The application date and the activity date may not be after the day the message was
received; a deadline may.

No text field may hold a control character (Unicode category Cc: C0, DEL, C1), except line
feed, carriage return and tab in the notes, nor a bidirectional embedding, override or isolate
(U+202A-U+202E, U+2066-U+2069): such a character could reorder or hide what a caseworker sees of
this or a neighbouring field, or break a CSV line. The bidirectional *marks* (LRM U+200E, RLM
U+200F, ALM U+061C) are allowed: they open no scope that reaches past themselves, and names and
addresses in Arabic or Hebrew script legitimately carry them.

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
_BIDI = r"\u202a-\u202e\u2066-\u2069"
# any Cc character (U+0000-U+001F, U+007F-U+009F) or bidi control; the notes allow \t \n \r
FORBIDDEN = re.compile(rf"[\x00-\x1f\x7f-\x9f{_BIDI}]")
FORBIDDEN_MULTILINE = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")
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
        if value is None or (isinstance(value, str) and not value.strip()):
            raise fail(field, f"is required for {TYPE_WORDS[joblog.type]}")
    for field, limit in MAX_LENGTH.items():
        text = values[field]
        if isinstance(text, str) and len(text) > limit:
            raise fail(field, f"is {len(text)} characters, at most {limit} are allowed")
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


def _flat(joblog: Joblog) -> dict[str, object]:
    """The entry's fields by canonical path, the contact person's as "kontaktperson.navn"."""
    values: dict[str, object] = {name: getattr(joblog, name) for name in Joblog.model_fields}
    contact = joblog.kontaktperson
    for name in ("navn", "telefon", "email"):
        values[f"kontaktperson.{name}"] = getattr(contact, name) if contact else None
    return values


def _forbidden_character(text: str, field: str) -> str | None:
    """What is wrong with the first forbidden character of the text, None if there is none."""
    found = (FORBIDDEN_MULTILINE if field in MULTILINE else FORBIDDEN).search(text)
    if found is None:
        return None
    kind = (
        "a control character"
        if unicodedata.category(found[0]) == "Cc"
        else ("a bidirectional control character")
    )
    return f"contains {kind} (U+{ord(found[0]):04X}) at position {found.start() + 1}"


def _is_web_link(link: str) -> bool:
    if any(ch.isspace() for ch in link):
        return False
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(host)
