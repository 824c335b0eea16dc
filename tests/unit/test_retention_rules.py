"""Issue 21 B: the retention rules (shared/contract/retention.py) at their boundaries: exactly 4
and 5 years, leap days, Copenhagen days, the decision on a queue entry."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.contract import retention
from shared.contract.events import Joblog, JoblogType, StoredJoblog
from shared.contract.joblog_rules import check_joblog
from shared.contract.retention import Action, Periods, decide
from shared.contract.tid import start_of_day

PERIODS = Periods()


def test_the_periods_documented_defaults():
    assert (PERIODS.optional_fields_years, PERIODS.joblog_years) == (4, 5)
    assert (PERIODS.access_log_years, PERIODS.message_id_days) == (5, 30)
    with pytest.raises(ValueError):
        Periods(joblog_years=0)


@pytest.mark.parametrize(
    ("changed", "years", "last_kept", "due"),
    [
        (date(2021, 3, 4), 4, date(2025, 3, 4), date(2025, 3, 5)),  # exactly 4 years: kept
        (date(2021, 3, 4), 5, date(2026, 3, 4), date(2026, 3, 5)),
        (date(2024, 2, 29), 4, date(2028, 2, 29), date(2028, 3, 1)),  # leap to leap year
        (date(2024, 2, 29), 5, date(2029, 2, 28), date(2029, 3, 1)),  # no 29 Feb: the 28th
        (date(2023, 2, 28), 1, date(2024, 2, 28), date(2024, 2, 29)),  # into a leap year
        (date(2021, 12, 31), 4, date(2025, 12, 31), date(2026, 1, 1)),
    ],
)
def test_a_period_of_years_ends_with_the_anniversary_and_the_data_goes_the_day_after(
    changed, years, last_kept, due
):
    assert retention.anniversary(changed, years) == last_kept
    assert retention.due_on(changed, years) == due
    assert not retention.is_due(changed, years, last_kept)
    assert retention.is_due(changed, years, due)


def test_on_the_first_of_march_after_a_leap_day_both_ends_of_february_are_due():
    assert retention.latest_due_day(date(2029, 3, 1), 5) == date(2024, 2, 29)
    assert retention.latest_due_day(date(2029, 2, 28), 5) == date(2024, 2, 27)
    assert retention.latest_due_day(date(2028, 3, 1), 4) == date(2024, 2, 29)


@given(st.dates(date(2001, 1, 1), date(2100, 12, 31)), st.integers(1, 10))
def test_the_queue_is_read_up_to_exactly_the_last_due_day(today, years):
    """Every day up to `latest_due_day` is due, the day after it is not: the range read holds
    what is due and nothing else."""
    last = retention.latest_due_day(today, years)
    assert retention.is_due(last, years, today)
    assert not retention.is_due(last + timedelta(days=1), years, today)
    assert retention.is_due(last - timedelta(days=400), years, today)


def test_message_ids_are_kept_their_days_and_go_the_day_after():
    accepted = date(2026, 11, 1)
    assert not retention.message_id_due(accepted, 30, date(2026, 12, 1))
    assert retention.message_id_due(accepted, 30, date(2026, 12, 2))
    assert retention.latest_message_day(date(2026, 12, 2), 30) == accepted


APPLICATION = Joblog(
    type=JoblogType.ANSOEGNING, stilling="Lager", virksomhed="Acme", land="DK", adresse="Vej 1",
    postnummer="8000", by="Aarhus", noter="ring igen", link="https://acme.dk/job",
    soegtDato=date(2021, 3, 1), aktivitet="også dette",
)  # fmt: skip
ACTIVITY = Joblog(
    type=JoblogType.ANDEN_AKTIVITET, aktivitet="Netværksmøde", aktivitetsdato=date(2021, 3, 1),
    noter="privat", stilling="ikke krævet her",
)  # fmt: skip


def test_clearing_keeps_what_the_field_rules_require_and_nothing_else():
    kept = retention.cleared(APPLICATION)
    assert kept.model_dump(exclude_none=True) == {
        "type": "ansoegning", "stilling": "Lager", "virksomhed": "Acme", "land": "DK",
    }  # fmt: skip
    activity = retention.cleared(ACTIVITY)
    assert activity.model_dump(exclude_none=True, mode="json") == {
        "type": "anden_aktivitet", "aktivitet": "Netværksmøde", "aktivitetsdato": "2021-03-01",
    }  # fmt: skip
    for entry in (kept, activity):
        check_joblog(entry, date(2026, 1, 1))  # still a valid entry
    assert "noter" in retention.optional_fields(JoblogType.ANSOEGNING)
    assert "stilling" in retention.optional_fields(JoblogType.ANDEN_AKTIVITET)
    assert "stilling" not in retention.optional_fields(JoblogType.ANSOEGNING)


def stored(last_change: datetime, kilde: str = "jobnet", cpr: str = "0101901234") -> StoredJoblog:
    return StoredJoblog(
        joblogId=uuid.uuid4(), cpr=cpr, version=3, slettet=not cpr, joblog=APPLICATION,
        oprettet=last_change, senestAendret=last_change, kilde=kilde, kildeBeskedId=uuid.uuid4(),
    )  # fmt: skip


def cph(day: date, hour: int = 12) -> datetime:
    return start_of_day(day) + timedelta(hours=hour)


CHANGED = date(2021, 3, 4)


@pytest.mark.parametrize(
    ("kind", "current", "today", "action"),
    [
        ("ryd", None, date(2026, 1, 1), Action.DROP),
        ("ryd", stored(cph(CHANGED + timedelta(days=1))), date(2026, 1, 1), Action.DROP),
        ("ryd", stored(cph(CHANGED)), date(2025, 3, 4), Action.WAIT),
        ("ryd", stored(cph(CHANGED)), date(2025, 3, 5), Action.CLEAR),
        ("ryd", stored(cph(CHANGED), kilde="dfdg"), date(2025, 3, 5), Action.CLEARED),
        ("ryd", stored(cph(CHANGED)), date(2026, 3, 5), Action.ERASE),
        ("slet", stored(cph(CHANGED), kilde="dfdg"), date(2025, 6, 1), Action.WAIT),
        ("slet", stored(cph(CHANGED), kilde="dfdg"), date(2026, 3, 4), Action.WAIT),
        ("slet", stored(cph(CHANGED), kilde="dfdg"), date(2026, 3, 5), Action.ERASE),
        ("slet", stored(cph(CHANGED), kilde="dfdg", cpr=""), date(2026, 3, 5), Action.ERASED),
        ("ryd", stored(cph(CHANGED), kilde="dfdg", cpr=""), date(2026, 3, 5), Action.ERASED),
    ],
)
def test_the_decision_on_a_queue_entry(kind, current, today, action):
    assert decide(kind, CHANGED, current, today, PERIODS) is action


def test_the_day_of_a_change_is_the_copenhagen_day():
    """23:30 UTC on 3 March is 00:30 on 4 March in Copenhagen: the change is of the 4th."""
    late = datetime(2021, 3, 3, 23, 30, tzinfo=UTC)
    assert decide("ryd", CHANGED, stored(late), date(2025, 3, 5), PERIODS) is Action.CLEAR
    assert decide("ryd", date(2021, 3, 3), stored(late), date(2025, 3, 5), PERIODS) is Action.DROP
    (entry, besked) = retention.entries_of(stored(late))
    assert entry.startswith("ryd|2021-03-04|") and besked.startswith("besked|2021-03-04|")
    assert retention.entries_of(stored(late, kilde="dfdg")) == []


def test_without_a_shorter_period_for_the_optional_fields_the_joblog_is_erased_whole():
    periods = Periods(optional_fields_years=5, joblog_years=5)
    current = stored(cph(CHANGED))
    assert decide("ryd", CHANGED, current, date(2025, 6, 1), periods) is Action.WAIT
    assert decide("ryd", CHANGED, current, date(2026, 3, 5), periods) is Action.ERASE


def test_a_tombstone_has_no_cpr_and_a_retention_version_the_same_id_on_every_run():
    assert retention.is_erased(stored(cph(CHANGED), kilde="dfdg", cpr=""))
    assert not retention.is_erased(stored(cph(CHANGED), kilde="dfdg"))
    joblog = uuid.uuid4()
    assert retention.version_id("ryd", joblog, 4) == retention.version_id("ryd", joblog, 4)
    assert retention.version_id("ryd", joblog, 4) != retention.version_id("slet", joblog, 4)


def test_a_days_entries_are_one_id_range():
    key = retention.queue_key("ryd", CHANGED, "abc")
    assert retention.parse_key(key) == ("ryd", CHANGED, "abc")
    window = retention.day_range("ryd", CHANGED)
    assert window["$gte"] <= key < window["$lt"]
    assert retention.queue_key("ryd", CHANGED + timedelta(days=1), "0") >= window["$lt"]
    upto = retention.due_range("ryd", CHANGED)
    assert upto["$gte"] <= key < upto["$lt"]
    assert retention.queue_key("slet", CHANGED, "abc") >= upto["$lt"]  # another kind: outside


@given(st.datetimes(datetime(2000, 1, 1), datetime(2999, 1, 1), timezones=st.just(UTC)))
def test_access_log_ids_sort_by_the_time_read(moment):
    earlier, later = retention.uuid7(moment), retention.uuid7(moment + timedelta(milliseconds=1))
    assert earlier.version == 7 and str(earlier) < str(later)
    assert str(earlier).startswith(retention.uuid7_prefix(moment))
    assert str(earlier) < retention.uuid7_prefix(moment + timedelta(milliseconds=1))
