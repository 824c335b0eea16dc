"""The 30-day rule (services/notifier/advisering.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifier.advisering import (
    ADVISERING_DAYS,
    DueNotice,
    add_local_days,
    due_notices,
    duty_starts,
    next_due,
    notice_id,
)
from shared.contract.citizen import ExemptionPeriod, Maalgruppe, Period, StatusMessage, timeline
from shared.contract.tid import COPENHAGEN, day_of, start_of_day
from shared.platform.settings import Settings

CPR = "0101901234"
T0 = datetime(2025, 12, 1, tzinfo=UTC)  # when status messages are sent (their tidspunkt)


def cph(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """A Copenhagen wall-clock time (fold=0) as aware UTC."""
    return datetime(y, m, d, h, mi, tzinfo=COPENHAGEN).astimezone(UTC)


def status(
    fra: date,
    til: date | None = None,
    maalgruppe: str = "dagpenge",
    jobcenter: str = "101",
    sent: datetime = T0,
) -> StatusMessage:
    return StatusMessage(
        messageId=uuid4(),
        cpr=CPR,
        jobcenter=jobcenter,
        akasseNr="067",
        maalgruppe=Maalgruppe(maalgruppe),
        gyldigFra=fra,
        gyldigTil=til,
        tidspunkt=sent,
    )


def duty_from(fra: date, til: date | None = None) -> list[Period]:
    return timeline([status(fra, til)])


def exemption(fra: date, til: date | None) -> ExemptionPeriod:
    return ExemptionPeriod(uuid4(), fra, til, "101", "sygdom", None)


def local(moment: datetime) -> datetime:
    return moment.astimezone(COPENHAGEN)


def hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


# --- the basic rule --------------------------------------------------------------------------


def test_no_activity_for_30_days_gives_one_pair_at_exactly_30_days() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 1, 10, 10, 15)
    due = next_due(periods, [], activity, None)
    assert due == cph(2026, 2, 9, 10, 15)
    assert due is not None

    before, upcoming = due_notices(CPR, periods, [], activity, None, due - timedelta(seconds=1))
    assert before == []
    assert upcoming == due

    notices, after = due_notices(CPR, periods, [], activity, None, due)
    assert [n.modtager for n in notices] == ["borger", "jobcenter"]
    for notice in notices:
        assert notice.forfaldt == due
        assert notice.udstedt == due
        assert notice.cpr == CPR
        assert notice.jobcenter == "101"
        assert notice.maalgruppe == "dagpenge"
        assert notice.senesteAktivitet == activity
        assert notice.dageUdenAktivitet == ADVISERING_DAYS
    assert after == cph(2026, 3, 11, 10, 15)


def test_the_setting_defaults_to_the_rules_30_days() -> None:
    """JOBLOG_ADVISERING_DAYS repeats the rule's number (shared/ imports no service)."""
    assert Settings.model_fields["advisering_days"].default == ADVISERING_DAYS == 30


def test_no_activity_ever_counts_from_the_start_of_the_duty() -> None:
    periods = duty_from(date(2026, 1, 5))
    assert next_due(periods, [], None, None) == cph(2026, 2, 4)
    notices, _ = due_notices(CPR, periods, [], None, None, cph(2026, 2, 4))
    assert len(notices) == 2
    assert all(n.senesteAktivitet is None for n in notices)
    assert notices[0].payload()["senesteAktivitet"] is None


def test_activity_before_the_duty_starts_does_not_count() -> None:
    periods = duty_from(date(2026, 1, 5))
    assert next_due(periods, [], cph(2025, 11, 1, 9), None) == cph(2026, 2, 4)


def test_activity_on_day_29_moves_the_due_time() -> None:
    periods = duty_from(date(2026, 1, 5))
    first = cph(2026, 1, 10, 10)
    day_29 = cph(2026, 2, 8, 14, 5)
    assert next_due(periods, [], day_29, None) == cph(2026, 3, 10, 14, 5)
    # at the old due time nothing is due any more
    notices, upcoming = due_notices(CPR, periods, [], day_29, None, cph(2026, 2, 9, 10))
    assert notices == []
    assert upcoming == cph(2026, 3, 10, 14, 5)
    assert next_due(periods, [], first, None) == cph(2026, 2, 9, 10)


def test_no_status_at_all_gives_no_due_time() -> None:
    assert next_due([], [], cph(2026, 1, 10), None) is None
    assert due_notices(CPR, [], [], None, None, cph(2027, 1, 1)) == ([], None)


# --- exemptions ------------------------------------------------------------------------------


def test_exemption_starting_inside_window_gives_no_notice() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 1, 10, 10)
    exemptions = [exemption(date(2026, 1, 25), None)]
    assert next_due(periods, exemptions, activity, None) is None
    assert due_notices(CPR, periods, exemptions, activity, None, cph(2026, 6, 1)) == ([], None)


