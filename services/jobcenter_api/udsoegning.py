"""Udsøgning: which citizens a jobcenter's extraction holds, and what each row says.

Pure functions, no I/O. The API reads the facts from storage, sorts the citizens by cpr, and
streams `rows(facts, criteria)` as CSV (`;`, header `HEADER`). This docstring is the reference
for how every column is computed; it is written to be read by a jobcenter.

Terms
-----
- A *day* is a calendar day in Europe/Copenhagen. A moment (an activity, a notice) counts on
  the Copenhagen day it falls on: 23:30 UTC on 31 January is 1 February in Copenhagen (00:30
  or 01:30 local time). A datetime without a time zone is taken to be UTC.
- The *period* is the days `fra` to `til`, both included.
- `today` is the day of the extraction. An auditor who wants to see an extraction as it would
  have looked on an earlier day passes that day as `today`: everything known about the days
  after it (activity, joblogs, deletions, notices issued later) is left out. The status timeline
  and the fritagelser are used as the caller passes them ("as known at extraction").
- The *end of the period* is `min(til, today)`: a period reaching into the future is counted up
  to and including today. Every column "at the end of the period" uses this day.
- The period is *historical* when `til` is before `today`.

Criteria (`Criteria.validate`)
------------------------------
Refused, with a readable message, are: `fra` after `til`; `fra` after `today` (nothing can be
counted in a period that has not begun); a kommunekode that is not one of the 98; a period of
more than `max_days` days (counted with both ends: 1-31 January is 31 days); and the målgruppe
`ingen`. The extraction is about the duty to register joblogs and `ingen` carries no duty, so
an extraction of it is not offered. Any other målgruppe may be asked for. An empty `maalgruppe`
parameter means "not given".

Population (who gets a row)
---------------------------
1. On `today` the citizen's status names this jobcenter, and his målgruppe on `today`
   carries the duty - or, when `maalgruppe` is given, equals it. This målgruppe (the current
   one, or the one asked for, which are then the same) is *the målgruppe* of the row.
   A citizen without any status on `today` is not in any jobcenter's population.
2. If the period is historical, he must also have held the målgruppe on at least one day of
   the period, at any jobcenter: a citizen who moved here keeps his history, and this jobcenter
   is the one now responsible. A citizen who was jobparat_kontanthjaelp in January but is
   dagpenge today is not in a January extraction asked without `maalgruppe` (the målgruppe is
   then dagpenge, which he did not hold in January) - nor in one asked for
   jobparat_kontanthjaelp (he does not hold it today). A citizen whose målgruppe is `ingen`
   today is in no extraction.
   A period that is not historical (it reaches today) needs no such check.
3. With `kun_adviserede`, only citizens with at least one advisering counted in
   `antal_adviseringer` (below) are included.

Columns
-------
- `cpr`: as stored, 10 digits.
- `maalgruppe`: the målgruppe of the row (see Population 1).
- `fritaget`: `ja` if a fritagelse covers the end of the period, else `nej` (a fritagelse holds
  while the citizen stays at the jobcenter that granted it: `shared.contract.citizen.within_stays`).
- `antal_joblogs`: the number of joblogs *created* on a day of the period (up to its end),
  counted once per joblog id, leaving out those deleted on or before `today`. A joblog created
  in December and edited in January counts in December, not January, so monthly extractions add
  up to the yearly one. A joblog deleted after `today` still counts (it existed when the
  extraction was made). Either front end (Jobnet or an a-kasse) counts.
- `seneste_aktivitet`: the day (ISO date) of the latest joblog activity on or before the end of
  the period - possibly before `fra` - or empty if there is none. Activity is what restarts the
  advisering clock: the platform's acceptance of a change to a joblog, from either front end.
- `dage_uden_aktivitet`: the number of days from the day of `seneste_aktivitet` to the end of
  the period (0 if there was activity on the last day). With no activity on or before the end
  of the period, it is counted from the first day of the citizen's unbroken stretch of days
  with a duty-carrying målgruppe that contains the end of the period (0 if the stretch begins
  that day); fritagelser do not break the stretch (see `fritaget`). If the citizen has no
  duty-carrying målgruppe on the end day either, it is empty.
- `antal_adviseringer`: the number of advisering pairs (one citizen notice + one jobcenter
  notice count as one) whose due day (`forfaldt`) lies in the period, up to its end, and that
  had been issued (`udstedt`) on or before `today`. Notices from any jobcenter count.
- `seneste_advisering`: the due day (`forfaldt`, ISO date) of the latest such notice due on or
  before the end of the period - possibly before `fra` - or empty if there is none.
- `maaneder_uden_registrering` (only when asked for, `maanedlig=true`: the contract's eight
  columns stay as they are for those who read them by position): the number of whole calendar
  months of the period, ended before `today`, in which the monthly registration duty of lov
  nr. 371/2022 applied for the whole month and no joblog was created (the rule:
  `shared/contract/maanedlig.py`). A month still running on `today` is not counted.

`seneste_*` look back without a lower bound; `antal_*` count inside the period only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from shared.contract.citizen import ExemptionPeriod, Maalgruppe, Period, is_exempt, status_on
from shared.contract.kommuner import is_kommunekode
from shared.contract.maanedlig import forsoemte_maaneder
from shared.contract.tid import as_utc, day_of

HEADER = (
    "cpr",
    "maalgruppe",
    "fritaget",
    "antal_joblogs",
    "seneste_aktivitet",
    "dage_uden_aktivitet",
    "antal_adviseringer",
    "seneste_advisering",
)
MAANEDLIG = "maaneder_uden_registrering"
"""The column the monthly duty adds when asked for (`Criteria.maanedlig`), after the others."""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ASKABLE = tuple(m.value for m in Maalgruppe if m.has_duty)


class CriteriaError(ValueError):
    """The extraction's criteria are refused; `message` is readable, `field` names the
    parameter at fault (or None when it concerns several)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Criteria:
    kommunekode: str
    fra: date
    til: date
    maalgruppe: Maalgruppe | None
    kun_adviserede: bool
    today: date
    maanedlig: bool = False  # the column of whole months without registration too

    @property
    def header(self) -> tuple[str, ...]:
        return (*HEADER, MAANEDLIG) if self.maanedlig else HEADER

    @property
    def historical(self) -> bool:
        return self.til < self.today

    @property
    def end(self) -> date:
        """The last day counted: `til`, or today if the period reaches beyond today."""
        return min(self.til, self.today)

    @property
    def days(self) -> int:
        """The period's length in days, both ends included."""
        return (self.til - self.fra).days + 1

    def validate(self, max_days: int) -> None:
        if not is_kommunekode(self.kommunekode):
            raise CriteriaError(
                f"kommunekode {self.kommunekode!r} is not one of the 98 kommunekoder",
                "kommunekode",
            )
        if self.fra > self.til:
            raise CriteriaError(
                f"fra ({self.fra.isoformat()}) is after til ({self.til.isoformat()})", "fra"
            )
        if self.fra > self.today:
            raise CriteriaError(
                f"fra ({self.fra.isoformat()}) is after today ({self.today.isoformat()})", "fra"
            )
        if self.days > max_days:
            raise CriteriaError(
                f"the period {self.fra.isoformat()}..{self.til.isoformat()} is {self.days} days;"
                f" at most {max_days} days are allowed",
                "til",
            )
        if self.maalgruppe is not None and not self.maalgruppe.has_duty:
            raise CriteriaError(
                f"maalgruppe {self.maalgruppe.value!r} carries no duty to register joblogs and"
                f" cannot be extracted; valid values: {', '.join(_ASKABLE)}",
                "maalgruppe",
            )

    @classmethod
    def parse(
        cls,
        kommunekode: str,
        fra: str,
        til: str,
        maalgruppe: str | None,
        kun_adviserede: bool,
        today: date,
        maanedlig: bool = False,
    ) -> Criteria:
        """Criteria from the query's text. Raises CriteriaError for a date that is not
        YYYY-MM-DD or an unknown målgruppe; call `validate` for the remaining rules."""
        group: Maalgruppe | None = None
        if maalgruppe:  # None or "" = not given
            try:
                group = Maalgruppe(maalgruppe)
            except ValueError:
                raise CriteriaError(
                    f"maalgruppe {maalgruppe!r} is unknown; valid values: {', '.join(_ASKABLE)}",
                    "maalgruppe",
                ) from None
        return cls(
            kommunekode=kommunekode,
            fra=parse_date("fra", fra),
            til=parse_date("til", til),
            maalgruppe=group,
            kun_adviserede=kun_adviserede,
            today=today,
            maanedlig=maanedlig,
        )


