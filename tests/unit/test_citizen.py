"""The status timeline, fritagelser and the duty rule (shared.contract.citizen)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.contract.citizen import (
    ExemptionMessage,
    Maalgruppe,
    StatusMessage,
    exemption_periods,
    has_duty,
    is_exempt,
    status_on,
    timeline,
    within_stays,
)

CPR = "0101901234"


def status(fra, til, maalgruppe="dagpenge", at=1, jobcenter="101", akasse="067"):
    return StatusMessage(
        messageId=uuid.uuid4(), cpr=CPR, jobcenter=jobcenter, akasseNr=akasse,
        maalgruppe=maalgruppe, gyldigFra=fra, gyldigTil=til,
        tidspunkt=datetime(2026, 1, at, tzinfo=UTC),
    )  # fmt: skip


def exemption(fra, til, handling="tildel", exemption_id=None, jobcenter="101"):
    return ExemptionMessage(
        messageId=uuid.uuid4(), cpr=CPR, exemptionId=exemption_id or uuid.uuid4(),
        jobcenter=jobcenter, handling=handling, gyldigFra=fra, gyldigTil=til,
        begrundelse="LAS § 75 stk. 5" if handling == "tildel" else None,
    )  # fmt: skip


def test_a_later_message_overrides_the_days_it_covers() -> None:
    periods = timeline(
        [
            status(date(2026, 1, 1), None, "dagpenge", at=1),
            status(date(2026, 3, 1), date(2026, 4, 1), "ingen", at=2),
        ]
    )
    assert [(p.fra, p.til, p.maalgruppe) for p in periods] == [
        (date(2026, 1, 1), date(2026, 3, 1), Maalgruppe.DAGPENGE),
        (date(2026, 3, 1), date(2026, 4, 1), Maalgruppe.INGEN),
        (date(2026, 4, 1), None, Maalgruppe.DAGPENGE),
    ]


def test_a_correction_of_the_past_is_applied_in_order_of_tidspunkt_not_arrival() -> None:
    correction = status(date(2026, 1, 1), date(2026, 2, 1), "ingen", at=5)
    original = status(date(2026, 1, 1), None, "jobparat_kontanthjaelp", at=1)
    periods = timeline([correction, original])  # the correction arrived first
    assert status_on(periods, date(2026, 1, 15)).maalgruppe is Maalgruppe.INGEN
    assert status_on(periods, date(2026, 2, 1)).maalgruppe is Maalgruppe.JOBPARAT_KONTANTHJAELP


def test_periods_are_half_open() -> None:
    periods = timeline([status(date(2026, 1, 5), date(2026, 6, 30))])
    assert status_on(periods, date(2026, 1, 4)) is None
    assert status_on(periods, date(2026, 1, 5)) is not None
    assert status_on(periods, date(2026, 6, 29)) is not None
    assert status_on(periods, date(2026, 6, 30)) is None


def test_the_duty_rule() -> None:
    periods = timeline([status(date(2026, 1, 1), None, "ledighedsydelse")])
    exempt = exemption_periods([exemption(date(2026, 2, 1), date(2026, 3, 1))])
    assert has_duty(periods, exempt, date(2026, 1, 31))
    assert not has_duty(periods, exempt, date(2026, 2, 1))
    assert has_duty(periods, exempt, date(2026, 3, 1))
    assert not has_duty(timeline([status(date(2026, 1, 1), None, "ingen")]), [], date(2026, 5, 1))
    assert not has_duty([], [], date(2026, 5, 1))


def test_every_group_but_ingen_carries_the_duty() -> None:
    assert [m for m in Maalgruppe if not m.has_duty] == [Maalgruppe.INGEN]


def test_a_revoke_ends_the_exemption_from_its_day_and_before_start_cancels_it() -> None:
    granted = uuid.uuid4()
    periods = exemption_periods(
        [
            exemption(date(2026, 2, 1), None, exemption_id=granted),
            exemption(date(2026, 2, 10), None, "tilbagekald", exemption_id=granted),
        ]
    )
    assert [(e.fra, e.til) for e in periods] == [(date(2026, 2, 1), date(2026, 2, 10))]
    cancelled = uuid.uuid4()
    assert not exemption_periods(
        [
            exemption(date(2026, 2, 1), None, exemption_id=cancelled),
            exemption(date(2026, 1, 1), None, "tilbagekald", exemption_id=cancelled),
        ]
    )


def test_a_new_grant_under_an_existing_exemption_id_replaces_the_earlier_one() -> None:
    same = uuid.uuid4()
    first = exemption(date(2026, 2, 1), None, exemption_id=same)
    corrected = exemption(date(2026, 2, 1), date(2026, 4, 1), exemption_id=same)
    assert [(e.fra, e.til) for e in exemption_periods([first, corrected])] == [
        (date(2026, 2, 1), date(2026, 4, 1))
    ]
    # in the order received: the later grant states the exemption
    assert [(e.fra, e.til) for e in exemption_periods([corrected, first])] == [
        (date(2026, 2, 1), None)
    ]
    moved = exemption(date(2026, 5, 1), date(2026, 6, 1), exemption_id=same)
    periods = exemption_periods([first, moved])
    assert [(e.fra, e.til) for e in periods] == [(date(2026, 5, 1), date(2026, 6, 1))]
    assert is_exempt(periods, date(2026, 5, 15))
    assert not is_exempt(periods, date(2026, 2, 15))  # the earlier grant is gone


def test_a_grant_after_a_revoke_of_the_same_id_is_in_force() -> None:
    same = uuid.uuid4()
    granted = exemption(date(2026, 1, 1), None, exemption_id=same)
    revoked = exemption(date(2026, 2, 1), None, "tilbagekald", exemption_id=same)
    again = exemption(date(2026, 3, 1), None, exemption_id=same)
    # before: the revoke of the first grant also cut the second, from before its start, so the
    # fritagelse granted again was lost. Now the revoked one stays as it was, the new one holds
    periods = exemption_periods([granted, revoked, again])
    assert [(e.fra, e.til) for e in periods] == [
        (date(2026, 1, 1), date(2026, 2, 1)),
        (date(2026, 3, 1), None),
    ]
    # a revoke after the new grant ends only the new one
    later = exemption(date(2026, 4, 1), None, "tilbagekald", exemption_id=same)
    periods = exemption_periods([granted, revoked, again, later])
    assert [(e.fra, e.til) for e in periods] == [
        (date(2026, 1, 1), date(2026, 2, 1)),
        (date(2026, 3, 1), date(2026, 4, 1)),
    ]
    # a grant cancelled from its first day leaves nothing of itself
    cancel = exemption(date(2026, 1, 1), None, "tilbagekald", exemption_id=same)
    periods = exemption_periods([granted, cancel, again])
    assert [(e.fra, e.til) for e in periods] == [(date(2026, 3, 1), None)]


def test_a_revoke_received_before_its_grant_still_applies() -> None:
    same = uuid.uuid4()
    revoked = exemption(date(2026, 2, 10), None, "tilbagekald", exemption_id=same)
    granted = exemption(date(2026, 2, 1), None, exemption_id=same)
    periods = exemption_periods([revoked, granted])
    assert [(e.fra, e.til) for e in periods] == [(date(2026, 2, 1), date(2026, 2, 10))]


def test_bad_messages_are_refused() -> None:
    with pytest.raises(ValidationError, match="gyldigTil"):
        status(date(2026, 2, 1), date(2026, 2, 1))
    with pytest.raises(ValidationError, match="kommunekoder"):
        status(date(2026, 2, 1), None, jobcenter="999")
    with pytest.raises(ValidationError, match="akasseNr"):
        status(date(2026, 2, 1), None, akasse="67")
    with pytest.raises(ValidationError, match="begrundelse"):
        ExemptionMessage(
            messageId=uuid.uuid4(), cpr=CPR, exemptionId=uuid.uuid4(), jobcenter="101",
            handling="tildel", gyldigFra=date(2026, 1, 1),
        )  # fmt: skip


# -- a fritagelse is its jobcenter's (issue 23 item 4) -----------------------------------------


def held(periods, *grants):
    return [(e.fra, e.til) for e in within_stays(exemption_periods(grants), periods)]


MOVE = date(2026, 3, 1)
MOVED = timeline(
    [status(date(2026, 1, 1), MOVE, jobcenter="101"), status(MOVE, None, jobcenter="147", at=2)]
)


def test_an_open_fritagelse_ends_when_the_citizen_moves_to_another_jobcenter():
    assert held(MOVED, exemption(date(2026, 2, 1), None)) == [(date(2026, 2, 1), MOVE)]
    exempt = within_stays(exemption_periods([exemption(date(2026, 2, 1), None)]), MOVED)
    assert is_exempt(exempt, MOVE - timedelta(days=1)) and not is_exempt(exempt, MOVE)
    assert has_duty(MOVED, exempt, MOVE) and not has_duty(MOVED, exempt, date(2026, 2, 15))


def test_a_fritagelse_reaching_past_the_stay_is_cut_at_its_end_and_one_within_it_is_kept():
    assert held(MOVED, exemption(date(2026, 2, 1), date(2026, 6, 1))) == [(date(2026, 2, 1), MOVE)]
    assert held(MOVED, exemption(date(2026, 1, 5), date(2026, 2, 1))) == [
        (date(2026, 1, 5), date(2026, 2, 1))
    ]
    assert held(MOVED, exemption(date(2026, 2, 1), MOVE)) == [(date(2026, 2, 1), MOVE)]


def test_a_fritagelse_of_the_new_jobcenter_holds_and_the_old_ones_from_after_the_move_not():
    assert held(MOVED, exemption(MOVE, None, jobcenter="147")) == [(MOVE, None)]
    assert held(MOVED, exemption(date(2026, 4, 1), None, jobcenter="101")) == []
    assert held(MOVED, exemption(date(2026, 2, 1), None, jobcenter="147")) == []


def test_the_stay_runs_across_a_change_of_maalgruppe_and_ends_at_a_gap_or_a_return():
    changes = timeline(
        [
            status(date(2026, 1, 1), date(2026, 2, 1), "dagpenge"),
            status(date(2026, 2, 1), date(2026, 4, 1), "jobparat_kontanthjaelp", at=2),
            status(date(2026, 5, 1), None, "dagpenge", at=3),  # after a month without status
        ]
    )
    assert held(changes, exemption(date(2026, 1, 10), None)) == [
        (date(2026, 1, 10), date(2026, 4, 1))
    ]
    back = timeline([*MOVED_MESSAGES, status(date(2026, 5, 1), None, jobcenter="101", at=3)])
    assert held(back, exemption(date(2026, 2, 1), None)) == [(date(2026, 2, 1), MOVE)]
    assert held(timeline([status(date(2026, 1, 1), None)]), exemption(date(2026, 2, 1), None)) == [
        (date(2026, 2, 1), None)
    ]


MOVED_MESSAGES = [
    status(date(2026, 1, 1), MOVE, jobcenter="101"),
    status(MOVE, None, jobcenter="147", at=2),
]
