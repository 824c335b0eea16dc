"""The udsøgning's population and columns (services.jobcenter_api.udsoegning)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.jobcenter_api.udsoegning import (
    HEADER,
    CitizenFacts,
    Criteria,
    CriteriaError,
    JoblogFact,
    NoticeFact,
    Row,
    rows,
    select_row,
)
from shared.contract.citizen import ExemptionPeriod, Maalgruppe, Period

JP = Maalgruppe.JOBPARAT_KONTANTHJAELP
DP = Maalgruppe.DAGPENGE
INGEN = Maalgruppe.INGEN

JAN1, JAN31 = date(2026, 1, 1), date(2026, 1, 31)
TODAY = date(2026, 3, 10)


def p(fra: date, til: date | None, group: Maalgruppe, jobcenter: str = "101") -> Period:
    return Period(fra, til, group, jobcenter, None)


def exemption(fra: date, til: date | None) -> ExemptionPeriod:
    return ExemptionPeriod(UUID(int=fra.toordinal()), fra, til, "101", "syg", None)


def utc(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=UTC)


def january(
    maalgruppe: Maalgruppe | None = None, kun_adviserede: bool = False, today: date = TODAY
) -> Criteria:
    return Criteria("101", JAN1, JAN31, maalgruppe, kun_adviserede, today)


def cpr_of(row: Row | None) -> str | None:
    return None if row is None else row.cpr


# --- the STAR example -------------------------------------------------------------------------


def test_star_example_january_extraction() -> None:
    now_ingen = CitizenFacts(
        "0101901111",
        [p(date(2025, 12, 1), date(2026, 2, 15), JP), p(date(2026, 2, 15), None, INGEN)],
    )
    still_jobparat = CitizenFacts("0101902222", [p(date(2025, 12, 1), None, JP)])
    now_dagpenge = CitizenFacts(
        "0101903333", [p(date(2025, 12, 1), date(2026, 2, 1), JP), p(date(2026, 2, 1), None, DP)]
    )
    citizens = [now_ingen, still_jobparat, now_dagpenge]

    got = list(rows(citizens, january()))
    assert [r.cpr for r in got] == ["0101902222"]
    assert got[0].maalgruppe is JP

    # asked for jobparat: the one who is now dagpenge is still out (he does not hold it today)
    assert [r.cpr for r in rows(citizens, january(JP))] == ["0101902222"]
    # asked for dagpenge: nobody held dagpenge in January
    assert list(rows(citizens, january(DP))) == []
    # a February extraction holds the one who is dagpenge now (he was, from 1 February)
    february = Criteria("101", date(2026, 2, 1), date(2026, 2, 28), None, False, TODAY)
    assert [r.cpr for r in rows(citizens, february)] == ["0101902222", "0101903333"]


def test_population_is_the_current_jobcenter() -> None:
    elsewhere_now = CitizenFacts("0101901111", [p(date(2025, 1, 1), None, JP, "147")])
    moved_here = CitizenFacts(
        "0101902222",
        [p(date(2025, 1, 1), date(2026, 2, 1), JP, "147"), p(date(2026, 2, 1), None, JP, "101")],
    )
    moved_away = CitizenFacts(
        "0101903333",
        [p(date(2025, 1, 1), date(2026, 2, 1), JP, "101"), p(date(2026, 2, 1), None, JP, "147")],
    )
    no_status = CitizenFacts("0101904444", [p(date(2025, 1, 1), date(2026, 2, 1), JP)])
    citizens = [elsewhere_now, moved_here, moved_away, no_status]
    assert [r.cpr for r in rows(citizens, january())] == ["0101902222"]


def test_rows_keep_the_order_given() -> None:
    citizens = [CitizenFacts(cpr, [p(date(2025, 1, 1), None, DP)]) for cpr in ("3", "1", "2")]
    assert [r.cpr for r in rows(citizens, january())] == ["3", "1", "2"]


# --- målgruppe changing inside the period -----------------------------------------------------


def test_maalgruppe_changed_inside_the_period() -> None:
    to_jobparat = CitizenFacts(
        "0101901111", [p(date(2025, 6, 1), date(2026, 1, 16), DP), p(date(2026, 1, 16), None, JP)]
    )
    row = select_row(to_jobparat, january())
    assert row is not None and row.maalgruppe is JP
    assert select_row(to_jobparat, january(JP)) is not None
    assert select_row(to_jobparat, january(DP)) is None  # held in January, but not today

    # held the current målgruppe only on the last day of the period: included
    last_day = CitizenFacts("0101902222", [p(date(2025, 6, 1), JAN31, JP), p(JAN31, None, DP)])
    row = select_row(last_day, january())
    assert row is not None and row.maalgruppe is DP
    # ... and from the day after the period: not
    day_after = CitizenFacts(
        "0101903333", [p(date(2025, 6, 1), date(2026, 2, 1), JP), p(date(2026, 2, 1), None, DP)]
    )
    assert select_row(day_after, january()) is None


def test_current_period_needs_no_history() -> None:
    # til is today or later: the period is not historical
    since_today = CitizenFacts("0101901111", [p(TODAY, None, JP)])
    current = Criteria("101", date(2026, 3, 1), date(2026, 3, 31), None, False, TODAY)
    assert not current.historical
    row = select_row(since_today, current)
    assert row is not None and row.dage_uden_aktivitet == 0
    until_today = Criteria("101", date(2026, 3, 1), TODAY, None, False, TODAY)
    assert not until_today.historical
    assert select_row(since_today, until_today) is not None


# --- fritaget -----------------------------------------------------------------------------------


def test_fritaget_on_the_last_day_of_the_period() -> None:
    periods = [p(date(2025, 6, 1), None, JP)]
    covering = CitizenFacts(
        "1", periods, exemptions=[exemption(date(2026, 1, 20), date(2026, 2, 10))]
    )
    ended = CitizenFacts(
        "2", periods, exemptions=[exemption(date(2026, 1, 10), JAN31)]
    )  # til excl.
    open_ended = CitizenFacts("3", periods, exemptions=[exemption(date(2026, 1, 31), None)])
    none = CitizenFacts("4", periods)
    got = {r.cpr: r.cells()[2] for r in rows([covering, ended, open_ended, none], january())}
    assert got == {"1": "ja", "2": "nej", "3": "ja", "4": "nej"}


def test_fritaget_in_a_current_period_is_on_today() -> None:
    periods = [p(date(2025, 6, 1), None, JP)]
    facts = CitizenFacts("1", periods, exemptions=[exemption(date(2026, 3, 1), date(2026, 3, 10))])
    march = Criteria("101", date(2026, 3, 1), date(2026, 3, 31), None, False, TODAY)
    row = select_row(facts, march)
    assert row is not None and not row.fritaget  # ended the day before today
    row = select_row(facts, Criteria("101", date(2026, 3, 1), date(2026, 3, 31), None, False,
                                     date(2026, 3, 9)))  # fmt: skip
    assert row is not None and row.fritaget


# --- adviseringer ---------------------------------------------------------------------------------


def test_kun_adviserede() -> None:
    periods = [p(date(2025, 6, 1), None, JP)]
    in_period = CitizenFacts("1", periods, notices=[NoticeFact(utc(2026, 1, 20), utc(2026, 1, 20))])
    before = CitizenFacts("2", periods, notices=[NoticeFact(utc(2025, 12, 20), utc(2025, 12, 20))])
    none = CitizenFacts("3", periods)
    citizens = [in_period, before, none]

    assert [r.cpr for r in rows(citizens, january(kun_adviserede=True))] == ["1"]
    got = {r.cpr: r.cells()[6:] for r in rows(citizens, january())}
    assert got == {"1": ("1", "2026-01-20"), "2": ("0", "2025-12-20"), "3": ("0", "")}


def test_adviseringer_count_by_due_day_and_only_once_issued() -> None:
    periods = [p(date(2025, 6, 1), None, JP)]
    notices = [
        NoticeFact(utc(2025, 12, 31, 23, 30), utc(2025, 12, 31, 23, 30)),  # 1 Jan local: in
        NoticeFact(utc(2026, 1, 31, 22, 59), utc(2026, 2, 1, 8)),  # 31 Jan local, issued later
        NoticeFact(utc(2026, 1, 31, 23, 30), utc(2026, 1, 31, 23, 30)),  # 1 Feb local: out
    ]
    row = select_row(CitizenFacts("1", periods, notices=notices), january())
    assert row is not None
    assert (row.antal_adviseringer, row.seneste_advisering) == (2, JAN31)

    # an auditor's view on 31 January: the notice issued on 1 February did not exist yet
    row = select_row(CitizenFacts("1", periods, notices=notices), january(today=JAN31))
    assert row is not None
    assert (row.antal_adviseringer, row.seneste_advisering) == (1, JAN1)


# --- period boundaries --------------------------------------------------------------------------


def test_activity_on_the_boundary_days() -> None:
    periods = [p(date(2025, 6, 1), None, JP)]
    created = [
        utc(2025, 12, 31, 12),  # the day before: out
        utc(2025, 12, 31, 23, 30),  # 00:30 on 1 January in Copenhagen: in
        utc(2026, 1, 15),
        utc(2026, 1, 31, 22, 59),  # 23:59 on 31 January in Copenhagen: in
        utc(2026, 1, 31, 23, 30),  # 00:30 on 1 February in Copenhagen: out
        utc(2026, 2, 1, 12),  # the day after: out
    ]
    facts = CitizenFacts(
        "1",
        periods,
        activity=list(created),
        joblogs=[JoblogFact(f"j{i}", t) for i, t in enumerate(created)],
    )
    row = select_row(facts, january())
    assert row is not None
    assert row.antal_joblogs == 3
    assert row.seneste_aktivitet == JAN31
    assert row.dage_uden_aktivitet == 0


def test_summer_time_midnight() -> None:
    periods = [p(date(2025, 6, 1), None, JP)]
    july = Criteria("101", date(2026, 7, 1), date(2026, 7, 31), None, False, date(2026, 9, 1))
    facts = CitizenFacts(
        "1",
        periods,
        activity=[utc(2026, 7, 31, 21, 59), utc(2026, 7, 31, 22, 0)],  # 23:59 / 00:00 CEST
        joblogs=[JoblogFact("a", utc(2026, 6, 30, 22, 0)), JoblogFact("b", utc(2026, 7, 31, 22))],
    )
    row = select_row(facts, july)
    assert row is not None
    assert (row.antal_joblogs, row.seneste_aktivitet) == (1, date(2026, 7, 31))


@pytest.mark.parametrize(
    ("change_day", "first", "last"),
    [
        # last Sunday of March: 23 hours, from 00:00 CET (23:00 UTC) to 23:59 CEST (21:59 UTC)
        (date(2026, 3, 29), utc(2026, 3, 28, 23), utc(2026, 3, 29, 21, 59)),
        # last Sunday of October: 25 hours, from 00:00 CEST (22:00 UTC) to 23:59 CET (22:59 UTC)
        (date(2026, 10, 25), utc(2026, 10, 24, 22), utc(2026, 10, 25, 22, 59)),
    ],
)
def test_the_dst_change_days_as_a_one_day_period(change_day: date, first: datetime, last: datetime):
    before, after = first - timedelta(minutes=1), last + timedelta(minutes=1)
    moments = [before, first, last, after]
    facts = CitizenFacts(
        "1",
        [p(date(2025, 6, 1), None, JP)],
        activity=moments,
        joblogs=[JoblogFact(f"j{i}", t) for i, t in enumerate(moments)],
        notices=[NoticeFact(t, t) for t in moments],
    )
    one_day = Criteria("101", change_day, change_day, None, False, date(2026, 12, 1))
    row = select_row(facts, one_day)
    assert row is not None
    assert (row.antal_joblogs, row.antal_adviseringer) == (2, 2)  # first and last, not the others
    assert row.seneste_aktivitet == row.seneste_advisering == change_day
    assert row.dage_uden_aktivitet == 0
    # the day before ends with `before`, the day after begins with `after`
    day_before = Criteria("101", change_day - timedelta(days=1), change_day - timedelta(days=1),
                          None, False, date(2026, 12, 1))  # fmt: skip
    row = select_row(facts, day_before)
    assert row is not None and (row.antal_joblogs, row.antal_adviseringer) == (1, 1)
    # a notice issued on the change day counts in an extraction made that day
    made_that_day = Criteria("101", change_day, change_day, None, False, change_day)
    row = select_row(
        CitizenFacts("1", [p(date(2025, 6, 1), None, JP)], notices=[NoticeFact(last, last)]),
        made_that_day,
    )
    assert row is not None and row.antal_adviseringer == 1


def test_seneste_aktivitet_may_be_before_the_period() -> None:
    facts = CitizenFacts(
        "1", [p(date(2025, 6, 1), None, JP)], activity=[utc(2025, 12, 11), utc(2026, 2, 3)]
    )
    row = select_row(facts, january())
    assert row is not None
    assert row.cells()[3:6] == ("0", "2025-12-11", "51")


def test_joblogs_count_creation_once_and_not_when_deleted() -> None:
    facts = CitizenFacts(
        "1",
        [p(date(2025, 6, 1), None, JP)],
        joblogs=[
            JoblogFact("a", utc(2026, 1, 5)),
            JoblogFact("a", utc(2026, 1, 5)),  # given twice: one joblog
            JoblogFact("b", utc(2025, 12, 5)),  # created before, edited in the period: out
            JoblogFact("c", utc(2026, 1, 6), slettet=utc(2026, 2, 1)),  # deleted: out
            JoblogFact("d", utc(2026, 1, 7), slettet=utc(2026, 3, 11)),  # deleted after today: in
        ],
        activity=[utc(2026, 1, 5), utc(2026, 1, 20)],
    )
    row = select_row(facts, january())
    assert row is not None and row.antal_joblogs == 2
    # on 31 January (an auditor's as-of day) c was not deleted yet
    row = select_row(facts, january(today=JAN31))
    assert row is not None and row.antal_joblogs == 3


@pytest.mark.parametrize(
    ("slettet", "counted"),
    [
        (utc(2026, 3, 10, 0, 0), False),  # today, 01:00 in Copenhagen: deleted today
        (utc(2026, 3, 10, 22, 59), False),  # today, 23:59 in Copenhagen: still today
        (utc(2026, 3, 10, 23, 0), True),  # tomorrow, 00:00 in Copenhagen: not yet deleted
        (utc(2026, 3, 9, 22, 59), False),  # yesterday, 23:59 in Copenhagen
    ],
)
def test_a_joblog_deleted_today_is_out_and_one_deleted_tomorrow_in(slettet, counted) -> None:
    """The exact day of a deletion, in Copenhagen time, against `today` (10 March)."""
    assert date(2026, 3, 10) == TODAY
    facts = CitizenFacts(
        "1", [p(date(2025, 6, 1), None, JP)], joblogs=[JoblogFact("a", utc(2026, 1, 5), slettet)]
    )
    row = select_row(facts, january())
    assert row is not None and row.antal_joblogs == (1 if counted else 0)


def test_a_period_reaching_beyond_today_ends_today() -> None:
    facts = CitizenFacts(
        "1",
        [p(date(2025, 6, 1), None, JP)],
        activity=[utc(2026, 1, 10), utc(2026, 1, 25)],
        joblogs=[JoblogFact("a", utc(2026, 1, 10)), JoblogFact("b", utc(2026, 1, 25))],
    )
    row = select_row(facts, january(today=date(2026, 1, 20)))  # an auditor on 20 January
    assert row is not None
    assert row.cells()[3:6] == ("1", "2026-01-10", "10")


# --- dage_uden_aktivitet without any activity ---------------------------------------------------


def test_no_activity_counts_from_the_start_of_the_duty_stretch() -> None:
    since_jan5 = CitizenFacts("1", [p(date(2026, 1, 5), None, JP)])
    adjacent = CitizenFacts(  # dagpenge then jobparat without a gap: one stretch
        "2", [p(date(2025, 12, 1), date(2026, 1, 5), DP), p(date(2026, 1, 5), None, JP)]
    )
    after_ingen = CitizenFacts(
        "3",
        [
            p(date(2025, 10, 1), date(2025, 12, 1), JP),
            p(date(2025, 12, 1), date(2026, 1, 10), INGEN),
            p(date(2026, 1, 10), None, JP),
        ],
    )
    after_gap = CitizenFacts(
        "4", [p(date(2025, 10, 1), date(2025, 12, 1), JP), p(date(2026, 1, 21), None, JP)]
    )
    citizens = [since_jan5, adjacent, after_ingen, after_gap]
    got = {r.cpr: r.dage_uden_aktivitet for r in rows(citizens, january())}
    assert got == {"1": 26, "2": 61, "3": 21, "4": 10}


def test_no_activity_and_no_duty_at_the_end_of_the_period_is_empty() -> None:
    # held jobparat in January, ingen at the end of January, jobparat again today
    facts = CitizenFacts(
        "1",
        [
            p(date(2026, 1, 1), date(2026, 1, 20), JP),
            p(date(2026, 1, 20), date(2026, 2, 10), INGEN),
            p(date(2026, 2, 10), None, JP),
        ],
    )
    row = select_row(facts, january())
    assert row is not None
    assert row.cells() == ("1", "jobparat_kontanthjaelp", "nej", "0", "", "", "0", "")


# --- criteria -----------------------------------------------------------------------------------


def test_header_and_cells() -> None:
    assert HEADER == (
        "cpr", "maalgruppe", "fritaget", "antal_joblogs", "seneste_aktivitet",
        "dage_uden_aktivitet", "antal_adviseringer", "seneste_advisering",
    )  # fmt: skip
    row = Row("0101901234", DP, True, 4, date(2026, 1, 3), 28, 1, date(2025, 12, 2))
    assert row.cells() == (
        "0101901234", "dagpenge", "ja", "4", "2026-01-03", "28", "1", "2025-12-02",
    )  # fmt: skip
    assert len(row.cells()) == len(HEADER)


def test_criteria_parse() -> None:
    c = Criteria.parse("101", "2026-01-01", "2026-01-31", "dagpenge", True, TODAY)
    assert c == Criteria("101", JAN1, JAN31, DP, True, TODAY)
    assert c.historical and c.days == 31 and c.end == JAN31
    assert Criteria.parse("101", "2026-01-01", "2026-01-31", None, False, TODAY).maalgruppe is None
    assert Criteria.parse("101", "2026-01-01", "2026-01-31", "", False, TODAY).maalgruppe is None


@pytest.mark.parametrize(
    ("fra", "til", "maalgruppe", "field", "words"),
    [
        ("2026-13-01", "2026-01-31", None, "fra", "YYYY-MM-DD"),
        ("20260101", "2026-01-31", None, "fra", "YYYY-MM-DD"),
        ("2026-01-01", "31-01-2026", None, "til", "YYYY-MM-DD"),
        ("2026-01-01", "", None, "til", "YYYY-MM-DD"),
        ("2026-01-01", "2026-01-31", "kontanthjaelp", "maalgruppe", "jobparat_kontanthjaelp"),
    ],
)
def test_criteria_parse_errors(
    fra: str, til: str, maalgruppe: str | None, field: str, words: str
) -> None:
    with pytest.raises(CriteriaError) as caught:
        Criteria.parse("101", fra, til, maalgruppe, False, TODAY)
    assert caught.value.field == field
    assert words in caught.value.message


def test_unknown_maalgruppe_lists_the_valid_values() -> None:
    with pytest.raises(CriteriaError) as caught:
        Criteria.parse("101", "2026-01-01", "2026-01-31", "foo", False, TODAY)
    for group in Maalgruppe:
        assert (group.value in caught.value.message) is group.has_duty


@pytest.mark.parametrize(
    ("criteria", "field", "words"),
    [
        (Criteria("101", JAN31, JAN1, None, False, TODAY), "fra", "after til"),
        (Criteria("102", JAN1, JAN31, None, False, TODAY), "kommunekode", "98"),
        (Criteria("101", JAN1, date(2026, 4, 1), None, False, TODAY), "til", "91 days"),
        (Criteria("101", JAN1, JAN31, INGEN, False, TODAY), "maalgruppe", "no duty"),
        (Criteria("101", date(2026, 4, 1), date(2026, 4, 2), None, False, TODAY), "fra", "today"),
    ],
)
def test_criteria_validation(criteria: Criteria, field: str, words: str) -> None:
    with pytest.raises(CriteriaError) as caught:
        criteria.validate(max_days=90)
    assert caught.value.field == field
    assert words in caught.value.message


def test_criteria_validation_accepts() -> None:
    Criteria("101", JAN1, date(2026, 3, 31), None, False, TODAY).validate(max_days=90)  # 90 days
    Criteria("101", JAN1, JAN1, DP, True, TODAY).validate(max_days=1)
    Criteria("101", TODAY, date(2026, 4, 30), None, False, TODAY).validate(max_days=366)


def test_a_400_day_period_across_29_february() -> None:
    """The limit counts days with both ends included (`Criteria.days`), and a period of exactly
    `max_days` is accepted: 1 January 2028 to 3 February 2029 is 400 days with 29 February
    2028 among them; one day more is refused."""
    fra, til = date(2028, 1, 1), date(2029, 2, 3)
    today = date(2029, 3, 1)
    exact = Criteria("101", fra, til, None, False, today)
    assert exact.days == 400 == (til - fra).days + 1
    exact.validate(max_days=400)
    one_more = Criteria("101", fra, til + timedelta(days=1), None, False, today)
    with pytest.raises(CriteriaError) as caught:
        one_more.validate(max_days=400)
    assert caught.value.field == "til"
    assert "401 days; at most 400" in caught.value.message
    # the same calendar span without a leap day is a day shorter
    assert Criteria("101", date(2026, 1, 1), date(2027, 2, 3), None, False, today).days == 399
    # counted across the leap day: a joblog created on 29 February 2028 counts
    facts = CitizenFacts(
        "1",
        [p(date(2027, 6, 1), None, DP)],
        activity=[utc(2028, 2, 29)],
        joblogs=[JoblogFact("leap", utc(2028, 2, 29))],
    )
    row = select_row(facts, exact)
    assert row is not None
    assert (row.antal_joblogs, row.seneste_aktivitet) == (1, date(2028, 2, 29))
    assert row.dage_uden_aktivitet == (til - date(2028, 2, 29)).days == 340


# --- against a naive day-by-day oracle ------------------------------------------------------------

CPH = ZoneInfo("Europe/Copenhagen")
BASE = date(2026, 1, 1)
GROUPS = list(Maalgruppe)


def local_day(moment: datetime) -> date:
    return moment.astimezone(CPH).date()


def each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def oracle_status(periods: list[Period], day: date) -> Period | None:
    for period in periods:
        if period.fra <= day and (period.til is None or day < period.til):
            return period
    return None


def oracle(facts: CitizenFacts, c: Criteria) -> tuple[str, ...] | None:
    now = oracle_status(facts.periods, c.today)
    if now is None or now.jobcenter != c.kommunekode:
        return None
    if c.maalgruppe is None and now.maalgruppe is Maalgruppe.INGEN:
        return None
    if c.maalgruppe is not None and now.maalgruppe != c.maalgruppe:
        return None
    group = now.maalgruppe
    if c.til < c.today:
        held = [
            d for d in each_day(c.fra, c.til)
            if (s := oracle_status(facts.periods, d)) is not None and s.maalgruppe == group
        ]  # fmt: skip
        if not held:
            return None
    end = min(c.til, c.today)
    period_days = each_day(c.fra, end)

    issued = [n for n in facts.notices if local_day(n.udstedt) <= c.today]
    antal_adv = sum(1 for day in period_days for n in issued if local_day(n.forfaldt) == day)
    if c.kun_adviserede and antal_adv == 0:
        return None
    notice_days = [local_day(n.forfaldt) for n in issued if local_day(n.forfaldt) <= end]
    seneste_adv = max(notice_days).isoformat() if notice_days else ""

    alive = [j for j in facts.joblogs if j.slettet is None or local_day(j.slettet) > c.today]
    antal_joblogs = sum(1 for day in period_days for j in alive if local_day(j.oprettet) == day)

    activity_days = [local_day(a) for a in facts.activity if local_day(a) <= end]
    if activity_days:
        seneste = max(activity_days).isoformat()
        dage = str((end - max(activity_days)).days)
    else:
        seneste = ""
        day, count = end, None
        while (s := oracle_status(facts.periods, day)) is not None and s.maalgruppe.has_duty:
            count = (end - day).days
            day -= timedelta(days=1)
        dage = "" if count is None else str(count)

    fritaget = any(e.fra <= end and (e.til is None or end < e.til) for e in facts.exemptions)
    return (
        facts.cpr, group.value, "ja" if fritaget else "nej", str(antal_joblogs), seneste, dage,
        str(antal_adv), seneste_adv,
    )  # fmt: skip


@st.composite
def timelines(draw: st.DrawFn) -> list[Period]:
    periods: list[Period] = []
    day = BASE - timedelta(days=draw(st.integers(0, 20)))
    for _ in range(draw(st.integers(0, 5))):
        day += timedelta(days=draw(st.sampled_from([0, 0, 0, 1, 5])))  # mostly adjacent
        length = draw(st.integers(1, 12))
        group = draw(st.sampled_from(GROUPS))
        jobcenter = draw(st.sampled_from(["101", "101", "147"]))
        periods.append(Period(day, day + timedelta(days=length), group, jobcenter, None))
        day += timedelta(days=length)
    open_ended: bool = draw(st.booleans())
    if periods and open_ended:
        last = periods[-1]
        periods[-1] = Period(last.fra, None, last.maalgruppe, last.jobcenter, None)
    return periods


MINUTES = [0, 60, 12 * 60, 21 * 60 + 59, 22 * 60, 22 * 60 + 59, 23 * 60 + 30]  # UTC


def moments(c: Criteria) -> st.SearchStrategy[datetime]:
    """Moments anywhere, or (often) around the days the criteria turn on."""
    key_days = [c.fra, c.til, c.today]
    near = st.sampled_from(key_days).flatmap(
        lambda d: st.sampled_from([d - timedelta(days=1), d, d + timedelta(days=1)])
    )
    days = st.builds(lambda n: BASE + timedelta(days=n), st.integers(-20, 60)) | near
    return st.builds(
        lambda d, minute: datetime.combine(d, datetime.min.time(), UTC) + timedelta(minutes=minute),
        days,
        st.sampled_from(MINUTES),
    )


@st.composite
def citizens(draw: st.DrawFn, c: Criteria) -> CitizenFacts:
    moment = moments(c)
    exemptions = [
        exemption(BASE + timedelta(days=f), None if n is None else BASE + timedelta(days=f + n))
        for f, n in draw(st.lists(st.tuples(st.integers(-20, 50), st.none() | st.integers(1, 20)),
                                  max_size=2))
    ]  # fmt: skip
    joblogs = [
        JoblogFact(f"j{i}", created, draw(st.none() | moment))
        for i, created in enumerate(draw(st.lists(moment, max_size=6)))
    ]
    notices = [
        NoticeFact(due, due + timedelta(hours=draw(st.sampled_from([0, 1, 30, 100]))))
        for due in draw(st.lists(moment, max_size=4))
    ]
    return CitizenFacts(
        cpr=draw(st.sampled_from(["0101901111", "0202902222", "0303903333"])),
        periods=draw(timelines()),
        exemptions=exemptions,
        activity=draw(st.lists(moment, max_size=5)),
        joblogs=joblogs,
        notices=notices,
    )


@st.composite
def criterias(draw: st.DrawFn) -> Criteria:
    fra = BASE + timedelta(days=draw(st.integers(-10, 40)))
    til = fra + timedelta(days=draw(st.integers(0, 20)))
    today = fra + timedelta(days=draw(st.integers(0, 40)))
    group = draw(st.none() | st.sampled_from([g for g in GROUPS if g.has_duty]))
    return Criteria("101", fra, til, group, draw(st.booleans()), today)


@st.composite
def extractions(draw: st.DrawFn) -> tuple[list[CitizenFacts], Criteria]:
    criteria = draw(criterias())
    return draw(st.lists(citizens(criteria), max_size=4)), criteria


@settings(max_examples=500, deadline=None)
@given(extractions())
def test_rows_match_a_day_by_day_oracle(extraction: tuple[list[CitizenFacts], Criteria]) -> None:
    facts, criteria = extraction
    criteria.validate(max_days=366)
    expected = [cells for f in facts if (cells := oracle(f, criteria)) is not None]
    assert [row.cells() for row in rows(facts, criteria)] == expected


# -- the monthly duty's column (maanedlig=true, issue 21 A.3) ----------------------------------

COVERED_BY_LAW = {"jobparat_kontanthjaelp", "aabenlyst_uddannelsesparat", "overgangsydelse",
                  "selvforsoergelses_hjemrejseydelse"}  # fmt: skip


def oracle_months(facts: CitizenFacts, c: Criteria) -> int:
    """Day by day, from the law's words: each calendar month lying wholly in the period and
    over before today, in which every day had a covered målgruppe and no fritagelse, and no
    joblog was created on any of its (Copenhagen) days."""
    last = min(c.end, c.today - timedelta(days=1))
    created_days = {local_day(j.oprettet) for j in facts.joblogs}
    missed = 0
    first = date(c.fra.year, c.fra.month, 1)
    while first <= last:
        following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
        days = each_day(first, following - timedelta(days=1))
        if first >= c.fra and days[-1] <= last:
            duty = all(
                (s := oracle_status(facts.periods, d)) is not None
                and s.maalgruppe.value in COVERED_BY_LAW
                and not any(e.fra <= d and (e.til is None or d < e.til) for e in facts.exemptions)
                for d in days
            )
            if duty and not created_days & set(days):
                missed += 1
        first = following
    return missed


@st.composite
def long_timelines(draw: st.DrawFn) -> list[Period]:
    """Months-long stretches, starting on or near a month's first day."""
    periods: list[Period] = []
    day = BASE + timedelta(days=draw(st.sampled_from([0, 0, 1, 14])))
    for _ in range(draw(st.integers(1, 4))):
        length = draw(st.sampled_from([27, 28, 31, 45, 59, 90]))
        group = draw(st.sampled_from(GROUPS))
        periods.append(Period(day, day + timedelta(days=length), group, "101", None))
        day += timedelta(days=length + draw(st.sampled_from([0, 0, 0, 1])))
    last = periods[-1]
    periods[-1] = Period(last.fra, None, last.maalgruppe, last.jobcenter, None)
    return periods