def test_exemption_covering_only_the_due_day_gives_no_notice_then() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 1, 10, 10)
    exemptions = [exemption(date(2026, 2, 9), date(2026, 2, 10))]
    # the duty resumes on 10 February: 30 days from the start of that day
    assert next_due(periods, exemptions, activity, None) == cph(2026, 3, 12)
    notices, _ = due_notices(CPR, periods, exemptions, activity, None, cph(2026, 2, 9, 12))
    assert notices == []


def test_exemption_ending_inside_window_due_30_days_after_its_end() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 1, 10, 10)
    exemptions = [exemption(date(2026, 1, 20), date(2026, 2, 1))]
    due = next_due(periods, exemptions, activity, None)
    assert due == start_of_day(date(2026, 2, 1)) + timedelta(days=30)
    assert due == cph(2026, 3, 3)
    notices, _ = due_notices(CPR, periods, exemptions, activity, None, cph(2026, 3, 3))
    assert len(notices) == 2
    assert notices[0].dageUdenAktivitet == 30


def test_activity_after_the_exemption_ends_wins_over_its_end() -> None:
    periods = duty_from(date(2026, 1, 5))
    exemptions = [exemption(date(2026, 1, 20), date(2026, 2, 1))]
    activity = cph(2026, 2, 3, 8)
    assert next_due(periods, exemptions, activity, None) == cph(2026, 3, 5, 8)


def test_activity_during_an_exemption_counts_from_its_end() -> None:
    periods = duty_from(date(2026, 1, 5))
    exemptions = [exemption(date(2026, 1, 20), date(2026, 2, 1))]
    activity = cph(2026, 1, 25, 8)
    assert next_due(periods, exemptions, activity, None) == cph(2026, 3, 3)


# --- status changes --------------------------------------------------------------------------


def test_duty_ends_with_ingen_before_due_gives_no_notice() -> None:
    periods = timeline(
        [status(date(2026, 1, 5), date(2026, 2, 1)), status(date(2026, 2, 1), None, "ingen")]
    )
    activity = cph(2026, 1, 10, 10)
    assert next_due(periods, [], activity, None) is None
    assert due_notices(CPR, periods, [], activity, None, cph(2026, 12, 1)) == ([], None)


def test_duty_ends_with_the_timeline_before_due_gives_no_notice() -> None:
    periods = duty_from(date(2026, 1, 5), date(2026, 2, 1))
    assert next_due(periods, [], cph(2026, 1, 10, 10), None) is None


def test_duty_resumes_after_ingen_counts_from_the_resumption() -> None:
    periods = timeline(
        [
            status(date(2026, 1, 5), date(2026, 2, 1)),
            status(date(2026, 2, 1), date(2026, 4, 1), "ingen"),
            status(date(2026, 4, 1), None, "jobparat_kontanthjaelp", "147"),
        ]
    )
    due = next_due(periods, [], cph(2026, 1, 10, 10), None)
    assert due == cph(2026, 5, 1)
    notices, _ = due_notices(CPR, periods, [], cph(2026, 1, 10, 10), None, cph(2026, 5, 1))
    assert {(n.jobcenter, n.maalgruppe) for n in notices} == {("147", "jobparat_kontanthjaelp")}


def test_change_between_duty_groups_does_not_restart_the_clock() -> None:
    periods = timeline(
        [
            status(date(2026, 1, 5), date(2026, 1, 20)),
            status(date(2026, 1, 20), None, "ledighedsydelse", "147"),
        ]
    )
    activity = cph(2026, 1, 10, 10)
    assert next_due(periods, [], activity, None) == cph(2026, 2, 9, 10)
    notices, _ = due_notices(CPR, periods, [], activity, None, cph(2026, 2, 9, 10))
    # jobcenter and målgruppe as they are on the due day
    assert {(n.jobcenter, n.maalgruppe) for n in notices} == {("147", "ledighedsydelse")}


def test_status_correction_of_the_past() -> None:
    activity = cph(2026, 1, 10, 10)
    original = status(date(2026, 1, 5), None, sent=datetime(2026, 1, 5, tzinfo=UTC))
    # later the jobcenter corrects: the citizen had no duty until 15 February
    correction = status(
        date(2026, 1, 1), date(2026, 2, 15), "ingen", sent=datetime(2026, 2, 20, tzinfo=UTC)
    )
    assert next_due(timeline([original]), [], activity, None) == cph(2026, 2, 9, 10)
    corrected = timeline([correction, original])  # applied in order of tidspunkt
    assert next_due(corrected, [], activity, None) == cph(2026, 3, 17)

    # and the other way: a correction that gives the duty from earlier on
    none_at_first = status(date(2026, 1, 1), None, "ingen", sent=datetime(2026, 1, 1, tzinfo=UTC))
    duty_after_all = status(date(2026, 1, 5), None, sent=datetime(2026, 3, 1, tzinfo=UTC))
    assert next_due(timeline([none_at_first]), [], activity, None) is None
    assert next_due(timeline([none_at_first, duty_after_all]), [], activity, None) == cph(
        2026, 2, 9, 10
    )