def parse_date(name: str, text: str) -> date:
    """A query parameter that must be an ISO date YYYY-MM-DD; CriteriaError otherwise."""
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise CriteriaError(f"{name} {text!r} is not a date in the form YYYY-MM-DD", name)


@dataclass(frozen=True)
class JoblogFact:
    """One joblog: when the platform accepted its creation, and its deletion if deleted."""

    joblog_id: str
    oprettet: datetime
    slettet: datetime | None = None


@dataclass(frozen=True)
class NoticeFact:
    """One advisering pair (give only the citizen's notice, or one of the two)."""

    forfaldt: datetime
    udstedt: datetime


@dataclass
class CitizenFacts:
    """Everything about one citizen the row needs, as known at extraction.

    `periods` is the status timeline as from `shared.contract.citizen.timeline` (non-overlapping);
    `activity` the acceptance times of the citizen's joblog changes (the advisering clock's
    notion of activity)."""

    cpr: str
    periods: list[Period]
    exemptions: list[ExemptionPeriod] = field(default_factory=list)
    activity: list[datetime] = field(default_factory=list)
    joblogs: list[JoblogFact] = field(default_factory=list)
    notices: list[NoticeFact] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    cpr: str
    maalgruppe: Maalgruppe
    fritaget: bool
    antal_joblogs: int
    seneste_aktivitet: date | None
    dage_uden_aktivitet: int | None
    antal_adviseringer: int
    seneste_advisering: date | None
    maaneder_uden_registrering: int | None = None  # asked for with `maanedlig`

    def cells(self) -> tuple[str, ...]:
        """The CSV cells in the order of the criteria's header."""
        months = self.maaneder_uden_registrering
        return self._base_cells() + (() if months is None else (str(months),))

    def _base_cells(self) -> tuple[str, ...]:
        return (
            self.cpr,
            self.maalgruppe.value,
            "ja" if self.fritaget else "nej",
            str(self.antal_joblogs),
            _iso(self.seneste_aktivitet),
            "" if self.dage_uden_aktivitet is None else str(self.dage_uden_aktivitet),
            str(self.antal_adviseringer),
            _iso(self.seneste_advisering),
        )