@st.composite
def monthly_extractions(draw: st.DrawFn) -> tuple[CitizenFacts, Criteria]:
    fra = BASE + timedelta(days=draw(st.sampled_from([0, 0, 1, 31, 40])))
    til = fra + timedelta(days=draw(st.integers(20, 200)))
    today = til + timedelta(days=draw(st.sampled_from([-30, -1, 0, 1, 5])))
    today = max(today, fra)
    created = draw(
        st.lists(st.builds(lambda n, h: datetime.combine(BASE, datetime.min.time(), UTC)
                           + timedelta(days=n, hours=h),
                           st.integers(-5, 220), st.sampled_from([0, 11, 22, 23])), max_size=5)
    )  # fmt: skip
    exemptions = [
        exemption(BASE + timedelta(days=f), BASE + timedelta(days=f + n))
        for f, n in draw(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 10)), max_size=1))
    ]
    facts = CitizenFacts(
        cpr="0101901111",
        periods=draw(long_timelines()),
        exemptions=exemptions,
        joblogs=[JoblogFact(f"j{i}", at) for i, at in enumerate(created)],
    )
    return facts, Criteria("101", fra, til, None, False, today, maanedlig=True)


@settings(max_examples=400, deadline=None)
@given(monthly_extractions())
def test_months_without_registration_match_a_day_by_day_oracle(
    extraction: tuple[CitizenFacts, Criteria],
) -> None:
    facts, criteria = extraction
    row = select_row(facts, criteria)
    if row is None:
        return
    assert row.maaneder_uden_registrering == oracle_months(facts, criteria)
    assert len(row.cells()) == len(criteria.header) == 9
    assert criteria.header[-1] == "maaneder_uden_registrering"


def test_the_monthly_column_is_only_there_when_asked_for() -> None:
    facts = CitizenFacts("1", [p(date(2025, 6, 1), None, JP)])
    plain = select_row(facts, january())
    assert plain is not None and plain.maaneder_uden_registrering is None
    assert len(plain.cells()) == len(HEADER) == 8
    asked = Criteria("101", JAN1, JAN31, None, False, TODAY, maanedlig=True)
    row = select_row(facts, asked)
    assert row is not None and row.maaneder_uden_registrering == 1  # January, nothing created
    with_one = CitizenFacts("1", facts.periods, joblogs=[JoblogFact("a", utc(2026, 1, 20))])
    assert select_row(with_one, asked).maaneder_uden_registrering == 0  # type: ignore[union-attr]
    running = Criteria("101", date(2026, 3, 1), date(2026, 3, 31), None, False, TODAY, True)
    assert select_row(facts, running).maaneder_uden_registrering == 0  # type: ignore[union-attr]
