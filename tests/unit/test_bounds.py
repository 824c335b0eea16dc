"""Times, dates and text within bounds (contract, "Times and dates" and the field rules): a
producer's time more than a few minutes after receipt, or out of [2000-01-01, 2999-12-31], is
`field_invalid` (also year 1 and 9999 with an offset, which have no UTC value: storage never
meets an OverflowError); activity, status and fritagelse dates have a floor; text refuses format
and separator characters and is counted in NFC; invisible-only required text is blank."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import ValidationError

from services.storage import citizens
from shared.contract import topics
from shared.contract.citizen import ExemptionAction, ExemptionMessage, Maalgruppe, StatusMessage
from shared.contract.events import Joblog, JoblogType, Kontaktperson
from shared.contract.inbound import Inbound
from shared.contract.joblog_rules import check_joblog
from shared.contract.rejections import Reason, Refusal
from shared.contract.tid import AHEAD_OF_RECEIPT, moment_problem
from tests.unit.format_cases import CASES, CPR, FormatCase
from tests.unit.test_storage_handlers import NOW, command, handle, inbound_of, world

TODAY = date(2026, 11, 20)
APPLICATION = Joblog(type=JoblogType.ANSOEGNING, stilling="Lager", virksomhed="Acme", land="DK")
ACTIVITY = Joblog(type=JoblogType.ANDEN_AKTIVITET, aktivitet="Jobmesse", aktivitetsdato=TODAY)
# times with an offset whose UTC value does not exist in `datetime` (or only just)
EXTREME_TIMES = [
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:30:00-14:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59+00:00",
    "9999-12-31T23:59:59.999999+14:00",
]


def refusal(joblog: Joblog) -> Refusal:
    with pytest.raises(Refusal) as caught:
        check_joblog(joblog, TODAY)
    assert caught.value.reason == Reason.FIELD_INVALID
    return caught.value


# -- shared.contract.tid ---------------------------------------------------------------------


@pytest.mark.parametrize("text", EXTREME_TIMES)
def test_extreme_times_are_out_of_bounds_without_overflow(text: str) -> None:
    problem = moment_problem(datetime.fromisoformat(text), NOW)
    assert problem is not None and text[:4] in problem


def test_a_time_may_be_a_few_minutes_after_receipt_not_more() -> None:
    assert moment_problem(NOW + AHEAD_OF_RECEIPT, NOW) is None
    problem = moment_problem(NOW + AHEAD_OF_RECEIPT + timedelta(seconds=1), NOW)
    assert problem is not None and "5 minutes after the message was received" in problem
    assert moment_problem(NOW + timedelta(days=400)) is None  # without a receipt: bounds only
    assert moment_problem(datetime(2000, 1, 1, 1, tzinfo=UTC), NOW) is None
    assert moment_problem(datetime(1999, 12, 31, 23, 59, tzinfo=UTC), NOW) is not None


# -- the front ends' formats -----------------------------------------------------------------


@pytest.fixture(params=CASES, ids=str)
def case(request: pytest.FixtureRequest) -> FormatCase:
    return request.param


@pytest.mark.parametrize("text", [*EXTREME_TIMES, "2999-06-01T00:00:00+02:00", "1999-12-31T12:00Z"])
def test_a_time_out_of_bounds_is_field_invalid(case: FormatCase, text: str) -> None:
    refused = case.refused(case.message(tidspunkt=text))
    field = case.field("tidspunkt")
    assert (refused.reason, refused.field) == (Reason.FIELD_INVALID, field)
    assert refused.message.startswith(f"{field}: {text[:4]}")


def test_a_time_after_receipt_by_more_than_the_window_is_field_invalid(case: FormatCase) -> None:
    ok = case.received + AHEAD_OF_RECEIPT
    assert case.parse(case.message(tidspunkt=ok.isoformat())).tidspunkt == ok
    later = (ok + timedelta(seconds=1)).isoformat()
    refused = case.refused(case.message(tidspunkt=later))
    assert (refused.reason, refused.field) == (Reason.FIELD_INVALID, case.field("tidspunkt"))
    assert "minutes after the message was received" in refused.message


# -- storage: defence in depth, and no OverflowError ---------------------------------------


@pytest.mark.parametrize("text", EXTREME_TIMES)
async def test_storage_refuses_a_command_with_an_extreme_time_and_stores_nothing(text: str):
    """A command on the internal topic as an adapter without the check would write it: refused
    on the producer's rejected topic as field_invalid (a replay gets the same answer), never an
    OverflowError kept as internal_error."""
    w = world()
    cmd = command().model_copy(update={"tidspunkt": datetime.fromisoformat(text)})
    await handle(w, cmd)
    [rejected] = w.outbox.rejected
    assert rejected.topic == topics.JOBNET_REJECTED
    assert (rejected.refusal.reason, rejected.refusal.field) == (Reason.FIELD_INVALID, "tidspunkt")
    assert w.repo.history == {} and w.changes() == []
    await handle(w, cmd)  # again (a replay): the same refusal
    assert [r.refusal.reason for r in w.outbox.rejected] == [Reason.FIELD_INVALID] * 2


async def test_storage_refuses_a_far_future_time_and_an_extreme_receipt():
    w = world()
    future = command().model_copy(update={"tidspunkt": NOW + timedelta(days=365)})
    await handle(w, future)
    received = command().model_copy(update={"modtaget": datetime.fromisoformat(EXTREME_TIMES[3])})
    await handle(w, received)
    reasons = [(r.refusal.reason, r.refusal.field) for r in w.outbox.rejected]
    assert reasons == [(Reason.FIELD_INVALID, "tidspunkt"), (Reason.MALFORMED, "modtaget")]
    assert w.repo.history == {}


async def test_an_akasse_time_is_refused_in_the_akasses_terms():
    w = world()
    cmd = command(kilde="akasse:067").model_copy(update={"tidspunkt": NOW + timedelta(hours=1)})
    await handle(w, cmd)
    [rejected] = w.outbox.rejected
    assert rejected.refusal.field == "occurredAt"
    assert rejected.refusal.message.startswith("occurredAt: ")


# -- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["soegtDato", "aktivitetsdato"])
def test_activity_dates_have_a_floor(field: str) -> None:
    check_joblog(ACTIVITY.model_copy(update={field: date(2000, 1, 1)}), TODAY)
    for day in (date(1999, 12, 31), date(1, 1, 1)):
        refused = refusal(ACTIVITY.model_copy(update={field: day}))
        assert refused.field == field and "is before 2000-01-01" in refused.message


def test_a_deadline_has_no_floor_nor_ceiling() -> None:
    for day in (date(1, 1, 1), date(9999, 12, 31)):
        check_joblog(APPLICATION.model_copy(update={"ansoegningsfrist": day}), TODAY)


def status_body(**fields: object) -> dict[str, object]:
    return {
        "messageId": str(uuid4()), "cpr": CPR, "jobcenter": "101", "akasseNr": None,
        "maalgruppe": Maalgruppe.DAGPENGE.value, "gyldigFra": "2026-01-01", "gyldigTil": None,
        "tidspunkt": "2026-03-01T09:00:00+01:00", **fields,
    }  # fmt: skip


def exemption_body(**fields: object) -> dict[str, object]:
    return {
        "messageId": str(uuid4()), "cpr": CPR, "exemptionId": str(uuid4()), "jobcenter": "101",
        "handling": ExemptionAction.TILDEL.value, "gyldigFra": "2026-03-01", "gyldigTil": None,
        "begrundelse": "sygdom", **fields,
    }  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [
        {"gyldigFra": "1999-12-31"},
        {"gyldigFra": "0001-01-01", "gyldigTil": "0001-01-02"},
        {"gyldigTil": "9999-12-31"},
        {"gyldigFra": "3000-01-01"},
        {"tidspunkt": EXTREME_TIMES[0]},
        {"tidspunkt": EXTREME_TIMES[3]},
    ],
    ids=str,
)
def test_status_dates_and_times_within_bounds(fields: dict[str, object]) -> None:
    StatusMessage.model_validate(status_body(gyldigFra="2000-01-01", gyldigTil="2999-12-31"))
    with pytest.raises(ValidationError) as caught:
        StatusMessage.model_validate(status_body(**fields))
    assert caught.value.errors()[0]["loc"][0] in fields


@pytest.mark.parametrize(
    "fields",
    [{"gyldigFra": "1999-12-31"}, {"gyldigTil": "9999-12-31"}, {"gyldigFra": "0001-01-01"}],
    ids=str,
)
def test_exemption_dates_within_bounds(fields: dict[str, object]) -> None:
    ExemptionMessage.model_validate(exemption_body(gyldigFra="2000-01-01", gyldigTil="2999-12-31"))
    with pytest.raises(ValidationError):
        ExemptionMessage.model_validate(exemption_body(**fields))


async def test_a_status_time_after_receipt_is_refused_and_not_stored():
    """The status feed's tidspunkt orders its messages (a later one wins): not in the future."""
    w = world()
    future = datetime.now(UTC) + timedelta(days=1)  # after both the fake and the wall clock
    message = StatusMessage.model_validate(status_body(tidspunkt=future.isoformat()))
    await citizens.handle_status(inbound_of(message, topics.CITIZEN_STATUS), w.ports)
    [rejected] = w.outbox.rejected
    assert rejected.topic == topics.CITIZEN_REJECTED
    assert (rejected.refusal.reason, rejected.refusal.field) == (Reason.FIELD_INVALID, "tidspunkt")
    assert w.repo.statuses == {}