def test_correction_after_a_notice_never_repeats_the_notified_due_time() -> None:
    activity = cph(2026, 1, 10, 10)
    first_due = cph(2026, 2, 9, 10)
    original = status(date(2026, 1, 5), None, sent=datetime(2026, 1, 5, tzinfo=UTC))
    correction = status(
        date(2026, 1, 1), date(2026, 1, 20), "ingen", sent=datetime(2026, 2, 20, tzinfo=UTC)
    )
    periods = timeline([original, correction])
    # per the corrected timeline the first due time would be 19 February 00:00; the notice of
    # 9 February restarted the clock, so the next one is 30 days after it
    assert next_due(periods, [], activity, None) == cph(2026, 2, 19)
    assert next_due(periods, [], activity, first_due) == cph(2026, 3, 11, 10)


def test_days_without_activity_count_from_the_later_of_activity_and_duty_start() -> None:
    periods = duty_from(date(2026, 1, 5))
    # activity before the duty: counted from the first day of the duty
    notices, _ = due_notices(CPR, periods, [], cph(2025, 12, 1, 9), None, cph(2026, 3, 6))
    assert [n.dageUdenAktivitet for n in notices] == [30, 30, 60, 60]
    assert notices[0].forfaldt == cph(2026, 2, 4)
    # an exemption ended after the last activity: counted from its end, also for the repeat
    exemptions = [exemption(date(2026, 1, 20), date(2026, 2, 1))]
    activity = cph(2026, 1, 10, 10)
    notices, _ = due_notices(CPR, periods, exemptions, activity, None, cph(2026, 4, 2))
    assert [n.forfaldt for n in notices[::2]] == [cph(2026, 3, 3), cph(2026, 4, 2)]
    assert [n.dageUdenAktivitet for n in notices[::2]] == [30, 60]
    # the repeat pair computed after a restart (from lastNotifiedDue) says the same
    again, _ = due_notices(CPR, periods, exemptions, activity, cph(2026, 3, 3), cph(2026, 4, 2))
    assert [n.dageUdenAktivitet for n in again] == [60, 60]


def test_days_without_activity_across_dst_are_calendar_days() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 3, 10, 23, 30)  # CET; the due time is in CEST
    notices, _ = due_notices(CPR, periods, [], activity, None, cph(2026, 5, 10))
    assert [n.dageUdenAktivitet for n in notices[::2]] == [30, 60]


# --- repeats, catch-up, idempotence ----------------------------------------------------------


def test_repeat_after_another_30_days() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 1, 10, 10)
    first, second = cph(2026, 2, 9, 10), cph(2026, 3, 11, 10)
    notices, upcoming = due_notices(CPR, periods, [], activity, first, second)
    assert [n.modtager for n in notices] == ["borger", "jobcenter"]
    assert all(n.forfaldt == second for n in notices)
    assert all(n.senesteAktivitet == activity for n in notices)
    # 10 January to 11 March: the days without activity go on counting across the first notice
    assert all(n.dageUdenAktivitet == 60 for n in notices)
    assert upcoming == cph(2026, 4, 10, 10)


def test_catch_up_after_downtime_gives_one_pair_per_passed_due_time() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 1, 10, 10)
    now = cph(2026, 4, 15, 12)
    notices, upcoming = due_notices(CPR, periods, [], activity, None, now)
    dues = [cph(2026, 2, 9, 10), cph(2026, 3, 11, 10), cph(2026, 4, 10, 10)]
    assert [n.forfaldt for n in notices] == [d for d in dues for _ in range(2)]
    assert [n.modtager for n in notices] == ["borger", "jobcenter"] * 3
    assert [n.dageUdenAktivitet for n in notices] == [30, 30, 60, 60, 90, 90]
    assert all(n.udstedt == now for n in notices)
    assert len({n.noticeId for n in notices}) == 6
    assert upcoming == cph(2026, 5, 10, 10)


def test_idempotence_last_notified_due_gives_no_duplicates() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 1, 10, 10)
    due = cph(2026, 2, 9, 10)
    notices, _ = due_notices(CPR, periods, [], activity, None, due)
    assert len(notices) == 2
    last = notices[-1].forfaldt
    for now in (due, due + timedelta(hours=1), cph(2026, 3, 11, 9, 59)):
        assert due_notices(CPR, periods, [], activity, last, now) == ([], cph(2026, 3, 11, 10))


