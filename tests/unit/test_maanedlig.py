"""The monthly registration duty (shared/contract/maanedlig.py, lov nr. 371 af 28/3/2022)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from shared.contract.citizen import ExemptionPeriod, Maalgruppe, StatusMessage, timeline
from shared.contract.maanedlig import (
    OMFATTET,
    Maaned,
    forsoemt,
    forsoemte_maaneder,
    hele_maaneder,
    pligt_hele_maaneden,
    registreret,
)

CPR = "0101901234"
JP = Maalgruppe.JOBPARAT_KONTANTHJAELP
MARCH, APRIL = Maaned(2026, 3), Maaned(2026, 4)


def status(fra, til=None, group="jobparat_kontanthjaelp", at=1):
    return StatusMessage(
        messageId=uuid.uuid4(), cpr=CPR, jobcenter="101", akasseNr=None, maalgruppe=group,
        gyldigFra=fra, gyldigTil=til, tidspunkt=datetime(2026, 1, at, tzinfo=UTC),
    )  # fmt: skip


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fritagelse(fra, til):
    return ExemptionPeriod(uuid.uuid4(), fra, til, "101", "sygdom", None)


def test_the_law_covers_the_four_groups_and_not_dagpenge_or_ledighedsydelse():
    assert {g.value for g in OMFATTET} == {
        "jobparat_kontanthjaelp", "aabenlyst_uddannelsesparat", "overgangsydelse",
        "selvforsoergelses_hjemrejseydelse",
    }  # fmt: skip
    for group in ("dagpenge", "ledighedsydelse", "ingen"):
        periods = timeline([status(date(2026, 1, 1), group=group)])
        assert pligt_hele_maaneden(periods, [], MARCH) is None


def test_a_month_is_copenhagen_s_also_across_the_change_to_and_from_summer_time():
    assert MARCH.start == utc(2026, 2, 28, 23)  # CET
    assert MARCH.slut == APRIL.start == utc(2026, 3, 31, 22)  # CEST
    october = Maaned(2026, 10)
    assert october.start == utc(2026, 9, 30, 22) and october.slut == utc(2026, 10, 31, 23)
    assert registreret([utc(2026, 3, 31, 21, 59)], MARCH)
    assert not registreret([utc(2026, 3, 31, 22, 0)], MARCH)  # 00:00 on 1 April, local time
    assert registreret([utc(2026, 3, 31, 22, 0)], APRIL)
    assert registreret([utc(2026, 2, 28, 23, 0)], MARCH)  # 00:00 on 1 March
    assert not registreret([utc(2026, 2, 28, 22, 59)], MARCH)
    assert registreret([utc(2026, 10, 31, 22, 59)], october)  # 23:59 CET on 31 October
    assert not registreret([utc(2026, 10, 31, 23, 0)], october)


def test_a_leap_february_has_29_days():
    february = Maaned(2028, 2)
    assert february.last_day == date(2028, 2, 29) and len(list(february.days())) == 29
    assert pligt_hele_maaneden(timeline([status(date(2028, 2, 1), date(2028, 3, 1))]), [], february)
    ended_on_the_29th = timeline([status(date(2028, 2, 1), date(2028, 2, 29))])
    assert pligt_hele_maaneden(ended_on_the_29th, [], february) is None
    assert Maaned(2026, 2).last_day == date(2026, 2, 28)


@pytest.mark.parametrize(("first", "whole"), [(date(2026, 3, 1), True), (date(2026, 3, 2), False)])
def test_a_duty_beginning_on_the_1st_covers_the_month_and_on_the_2nd_not(first, whole):
    periods = timeline([status(first)])
    assert (pligt_hele_maaneden(periods, [], MARCH) is JP) is whole
    assert (forsoemt(periods, [], [], MARCH) is JP) is whole
    assert pligt_hele_maaneden(periods, [], APRIL) is JP  # the next month is whole either way


def test_a_duty_ending_inside_the_month_does_not_cover_it():
    periods = timeline([status(date(2026, 1, 1), date(2026, 3, 31))])  # the 30th is the last day
    assert pligt_hele_maaneden(periods, [], MARCH) is None
    assert pligt_hele_maaneden(timeline([status(date(2026, 1, 1), date(2026, 4, 1))]), [], MARCH)


@pytest.mark.parametrize(
    ("fra", "til"),
    [(date(2026, 3, 10), date(2026, 3, 12)), (date(2026, 2, 1), date(2026, 3, 2)),
     (date(2026, 3, 31), None)],
    ids=["inside", "first-day", "last-day-open"],
)  # fmt: skip
def test_a_fritagelse_on_any_day_of_the_month_lifts_the_monthly_duty(fra, til):
    periods = timeline([status(date(2026, 1, 1))])
    assert pligt_hele_maaneden(periods, [fritagelse(fra, til)], MARCH) is None
    assert forsoemt(periods, [fritagelse(fra, til)], [], MARCH) is None


def test_a_fritagelse_ending_before_the_month_leaves_it_whole():
    periods = timeline([status(date(2026, 1, 1))])
    assert pligt_hele_maaneden(periods, [fritagelse(date(2026, 2, 1), MARCH.first_day)], MARCH)


def test_a_change_of_maalgruppe_inside_the_month():
    covered_to_covered = timeline(
        [status(date(2026, 1, 1)), status(date(2026, 3, 15), group="overgangsydelse", at=2)]
    )
    assert pligt_hele_maaneden(covered_to_covered, [], MARCH) is Maalgruppe.OVERGANGSYDELSE
    to_dagpenge = timeline(
        [status(date(2026, 1, 1)), status(date(2026, 3, 15), group="dagpenge", at=2)]
    )
    assert pligt_hele_maaneden(to_dagpenge, [], MARCH) is None
    from_dagpenge = timeline(
        [status(date(2026, 1, 1), group="dagpenge"), status(date(2026, 3, 15), at=2)]
    )
    assert pligt_hele_maaneden(from_dagpenge, [], MARCH) is None
    assert pligt_hele_maaneden(from_dagpenge, [], APRIL) is JP


def test_only_a_creation_in_the_month_registers():
    periods = timeline([status(date(2026, 1, 1))])
    assert forsoemt(periods, [], [utc(2026, 2, 27, 12)], MARCH) is JP  # February's
    assert forsoemt(periods, [], [utc(2026, 3, 5, 12)], MARCH) is None
    assert forsoemt(periods, [], [utc(2026, 4, 1, 12)], MARCH) is JP  # April's


def test_the_whole_months_of_a_period():
    assert hele_maaneder(date(2026, 1, 1), date(2026, 3, 31)) == [
        Maaned(2026, 1), Maaned(2026, 2), MARCH,
    ]  # fmt: skip
    assert hele_maaneder(date(2026, 1, 2), date(2026, 3, 30)) == [Maaned(2026, 2)]
    assert hele_maaneder(date(2026, 3, 1), date(2026, 3, 30)) == []
    assert hele_maaneder(date(2025, 12, 1), date(2026, 1, 31)) == [
        Maaned(2025, 12),
        Maaned(2026, 1),
    ]
    periods = timeline([status(date(2026, 1, 1))])
    first_quarter = (date(2026, 1, 1), date(2026, 3, 31))
    missed = forsoemte_maaneder(periods, [], [utc(2026, 2, 10, 9)], *first_quarter)
    assert missed == [Maaned(2026, 1), MARCH]