async def test_a_status_date_before_the_floor_is_refused_on_the_citizen_rejected_topic():
    w = world()
    body = json.dumps(status_body(gyldigFra="1999-12-31")).encode()
    await citizens.handle_status(Inbound(topics.CITIZEN_STATUS, 0, 1, CPR, body), w.ports)
    [rejected] = w.outbox.rejected
    assert (rejected.refusal.reason, rejected.refusal.field) == (Reason.FIELD_INVALID, "gyldigFra")
    assert w.repo.statuses == {}


# -- text --------------------------------------------------------------------------------------

FORMAT_CHARACTERS = [
    "\u200b",  # zero width space
    "\u200c",  # zero width non-joiner
    "\u200d",  # zero width joiner
    "\u2060",  # word joiner
    "\u2061",  # function application (invisible operators)
    "\ufeff",  # BOM / zero width no-break space
    "\u00ad",  # soft hyphen
    "\u180e",  # Mongolian vowel separator
    "\U000e0001",  # language tag
    "\U000e0041",  # tag latin capital A
    "\U000e007f",  # cancel tag
]
SEPARATORS = ["\u2028", "\u2029"]
FIELDS = ["stilling", "virksomhed", "adresse", "by", "aktivitet", "noter"]


def with_text(field: str, text: str) -> Joblog:
    return APPLICATION.model_copy(update={"land": "SE", field: f"a{text}b"})