def test_notice_ids_stable() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 1, 10, 10)
    due = cph(2026, 2, 9, 10)
    first, _ = due_notices(CPR, periods, [], activity, None, due)
    # a restart later computes the same notices again (e.g. it crashed before recording them)
    again, _ = due_notices(CPR, periods, [], activity, None, due + timedelta(minutes=5))
    assert [n.noticeId for n in first] == [n.noticeId for n in again]
    assert first[0].noticeId == notice_id(CPR, due, "borger")
    assert first[1].noticeId == notice_id(CPR, due, "jobcenter")
    assert first[0].noticeId != first[1].noticeId
    # the same instant in another zone is the same due time
    assert notice_id(CPR, local(due), "borger") == notice_id(CPR, due, "borger")
    assert notice_id("0101901235", due, "borger") != notice_id(CPR, due, "borger")
    assert notice_id(CPR, due + timedelta(seconds=1), "borger") != notice_id(CPR, due, "borger")
    # pinned: the id scheme must never change, or a restart would resend
    assert notice_id(CPR, due, "borger") == UUID("41d60db4-fddb-5920-9d88-cf361a819cf5")


def test_payload_matches_the_contract() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 1, 10, 10, 15)
    due = cph(2026, 2, 9, 10, 15)
    notices, _ = due_notices(CPR, periods, [], activity, None, due + timedelta(minutes=1))
    payload = notices[1].payload()
    assert payload == {
        "noticeId": str(notice_id(CPR, due, "jobcenter")),
        "modtager": "jobcenter",
        "cpr": CPR,
        "jobcenter": "101",
        "maalgruppe": "dagpenge",
        "senesteAktivitet": "2026-01-10T10:15:00+01:00",
        "dageUdenAktivitet": 30,
        "forfaldt": "2026-02-09T10:15:00+01:00",
        "udstedt": "2026-02-09T10:16:00+01:00",
    }
    assert isinstance(notices[1], DueNotice)


# --- time of day, days and DST ---------------------------------------------------------------


def test_day_boundary_in_copenhagen_activity_2330_local() -> None:
    # 23:30 in Copenhagen on 10 June is 21:30 UTC: the activity's day is 10 June
    activity = cph(2026, 6, 10, 23, 30)
    assert activity == datetime(2026, 6, 10, 21, 30, tzinfo=UTC)
    due = cph(2026, 7, 10, 23, 30)
    # the duty ends at the start of 11 July (Copenhagen): 10 July still has it
    assert next_due(duty_from(date(2026, 6, 1), date(2026, 7, 11)), [], activity, None) == due
    # ends at the start of 10 July: the due day (10 July in Copenhagen, although in UTC the due
    # instant is still 9 July) has no duty
    assert next_due(duty_from(date(2026, 6, 1), date(2026, 7, 10)), [], activity, None) is None
    notices, _ = due_notices(
        CPR, duty_from(date(2026, 6, 1), date(2026, 7, 11)), [], activity, None, due
    )
    assert notices[0].dageUdenAktivitet == 30
    assert day_of(notices[0].forfaldt) == date(2026, 7, 10)


def test_day_boundary_in_copenhagen_activity_0030_local() -> None:
    # 00:30 on 11 January in Copenhagen is 23:30 UTC on 10 January
    activity = cph(2026, 1, 11, 0, 30)
    assert activity.date() == date(2026, 1, 10)
    assert next_due(duty_from(date(2026, 1, 5)), [], activity, None) == cph(2026, 2, 10, 0, 30)


def test_dst_spring_forward_keeps_wall_clock_time_719_hours() -> None:
    activity = cph(2026, 3, 10, 10)  # CET
    due = next_due(duty_from(date(2026, 1, 5)), [], activity, None)
    assert due is not None
    assert local(due).replace(tzinfo=None) == datetime(2026, 4, 9, 10)  # CEST
    assert hours(due - activity) == 719


def test_dst_fall_back_keeps_wall_clock_time_721_hours() -> None:
    activity = cph(2026, 10, 10, 10)  # CEST
    due = next_due(duty_from(date(2026, 1, 5)), [], activity, None)
    assert due is not None
    assert local(due).replace(tzinfo=None) == datetime(2026, 11, 9, 10)  # CET
    assert hours(due - activity) == 721


def test_dst_duty_start_across_spring_forward_is_midnight() -> None:
    due = next_due(duty_from(date(2026, 3, 15)), [], None, None)
    assert due == cph(2026, 4, 14)
    assert due is not None
    assert hours(due - start_of_day(date(2026, 3, 15))) == 719


def test_dst_nonexistent_local_time_moves_forward_by_the_gap() -> None:
    activity = cph(2026, 2, 27, 2, 30)  # 02:30 CET; 29 March 02:30 does not exist
    due = next_due(duty_from(date(2026, 1, 5)), [], activity, None)
    assert due is not None
    assert local(due).isoformat() == "2026-03-29T03:30:00+02:00"
    assert hours(due - activity) == 720