def _iso(day: date | None) -> str:
    return "" if day is None else day.isoformat()


def _day(moment: datetime) -> date:
    return day_of(as_utc(moment))


def row_maalgruppe(facts: CitizenFacts, criteria: Criteria) -> Maalgruppe | None:
    """The row's målgruppe if the citizen is in the population (before `kun_adviserede`)."""
    current = status_on(facts.periods, criteria.today)
    if current is None or current.jobcenter != criteria.kommunekode:
        return None
    group = current.maalgruppe
    if criteria.maalgruppe is None:
        if not group.has_duty:
            return None
    elif group is not criteria.maalgruppe:
        return None
    if criteria.historical and not any(
        p.maalgruppe is group and p.overlaps(criteria.fra, _next_day(criteria.til))
        for p in facts.periods
    ):
        return None
    return group


def _next_day(day: date) -> date:
    return date.fromordinal(day.toordinal() + 1)


def select_row(facts: CitizenFacts, criteria: Criteria) -> Row | None:
    """The citizen's row, or None if he is not in the extraction."""
    group = row_maalgruppe(facts, criteria)
    if group is None:
        return None
    fra, end, today = criteria.fra, criteria.end, criteria.today

    notice_days = [_day(n.forfaldt) for n in facts.notices if _day(n.udstedt) <= today]
    antal_adviseringer = sum(1 for d in notice_days if fra <= d <= end)
    if criteria.kun_adviserede and antal_adviseringer == 0:
        return None
    seneste_advisering = max((d for d in notice_days if d <= end), default=None)

    created: dict[str, date] = {}
    for joblog in facts.joblogs:
        if joblog.slettet is not None and _day(joblog.slettet) <= today:
            continue
        created.setdefault(joblog.joblog_id, _day(joblog.oprettet))
    antal_joblogs = sum(1 for d in created.values() if fra <= d <= end)

    seneste_aktivitet = max((d for d in map(_day, facts.activity) if d <= end), default=None)
    if seneste_aktivitet is not None:
        dage: int | None = (end - seneste_aktivitet).days
    else:
        start = _duty_stretch_start(facts.periods, end)
        dage = None if start is None else (end - start).days

    return Row(
        cpr=facts.cpr,
        maalgruppe=group,
        fritaget=is_exempt(facts.exemptions, end),
        antal_joblogs=antal_joblogs,
        seneste_aktivitet=seneste_aktivitet,
        dage_uden_aktivitet=dage,
        antal_adviseringer=antal_adviseringer,
        seneste_advisering=seneste_advisering,
        maaneder_uden_registrering=_months_missed(facts, criteria) if criteria.maanedlig else None,
    )


def _months_missed(facts: CitizenFacts, criteria: Criteria) -> int:
    """Whole months of the period, over before today, missed under the monthly duty."""
    last = min(criteria.end, criteria.today - timedelta(days=1))
    if last < criteria.fra:
        return 0
    created = [joblog.oprettet for joblog in facts.joblogs]
    return len(forsoemte_maaneder(facts.periods, facts.exemptions, created, criteria.fra, last))


def _duty_stretch_start(periods: Iterable[Period], day: date) -> date | None:
    """The first day of the unbroken run of duty-carrying days containing `day`, or None if
    `day` carries no duty."""
    ordered = list(periods)
    current = status_on(ordered, day)
    if current is None or not current.maalgruppe.has_duty:
        return None
    by_til = {
        p.til: p for p in ordered if p.til is not None and p.fra < p.til and p.maalgruppe.has_duty
    }
    while (before := by_til.get(current.fra)) is not None:
        current = before
    return current.fra


def rows(facts: Iterable[CitizenFacts], criteria: Criteria) -> Iterator[Row]:
    """The extraction's rows, in the order the citizens are given (the caller sorts by cpr)."""
    for citizen in facts:
        row = select_row(citizen, criteria)
        if row is not None:
            yield row