@pytest.mark.parametrize("char", FORMAT_CHARACTERS)
@pytest.mark.parametrize("field", FIELDS)
def test_format_characters_are_refused(field: str, char: str) -> None:
    refused = refusal(with_text(field, char))
    assert refused.field == field
    assert f"contains a format character (U+{ord(char):04X}) at position 2" in refused.message


@pytest.mark.parametrize("char", SEPARATORS)
@pytest.mark.parametrize("field", FIELDS)
def test_line_and_paragraph_separators_are_refused(field: str, char: str) -> None:
    refused = refusal(with_text(field, char))
    assert refused.field == field
    assert f"a line or paragraph separator (U+{ord(char):04X})" in refused.message


def test_format_characters_refused_in_the_contact_person() -> None:
    joblog = APPLICATION.model_copy(update={"kontaktperson": Kontaktperson(navn="Ann\ufeff")})
    assert refusal(joblog).field == "kontaktperson.navn"


def test_the_bidi_marks_stay_allowed() -> None:
    check_joblog(with_text("virksomhed", "\u200e\u200f\u061c"), TODAY)


@pytest.mark.parametrize(
    "blank", ["\u200b", "\u2060\u2060", " \u200b ", "\u3164", "\u115f\u1160", "\u034f", "\u200e"]
)
@pytest.mark.parametrize("field", ["stilling", "virksomhed", "land"])
def test_required_text_of_invisible_characters_only_is_blank(field: str, blank: str) -> None:
    refused = refusal(APPLICATION.model_copy(update={field: blank}))
    assert refused.field == field
    assert "is required for an application" in refused.message


def test_invisible_only_aktivitet_is_blank() -> None:
    refused = refusal(ACTIVITY.model_copy(update={"aktivitet": "\u2060"}))
    assert "is required for another activity" in refused.message


@pytest.mark.parametrize(
    ("field", "limit"), [("stilling", 200), ("aktivitet", 250), ("noter", 2000)]
)
def test_length_is_counted_in_nfc(field: str, limit: int) -> None:
    """ "é" as "e" + U+0301 is one character, as composed: NFD text does not count twice."""
    decomposed = unicodedata.normalize("NFD", "é")
    assert len(decomposed) == 2
    base = ACTIVITY if field == "aktivitet" else APPLICATION
    check_joblog(base.model_copy(update={field: decomposed * limit}), TODAY)
    refused = refusal(base.model_copy(update={field: decomposed * (limit + 1)}))
    assert f"is {limit + 1} characters, at most {limit}" in refused.message


def test_an_exemption_reason_of_invisible_characters_is_missing() -> None:
    with pytest.raises(ValidationError) as caught:
        ExemptionMessage.model_validate(exemption_body(begrundelse=" \u3164\u034f "))
    assert "begrundelse is required" in str(caught.value)
    for bad in ("\u200b\u2060", "a\u202eb", "a\u2028b", "a\x00b"):
        with pytest.raises(ValidationError):
            ExemptionMessage.model_validate(exemption_body(begrundelse=bad))
    with pytest.raises(ValidationError):
        ExemptionMessage.model_validate(exemption_body(alternativDokumentation="\ufeffx"))
    ExemptionMessage.model_validate(exemption_body(begrundelse="LAS § 75\nstk. 5\u200f"))