def test_dst_ambiguous_local_time_takes_the_earlier_occurrence() -> None:
    activity = cph(2026, 9, 25, 2, 30)  # 02:30 CEST; 25 October 02:30 happens twice
    due = next_due(duty_from(date(2026, 1, 5)), [], activity, None)
    assert due is not None
    assert local(due).isoformat() == "2026-10-25T02:30:00+02:00"
    assert hours(due - activity) == 720


def test_add_local_days_accepts_any_zone_and_naive_utc() -> None:
    moment = datetime(2026, 3, 10, 9, tzinfo=UTC)
    assert add_local_days(moment, 30) == add_local_days(local(moment), 30)
    assert add_local_days(moment.replace(tzinfo=None), 30) == add_local_days(moment, 30)


# --- 29 February ------------------------------------------------------------------------------


def test_a_30_day_window_across_29_february_of_a_leap_year() -> None:
    periods = duty_from(date(2028, 1, 3))
    activity = cph(2028, 2, 10, 10)
    due = next_due(periods, [], activity, None)
    # 2028 is a leap year: 10 February + 30 days is 11 March (in 2027 it would be 12 March)
    assert due == cph(2028, 3, 11, 10)
    assert next_due(duty_from(date(2027, 1, 4)), [], cph(2027, 2, 10, 10), None) == cph(
        2027, 3, 12, 10
    )
    assert due is not None and hours(due - activity) == 720
    notices, _ = due_notices(CPR, periods, [], activity, None, due)
    assert [n.dageUdenAktivitet for n in notices] == [30, 30]
    # activity on the leap day itself: due 30 March, after the change to summer time (26 March)
    leap = cph(2028, 2, 29, 9)
    due = next_due(periods, [], leap, None)
    assert due is not None and local(due).isoformat() == "2028-03-30T09:00:00+02:00"
    assert hours(due - leap) == 719


def test_a_duty_ending_on_29_february() -> None:
    # the duty starts on 30 January: the first due time is 29 February at midnight
    activity = None
    with_leap_day = duty_from(date(2028, 1, 30), date(2028, 3, 1))  # the last day is 29 February
    due = next_due(with_leap_day, [], activity, None)
    assert due == cph(2028, 2, 29) and day_of(due) == date(2028, 2, 29)
    notices, following = due_notices(CPR, with_leap_day, [], activity, None, due)
    assert [(n.modtager, n.dageUdenAktivitet) for n in notices] == [
        ("borger", 30),
        ("jobcenter", 30),
    ]
    assert following is None  # no duty 30 days later
    # the duty ends at the start of 29 February (the last day is 28 February): no notice
    assert next_due(duty_from(date(2028, 1, 30), date(2028, 2, 29)), [], activity, None) is None
    # an exemption from 29 February: no duty on the due day either
    leap_exemption = [exemption(date(2028, 2, 29), date(2028, 3, 1))]
    assert next_due(with_leap_day, leap_exemption, activity, None) is None


# --- the two DST change days: day boundaries ------------------------------------------------

SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)  # last Sundays of March and October


def test_dst_change_days_are_23_and_25_hours_long() -> None:
    assert hours(start_of_day(SPRING + timedelta(days=1)) - start_of_day(SPRING)) == 23
    assert hours(start_of_day(AUTUMN + timedelta(days=1)) - start_of_day(AUTUMN)) == 25


def test_due_on_the_dst_change_days_at_both_ends_of_the_day() -> None:
    periods = duty_from(date(2026, 1, 5))
    for change_day in (SPRING, AUTUMN):
        day0 = change_day - timedelta(days=30)
        for wall in ((0, 0), (23, 59)):  # the first and the last minute of the day
            activity = cph(day0.year, day0.month, day0.day, *wall)
            due = next_due(periods, [], activity, None)
            assert due is not None
            assert day_of(due) == change_day, (change_day, wall)
            assert local(due).replace(tzinfo=None) == datetime.combine(
                change_day, datetime.min.time()
            ).replace(hour=wall[0], minute=wall[1])
            notices, _ = due_notices(CPR, periods, [], activity, None, due)
            assert {n.dageUdenAktivitet for n in notices} == {30}
            assert {day_of(n.forfaldt) for n in notices} == {change_day}
    # the minute before midnight after the change: still the change day, not the next
    assert day_of(datetime(2026, 3, 29, 21, 59, tzinfo=UTC)) == SPRING  # 23:59 CEST
    assert day_of(datetime(2026, 3, 29, 22, 0, tzinfo=UTC)) == SPRING + timedelta(days=1)
    assert day_of(datetime(2026, 10, 25, 22, 59, tzinfo=UTC)) == AUTUMN  # 23:59 CET
    assert day_of(datetime(2026, 10, 25, 23, 0, tzinfo=UTC)) == AUTUMN + timedelta(days=1)


