"""A citizen's status over time: målgruppe, jobcenter and a-kasse, and fritagelser (exemptions).

Pure models and functions; storage keeps the messages, these derive the timeline from them.
Periods are half-open [fra, til) in Copenhagen days; `til=None` means open-ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from shared.contract.cpr import InvalidCpr, birth_date
from shared.contract.joblog_rules import forbidden_character, is_blank
from shared.contract.kommuner import is_kommunekode
from shared.contract.tid import date_problem, moment_problem


class Maalgruppe(StrEnum):
    """The citizen's benefit group (målgruppe)."""

    DAGPENGE = "dagpenge"
    JOBPARAT_KONTANTHJAELP = "jobparat_kontanthjaelp"
    AABENLYST_UDDANNELSESPARAT = "aabenlyst_uddannelsesparat"
    LEDIGHEDSYDELSE = "ledighedsydelse"
    OVERGANGSYDELSE = "overgangsydelse"
    SELVFORSOERGELSES_HJEMREJSEYDELSE = "selvforsoergelses_hjemrejseydelse"
    INGEN = "ingen"

    @property
    def has_duty(self) -> bool:
        """Every group except `ingen` carries the duty to register joblogs."""
        return self is not Maalgruppe.INGEN


def _check_cpr(value: str) -> str:
    try:
        birth_date(value)
    except InvalidCpr as error:
        raise ValueError(str(error)) from None
    return value


def _check_kommunekode(value: str) -> str:
    if not is_kommunekode(value):
        raise ValueError(f"{value!r} is not one of the 98 kommunekoder")
    return value


def _check_day(value: date | None) -> date | None:
    """A period's day within the contract's bounds (`shared.contract.tid.DATE_FLOOR`,
    `DATE_CEILING`)."""
    if value is not None and (problem := date_problem(value)):
        raise ValueError(problem)
    return value


def _check_moment(value: datetime) -> datetime:
    """A time within the contract's bounds; how far after receipt it may be is storage's check
    (`services.storage.citizens`), which knows when it was received."""
    if problem := moment_problem(value):
        raise ValueError(problem)
    return value


def _check_text(value: str | None) -> str | None:
    """Free text as the joblog's notes: no control characters but tab and line breaks, no format
    characters (the bidi marks aside), no line or paragraph separators."""
    if value is not None and (problem := forbidden_character(value, multiline=True)):
        raise ValueError(problem)
    return value


class StatusMessage(BaseModel):
    """On dfdg.citizen.status: sets målgruppe, jobcenter and a-kasse for [gyldigFra, gyldigTil)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    messageId: UUID
    cpr: str
    jobcenter: str
    akasseNr: str | None = None
    maalgruppe: Maalgruppe
    gyldigFra: date
    gyldigTil: date | None = None
    tidspunkt: datetime

    _cpr = field_validator("cpr")(_check_cpr)
    _jobcenter = field_validator("jobcenter")(_check_kommunekode)
    _days = field_validator("gyldigFra", "gyldigTil")(_check_day)
    _tidspunkt = field_validator("tidspunkt")(_check_moment)

    @field_validator("akasseNr")
    @classmethod
    def _akasse(cls, value: str | None) -> str | None:
        if value is not None and not (len(value) == 3 and value.isascii() and value.isdigit()):
            raise ValueError("akasseNr must be 3 digits or null")
        return value

    @model_validator(mode="after")
    def _period(self) -> StatusMessage:
        if self.gyldigTil is not None and self.gyldigTil <= self.gyldigFra:
            raise ValueError("gyldigTil must be after gyldigFra")
        return self


class ExemptionAction(StrEnum):
    TILDEL = "tildel"  # grant
    TILBAGEKALD = "tilbagekald"  # revoke


class ExemptionMessage(BaseModel):
    """On dfdg.citizen.exemption: a fritagelse granted or revoked by the jobcenter."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    messageId: UUID
    cpr: str
    exemptionId: UUID
    jobcenter: str
    handling: ExemptionAction
    gyldigFra: date
    gyldigTil: date | None = None
    begrundelse: str | None = None
    alternativDokumentation: str | None = None

    _cpr = field_validator("cpr")(_check_cpr)
    _jobcenter = field_validator("jobcenter")(_check_kommunekode)
    _days = field_validator("gyldigFra", "gyldigTil")(_check_day)
    _texts = field_validator("begrundelse", "alternativDokumentation")(_check_text)

    @model_validator(mode="after")
    def _period(self) -> ExemptionMessage:
        if self.gyldigTil is not None and self.gyldigTil <= self.gyldigFra:
            raise ValueError("gyldigTil must be after gyldigFra")
        if self.handling is ExemptionAction.TILDEL and (
            self.begrundelse is None or is_blank(self.begrundelse)
        ):
            raise ValueError("begrundelse is required when granting a fritagelse")
        return self


@dataclass(frozen=True)
class Period:
    """One stretch of the status timeline, [fra, til)."""

    fra: date
    til: date | None
    maalgruppe: Maalgruppe
    jobcenter: str
    akasseNr: str | None

    def covers(self, day: date) -> bool:
        return self.fra <= day and (self.til is None or day < self.til)

    def overlaps(self, fra: date, til: date | None) -> bool:
        """Overlaps [fra, til) (til=None: open)."""
        return (til is None or self.fra < til) and (self.til is None or fra < self.til)


