"""What one front-end format has alone: the a-kasse's number, its own enum values and nested
employer, Jobnet's Copenhagen day of receipt, and the refusals that name a format's own
values or fields. The behaviour both formats share is in test_formats.py."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contract.events import Joblog, Kontaktperson
from shared.contract.rejections import Reason
from shared.frontends.akasse import AKASSE as AKASSE_FORMAT
from tests.unit.format_cases import AKASSE, DROP, JOBNET, FormatCase

# Jobnet --------------------------------------------------------------------------------------


def test_today_is_the_copenhagen_day_of_receipt() -> None:
    # received 23:30 UTC on the 20th = the 21st in Copenhagen
    assert JOBNET.parse(JOBNET.message(joblog__soegtDato="2026-11-21")).joblog.soegtDato.day == 21


# a-kasse -------------------------------------------------------------------------------------


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
def test_akasse_enum_values(field: str, value: str, canonical: str) -> None:
    canonical_field = {v: k for k, v in AKASSE_FORMAT.entry.items()}[field]
    joblog = AKASSE.parse(AKASSE.message(**{f"entry__{field}": value})).joblog
    assert getattr(joblog, canonical_field) == canonical


def test_employer_and_contact_may_be_partial_or_absent() -> None:
    entry = {"kind": "APPLICATION", "jobTitle": "X", "employer": {"name": "Y", "country": "SE"}}
    joblog = AKASSE.parse(AKASSE.message(entry=entry)).joblog
    assert joblog == Joblog(type="ansoegning", stilling="X", virksomhed="Y", land="SE")
    assert AKASSE.parse(AKASSE.message(entry__contact={})).joblog.kontaktperson == Kontaktperson()
    assert AKASSE.parse(AKASSE.message(entry__contact=None)).joblog.kontaktperson is None


@pytest.mark.parametrize("akasse_nr", ["67", "0670", "A67", 67, None, DROP])
def test_akasse_nr_is_3_digits(akasse_nr: object) -> None:
    refusal = AKASSE.refused(AKASSE.message(akasseNr=akasse_nr))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, "akasseNr")


# field_invalid, in one format's own names and values ------------------------------------------

JOBNET_ONLY = [
    ({"handling": "opdater"}, "handling", "'opdater' is not one of opret, ret, slet"),
    (
        {"joblog__status": "x"},
        "joblog.status",
        "joblog.status: 'x' is not one of ikke_soegt, soegt, samtale, afslag, fik_job",
    ),
    ({"joblog__type": "APPLICATION"}, "joblog.type", "is not one of ansoegning"),
    ({"joblog__arbejdstid": 1}, "joblog.arbejdstid", "1 is not one of fuldtid, deltid"),
    ({"joblog__jobTitle": "x"}, "joblog.jobTitle", "unknown field"),  # the a-kasse's name
    ({"joblog__soegtDato": "2026-11-22"}, "joblog.soegtDato", "is after the day"),
]
AKASSE_ONLY = [
    ({"type": "JOBLOG_CHANGED"}, "type", "is not one of JOBLOG_CREATED, JOBLOG_UPDATED"),
    ({"type": "opret"}, "type", "is not one of"),
    ({"entry__kind": "ansoegning"}, "entry.kind", "is not one of APPLICATION, OTHER_ACTIVITY"),
    ({"entry__status": "soegt"}, "entry.status", "is not one of NOT_APPLIED, APPLIED"),
    ({"entry__hours": "HALF"}, "entry.hours", "is not one of FULL_TIME, PART_TIME"),
    ({"entry__source": "x"}, "entry.source", "is not one of ADVERTISED"),
    ({"entry__channel": "x"}, "entry.channel", "is not one of DIGITAL"),
    ({"type": "JOBLOG_UPDATED"}, "basedOnVersion", "basedOnVersion: is missing"),
    ({"type": "JOBLOG_UPDATED", "basedOnVersion": 0}, "basedOnVersion", "not a version"),
    ({"entry__employer": "Acme"}, "entry.employer", "must be an object"),
    ({"entry__employer__vat": "1"}, "entry.employer.vat", "unknown field"),
    ({"entry__stilling": "x"}, "entry.stilling", "unknown field"),  # Jobnet's name
    (
        {"entry__employer__postalCode": "DK-8000"},
        "entry.employer.postalCode",
        "exactly 4 digits when entry.employer.country is DK",
    ),
    ({"entry__appliedOn": "2026-11-21"}, "entry.appliedOn", "is after the day"),
]


@pytest.mark.parametrize(
    ("case", "changes", "field", "message_part"),
    [(JOBNET, *row) for row in JOBNET_ONLY] + [(AKASSE, *row) for row in AKASSE_ONLY],
)
def test_field_invalid_in_one_format(
    case: FormatCase, changes: dict[str, Any], field: str, message_part: str
) -> None:
    refusal = case.refused(case.message(**changes))
    assert (refusal.reason, refusal.field) == (Reason.FIELD_INVALID, field)
    assert refusal.message.startswith(f"{field}: ")
    assert message_part in refusal.message