def test_duty_starting_or_ending_on_the_dst_change_days() -> None:
    for change_day in (SPRING, AUTUMN):
        # a duty from the change day: the clock starts at its (local) midnight
        due = next_due(duty_from(change_day), [], None, None)
        after = change_day + timedelta(days=30)
        assert due == cph(after.year, after.month, after.day)
        # a duty whose last day is the change day, 30 days after the anchor: due that day
        start = change_day - timedelta(days=30)
        assert next_due(duty_from(start, change_day + timedelta(days=1)), [], None, None) == cph(
            change_day.year, change_day.month, change_day.day
        )
        # ending at the start of the change day: nothing due
        assert next_due(duty_from(start, change_day), [], None, None) is None


# --- `after` ---------------------------------------------------------------------------------


def test_after_skips_due_times_up_to_it_and_continues_the_chain() -> None:
    periods = duty_from(date(2026, 1, 5))
    activity = cph(2026, 1, 10, 10)
    assert next_due(periods, [], activity, None, after=cph(2026, 2, 9, 10)) == cph(2026, 3, 11, 10)
    assert next_due(periods, [], activity, None, after=cph(2026, 2, 9, 9)) == cph(2026, 2, 9, 10)
    assert next_due(periods, [], activity, None, after=cph(2026, 4, 1)) == cph(2026, 4, 10, 10)


def test_duty_starts_are_the_first_days_of_duty_stretches() -> None:
    periods = timeline(
        [
            status(date(2026, 1, 5), date(2026, 2, 1)),
            status(date(2026, 2, 1), date(2026, 3, 1), "overgangsydelse"),
            status(date(2026, 3, 1), date(2026, 4, 1), "ingen"),
            status(date(2026, 4, 1), None),
        ]
    )
    exemptions = [exemption(date(2026, 5, 1), date(2026, 5, 10))]
    assert duty_starts(periods, exemptions) == [
        date(2026, 1, 5),
        date(2026, 4, 1),
        date(2026, 5, 10),
    ]


# --- property: next_due against a day-by-day oracle ------------------------------------------

BASE = date(2026, 1, 1)
GROUPS = ["dagpenge", "jobparat_kontanthjaelp", "ingen"]


StatusSpec = tuple[int, int | None, str, str]
"""(fra, length or None, målgruppe, jobcenter): a status message, fra in days after BASE."""
ExemptionSpec = tuple[int, int | None]


def raw_duty(statuses: list[StatusSpec], exemption_list: list[ExemptionSpec]):
    """The duty rule computed here from the raw messages, not with shared.contract.citizen: on a
    day, the last status sent that covers it (later messages override earlier ones) names a duty
    group and no fritagelse covers it."""

    def covers(fra: int, length: int | None, day: date) -> bool:
        offset = (day - BASE).days
        return fra <= offset and (length is None or offset < fra + length)

    def duty(day: date) -> bool:
        group = None
        for fra, length, maalgruppe, _ in statuses:  # in the order sent (tidspunkt ascending)
            if covers(fra, length, day):
                group = maalgruppe
        exempt = any(covers(fra, length, day) for fra, length in exemption_list)
        return group not in (None, "ingen") and not exempt

    return duty


def oracle(
    statuses: list[StatusSpec],
    exemption_list: list[ExemptionSpec],
    last_activity: datetime | None,
    last_notified_due: datetime | None,
    after: datetime | None,
    days: int = 30,
    activities: list[datetime] | None = None,
) -> datetime | None:
    """Brute force: walk the Copenhagen days one by one. Each day on which the duty starts
    (duty that day, none the day before) restarts the clock at its midnight; a due time is
    `days` calendar days after the clock start, at the same local wall-clock time, when the
    citizen had the duty on every day from the start's day to the due day. With an activity
    history, each activity restarts the clock when it comes, and one on the due day before the
    due time prevents it (one after it does not)."""
    duty = raw_duty(statuses, exemption_list)
    acts = sorted(activities or [])
    explicit = [m for m in (last_activity, last_notified_due) if m is not None]
    anchor = max(explicit, default=None)
    edges = [BASE + timedelta(days=fra) for fra, *_ in [*statuses, *exemption_list]]
    edges += [BASE + timedelta(days=fra + n) for fra, n, *_ in statuses if n is not None]
    edges += [BASE + timedelta(days=fra + n) for fra, n in exemption_list if n is not None]
    first = min(edges, default=BASE) - timedelta(days=1)
    for moment in [*explicit, *acts]:
        first = min(first, day_of(moment))
    horizon = max(
        [*edges, BASE, *(day_of(m) for m in [*explicit, *acts, *([after] if after else [])])]
    ) + timedelta(days=3 * days)
    day = first
    while day <= horizon:
        if duty(day) and not duty(day - timedelta(days=1)):
            midnight = datetime(day.year, day.month, day.day, tzinfo=COPENHAGEN)
            if anchor is None or midnight > anchor:
                anchor = midnight
        today = [a for a in acts if day_of(a) == day]
        if anchor is not None:
            start = day_of(anchor)
            if (day - start).days == days and all(
                duty(start + timedelta(days=i)) for i in range(days + 1)
            ):
                wall = anchor.astimezone(COPENHAGEN)
                due = datetime(
                    day.year, day.month, day.day, wall.hour, wall.minute, wall.second,
                    wall.microsecond, tzinfo=COPENHAGEN,
                )  # fmt: skip
                if not any(anchor < a < due for a in today):
                    if after is not None and due <= after:
                        anchor = due
                    else:
                        return due
        for moment in today:
            if anchor is None or moment > anchor:
                anchor = moment
        day += timedelta(days=1)
    return None


