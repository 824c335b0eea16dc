"""The contract's field rules for a joblog entry (both formats), as tables.

An application needs job title, employer name and country; another activity needs its
description (1-250 characters) and date. Notes are at most 2000 characters, other text fields
at most 200. Postal codes are 4 digits when the country is DK. Links are http or https with a
host. The application date and the activity date may not be after the day the message was
received; a deadline may.

Fields are named by their canonical path ("stilling", "kontaktperson.navn"); `names` turns that
into the producer's own name ("entry.jobTitle") for the refusal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from urllib.parse import urlsplit

from shared.events import Joblog, JoblogType
from shared.rejections import Reason, Refusal

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


def _is_web_link(link: str) -> bool:
    if any(ch.isspace() for ch in link):
        return False
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(host)