@dataclass(frozen=True)
class ExemptionPeriod:
    exemptionId: UUID
    fra: date
    til: date | None
    jobcenter: str
    begrundelse: str | None
    alternativDokumentation: str | None

    def covers(self, day: date) -> bool:
        return self.fra <= day and (self.til is None or day < self.til)


def timeline(messages: Iterable[StatusMessage]) -> list[Period]:
    """The status timeline: messages applied in order of `tidspunkt` (ties: the order given),
    each overriding whatever earlier messages said about the days it covers."""
    periods: list[Period] = []
    for message in sorted(messages, key=lambda m: m.tidspunkt):
        fra, til = message.gyldigFra, message.gyldigTil
        kept: list[Period] = []
        for period in periods:
            if not period.overlaps(fra, til):
                kept.append(period)
                continue
            if period.fra < fra:  # the part before the new message survives
                kept.append(_with(period, period.fra, fra))
            if til is not None and (period.til is None or til < period.til):  # and the part after
                kept.append(_with(period, til, period.til))
        kept.append(Period(fra, til, message.maalgruppe, message.jobcenter, message.akasseNr))
        periods = sorted(kept, key=lambda p: p.fra)
    return periods


def _with(period: Period, fra: date, til: date | None) -> Period:
    return Period(fra, til, period.maalgruppe, period.jobcenter, period.akasseNr)


def status_on(periods: Iterable[Period], day: date) -> Period | None:
    """The period covering `day`, if any."""
    return next((p for p in periods if p.covers(day)), None)


def exemption_periods(messages: Iterable[ExemptionMessage]) -> list[ExemptionPeriod]:
    """Exemptions in force, from the messages in the order received: a grant (tildel) gives
    [gyldigFra, gyldigTil); a revoke (tilbagekald) of the same exemptionId ends it at the
    revoke's gyldigFra (the earliest, if several; a revoke from its first day cancels it).

    A new tildel under an exemptionId already granted replaces that grant (a correction) while
    it is not revoked. Once revoked, the revoked grant stays as it ended and the new tildel is
    granted anew from its own gyldigFra (later revokes end only the new one). A revoke received
    before any grant of its id applies to the grant that follows."""
    revoked: list[tuple[ExemptionMessage, date]] = []  # grants revoked, then granted anew
    grants: dict[UUID, ExemptionMessage] = {}
    revoked_from: dict[UUID, date] = {}
    for message in messages:
        exemption_id = message.exemptionId
        if message.handling is ExemptionAction.TILDEL:
            if exemption_id in grants and exemption_id in revoked_from:
                revoked.append((grants[exemption_id], revoked_from.pop(exemption_id)))
            grants[exemption_id] = message
        else:
            earlier = revoked_from.get(exemption_id)
            revoked_from[exemption_id] = (
                message.gyldigFra if earlier is None else min(earlier, message.gyldigFra)
            )
    ends = [*revoked, *((grant, revoked_from.get(i)) for i, grant in grants.items())]
    result = []
    for grant, revoke in ends:
        til = grant.gyldigTil
        if revoke is not None:
            til = revoke if til is None else min(til, revoke)
        if til is not None and til <= grant.gyldigFra:
            continue  # revoked before it began
        result.append(
            ExemptionPeriod(
                grant.exemptionId, grant.gyldigFra, til, grant.jobcenter,
                grant.begrundelse, grant.alternativDokumentation,
            )
        )  # fmt: skip
    return sorted(result, key=lambda e: e.fra)


def within_stays(
    exemptions: Iterable[ExemptionPeriod], periods: list[Period]
) -> list[ExemptionPeriod]:
    """The fritagelser as they hold: each ends with the citizen's stay at the jobcenter that
    granted it (contract, "A fritagelse is its jobcenter's"). The stay is the unbroken run of
    status periods at that jobcenter from the fritagelse's first day; one granted for a day the
    citizen was not at that jobcenter holds on no day. `periods` is a timeline (sorted)."""
    held = []
    for exemption in exemptions:
        stay_end = _stay_end(periods, exemption.jobcenter, exemption.fra)
        if stay_end is None:
            continue
        til = exemption.til
        if stay_end is not date.max and (til is None or stay_end < til):
            til = stay_end
        held.append(replace(exemption, til=til))
    return held


def _stay_end(periods: list[Period], jobcenter: str, day: date) -> date | None:
    """The first day after the unbroken stay at `jobcenter` that covers `day` (`date.max`: open
    ended); None when the citizen is not at `jobcenter` on `day`."""
    end: date | None = None
    for period in periods:
        if end is None:
            if period.covers(day) and period.jobcenter == jobcenter:
                end = period.til or date.max
        elif period.fra == end and period.jobcenter == jobcenter:
            end = period.til or date.max
        elif period.fra >= end:
            break
    return end


def is_exempt(exemptions: Iterable[ExemptionPeriod], day: date) -> bool:
    return any(e.covers(day) for e in exemptions)


def has_duty(periods: Iterable[Period], exemptions: Iterable[ExemptionPeriod], day: date) -> bool:
    """The duty rule: on `day` the citizen must register joblogs if his målgruppe then carries
    the duty and no fritagelse covers that day."""
    period = status_on(periods, day)
    return period is not None and period.maalgruppe.has_duty and not is_exempt(exemptions, day)