status_specs = st.lists(
    st.tuples(
        st.integers(0, 200),  # fra, days after BASE
        st.one_of(st.none(), st.integers(1, 120)),  # length
        st.sampled_from(GROUPS),
        st.sampled_from(["101", "147"]),
    ),
    max_size=4,
)
exemption_specs = st.lists(
    st.tuples(st.integers(0, 250), st.one_of(st.none(), st.integers(1, 60))), max_size=2
)
# minutes from BASE; covers all times of day, including the DST edges
moments = st.one_of(
    st.none(),
    st.integers(0, 300 * 24 * 60).map(
        lambda m: datetime(2026, 1, 1, tzinfo=COPENHAGEN) + timedelta(minutes=m)
    ),
)


@settings(max_examples=300, deadline=None)
@given(status_specs, exemption_specs, moments, moments, moments)
def test_next_due_matches_a_day_by_day_oracle(
    statuses, exemption_list, last_activity, last_notified_due, after
) -> None:
    messages = [
        status(
            BASE + timedelta(days=fra),
            None if length is None else BASE + timedelta(days=fra + length),
            group,
            jobcenter,
            sent=T0 + timedelta(minutes=i),
        )
        for i, (fra, length, group, jobcenter) in enumerate(statuses)
    ]
    periods = timeline(messages)
    exemptions = [
        exemption(
            BASE + timedelta(days=fra),
            None if length is None else BASE + timedelta(days=fra + length),
        )
        for fra, length in exemption_list
    ]
    expected = oracle(statuses, exemption_list, last_activity, last_notified_due, after)
    got = next_due(periods, exemptions, last_activity, last_notified_due, after)
    assert got == expected
    if got is not None:
        assert raw_duty(statuses, exemption_list)(day_of(got))
        assert got.tzinfo is not None
        if after is not None:
            assert got > after


@settings(max_examples=100, deadline=None)
@given(status_specs, exemption_specs, moments, st.integers(0, 400))
def test_due_notices_are_the_chain_of_next_due(
    statuses, exemption_list, last_activity, now_day
) -> None:
    periods = timeline(
        [
            status(
                BASE + timedelta(days=fra),
                None if length is None else BASE + timedelta(days=fra + length),
                group,
                jobcenter,
                sent=T0 + timedelta(minutes=i),
            )
            for i, (fra, length, group, jobcenter) in enumerate(statuses)
        ]
    )
    exemptions = [
        exemption(
            BASE + timedelta(days=fra),
            None if length is None else BASE + timedelta(days=fra + length),
        )
        for fra, length in exemption_list
    ]
    now = cph(2026, 1, 1, 12) + timedelta(days=now_day)
    notices, upcoming = due_notices(CPR, periods, exemptions, last_activity, None, now)
    assert len(notices) % 2 == 0
    dues = [n.forfaldt for n in notices[::2]]
    assert dues == sorted(set(dues))
    assert all(d <= now for d in dues)
    assert upcoming is None or upcoming > now
    # days without activity: 30, 60, … within one duty stretch, from 30 again after a restart
    assert all(n.dageUdenAktivitet >= 30 and n.dageUdenAktivitet % 30 == 0 for n in notices)
    # splitting the run at any notice gives the same rest: restarts neither skip nor repeat
    last = None
    for due in dues:
        assert next_due(periods, exemptions, last_activity, last) == due
        last = due
    assert next_due(periods, exemptions, last_activity, last) == upcoming
    if dues:
        rest, again = due_notices(CPR, periods, exemptions, last_activity, dues[-1], now)
        assert rest == [] and again == upcoming


@settings(max_examples=300, deadline=None)
@given(status_specs, exemption_specs, st.lists(moments.filter(bool), max_size=4), moments, moments)
def test_next_due_with_the_activity_history_matches_the_oracle(
    statuses, exemption_list, activities, last_notified_due, after
) -> None:
    """As the notifier calls it: the whole history, so an activity after a due time that passed
    without a notice (the platform learnt of the citizen late) does not cancel that pair."""
    periods = timeline(
        [
            status(
                BASE + timedelta(days=fra),
                None if length is None else BASE + timedelta(days=fra + length),
                group,
                jobcenter,
                sent=T0 + timedelta(minutes=i),
            )
            for i, (fra, length, group, jobcenter) in enumerate(statuses)
        ]
    )
    exemptions = [
        exemption(
            BASE + timedelta(days=fra),
            None if length is None else BASE + timedelta(days=fra + length),
        )
        for fra, length in exemption_list
    ]
    last = max(activities, default=None)
    expected = oracle(
        statuses, exemption_list, None, last_notified_due, after, activities=activities
    )
    got = next_due(periods, exemptions, last, last_notified_due, after, activities=activities)
    assert got == expected


def test_an_activity_after_a_passed_due_time_does_not_cancel_its_pair() -> None:
    """Catch-up: the duty began 40 days before the platform learnt of the citizen; his first
    activity, accepted then, comes after the pair fell due (day 30), which is still owed."""
    periods = duty_from(date(2026, 1, 5))
    late = cph(2026, 2, 14, 9)
    notices, upcoming = due_notices(CPR, periods, [], late, None, late, activities=[late])
    assert [n.forfaldt for n in notices] == [cph(2026, 2, 4)] * 2
    assert all(n.dageUdenAktivitet == 30 for n in notices)
    assert upcoming == cph(2026, 3, 16, 9)  # then 30 days from the activity
    # without the history (only the last activity known) the anchor is that activity
    assert due_notices(CPR, periods, [], late, None, late)[0] == []


# --- the exact instants (issue 23 item 10: each mutant of a boundary fails a test) -----------


def test_an_activity_at_the_due_instant_does_not_prevent_the_pair() -> None:
    """Only an activity *before* the due time restarts the clock: one at the very instant the
    pair falls due comes too late for it (and starts the next 30 days)."""
    periods = duty_from(date(2026, 1, 5))
    due = cph(2026, 2, 4)
    assert next_due(periods, [], None, None, activities=[due]) == due
    just_before = due - timedelta(microseconds=1)
    assert next_due(periods, [], None, None, activities=[just_before]) == add_local_days(
        just_before, 30
    )
    notices, _ = due_notices(CPR, periods, [], None, None, due, activities=[due])
    assert [n.forfaldt for n in notices] == [due, due]


def test_a_duty_resuming_exactly_at_the_candidate_due_time_restarts_the_clock() -> None:
    """Duty from 5 January, none from the 15th, again from 4 February (midnight, the very
    instant the first pair would fall due): the duty did not hold every day, so the clock
    starts again at the resumption and the pair falls due 30 days after it, on 6 March."""
    periods = timeline(
        [
            status(date(2026, 1, 5), date(2026, 1, 15)),
            status(date(2026, 1, 15), date(2026, 2, 4), "ingen", sent=T0 + timedelta(seconds=1)),
            status(date(2026, 2, 4), sent=T0 + timedelta(seconds=2)),
        ]
    )
    assert start_of_day(date(2026, 2, 4)) == add_local_days(start_of_day(date(2026, 1, 5)), 30)
    assert next_due(periods, [], None, None) == cph(2026, 3, 6)
    resumed_a_day_later = timeline(
        [
            status(date(2026, 1, 5), date(2026, 1, 15)),
            status(date(2026, 1, 15), date(2026, 2, 5), "ingen", sent=T0 + timedelta(seconds=1)),
            status(date(2026, 2, 5), sent=T0 + timedelta(seconds=2)),
        ]
    )
    assert next_due(resumed_a_day_later, [], None, None) == cph(2026, 3, 7)


@settings(max_examples=400, deadline=None)
@given(
    status_specs,
    exemption_specs,
    st.lists(moments.filter(bool), max_size=4),
    moments,
    st.integers(0, 90 * 24 * 60),
)
def test_an_activity_after_the_last_one_never_makes_the_next_due_time_earlier(
    statuses, exemption_list, acts, last_notified_due, minutes_after
) -> None:
    """What the notifier may rely on to skip a timer's write for an accepted joblog activity:
    for any facts, an activity at or after the last one leaves the next due time where it was
    or moves it later (or clears it); it never sets one where there was none."""
    periods = timeline(
        [
            status(
                BASE + timedelta(days=fra),
                None if length is None else BASE + timedelta(days=fra + length),
                group,
                jobcenter,
                sent=T0 + timedelta(minutes=i),
            )
            for i, (fra, length, group, jobcenter) in enumerate(statuses)
        ]
    )
    exemptions = [
        exemption(
            BASE + timedelta(days=fra),
            None if length is None else BASE + timedelta(days=fra + length),
        )
        for fra, length in exemption_list
    ]
    start = max(acts, default=datetime(2026, 1, 1, tzinfo=COPENHAGEN))
    new = start + timedelta(minutes=minutes_after)
    before = next_due(
        periods, exemptions, max(acts, default=None), last_notified_due, activities=acts
    )
    after = next_due(periods, exemptions, new, last_notified_due, activities=[*acts, new])
    if before is None:
        assert after is None
    else:
        assert after is None or after >= before
