"""The monthly registration duty: THE place where the rule of lov nr. 371 af 28. marts 2022
lives (Skrivelse 9339 af 30/3 2022). Pure functions, no I/O.

Since 1 April 2022 jobparate and åbenlyst uddannelsesparate recipients of kontanthjælp and
uddannelseshjælp, of selvforsørgelses- og hjemrejseydelse and of overgangsydelse must register
job search in a joblog "i hver hele kalendermåned"; a whole calendar month without one leads to
a sanction the kommune decides. The 30-day advisering (services/notifier/advisering.py) is
STAR's older rule for every group with the duty; this one is the law's for these groups only.

- A *month* is a calendar month in Europe/Copenhagen: from midnight of its first day (local
  time) to midnight of the next month's first day (`Maaned.start`, `Maaned.slut`, aware UTC).
- The duty *applies for the whole month* when on every day of it the citizen's målgruppe is one
  the law covers (`OMFATTET`: jobparat_kontanthjaelp, aabenlyst_uddannelsesparat,
  overgangsydelse, selvforsoergelses_hjemrejseydelse) and no fritagelse covers the day. A month
  the duty began in (from the 2nd or later) or ended in, or with a fritagelse on any of its
  days, does not count: the law speaks of whole months. A change from one covered målgruppe to
  another inside the month keeps the duty; the målgruppe reported is the one on the last day.
- He *registered* in the month when the platform accepted the creation (`opret`) of a joblog,
  from either front end, at a moment of the month. A change or a deletion registers no new job
  search; a joblog created in the month and deleted later still was registered (the deletion
  is in the joblog's history for the kommune to weigh; a month judged missed at its end must
  not change afterwards).
- A month is *missed* when the duty applied for the whole of it and nothing was registered.

The notices of the duty (a reminder to the citizen, a missed month to the jobcenter) and what
was chosen where the law is silent (a month judged once, at its end, from what was known then;
the reminder while the month runs, also for a duty from the 1st) in
`services/notifier/maaned.py`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.contract.citizen import ExemptionPeriod, Maalgruppe, Period, is_exempt, status_on
from shared.contract.tid import as_utc, start_of_day

OMFATTET = frozenset(
    {
        Maalgruppe.JOBPARAT_KONTANTHJAELP,
        Maalgruppe.AABENLYST_UDDANNELSESPARAT,
        Maalgruppe.OVERGANGSYDELSE,
        Maalgruppe.SELVFORSOERGELSES_HJEMREJSEYDELSE,
    }
)
"""The målgrupper the monthly duty covers (of ours: dagpenge and ledighedsydelse are not)."""


@dataclass(frozen=True, order=True)
class Maaned:
    """A calendar month (Copenhagen)."""

    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Maaned:
        return cls(day.year, day.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """Midnight of the first day, Copenhagen time, as aware UTC."""
        return start_of_day(self.first_day)

    @property
    def slut(self) -> datetime:
        """Midnight of the next month's first day: the month is over from this moment."""
        return self.next().start

    def next(self) -> Maaned:
        return Maaned(self.year + self.month // 12, self.month % 12 + 1)

    def days(self) -> Iterable[date]:
        day = self.first_day
        while day.month == self.month:
            yield day
            day += timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def pligt_hele_maaneden(
    periods: Sequence[Period], exemptions: Sequence[ExemptionPeriod], maaned: Maaned
) -> Maalgruppe | None:
    """The covered målgruppe on the month's last day, if the duty applied on every day of the
    month; else None."""
    group: Maalgruppe | None = None
    for day in maaned.days():
        period = status_on(periods, day)
        if period is None or period.maalgruppe not in OMFATTET or is_exempt(exemptions, day):
            return None
        group = period.maalgruppe
    return group


def registreret(oprettet: Iterable[datetime], maaned: Maaned) -> bool:
    """Whether a joblog creation was accepted at a moment of the month."""
    start, slut = maaned.start, maaned.slut
    return any(start <= as_utc(moment) < slut for moment in oprettet)


def forsoemt(
    periods: Sequence[Period],
    exemptions: Sequence[ExemptionPeriod],
    oprettet: Sequence[datetime],
    maaned: Maaned,
) -> Maalgruppe | None:
    """The målgruppe, if the month was missed: the duty applied for the whole of it and no
    joblog was created in it; else None."""
    group = pligt_hele_maaneden(periods, exemptions, maaned)
    if group is None or registreret(oprettet, maaned):
        return None
    return group


def hele_maaneder(fra: date, til: date) -> list[Maaned]:
    """The calendar months wholly inside the days `fra` to `til` (both included)."""
    months = []
    maaned = Maaned.of(fra)
    if maaned.first_day < fra:
        maaned = maaned.next()
    while maaned.last_day <= til:
        months.append(maaned)
        maaned = maaned.next()
    return months


def forsoemte_maaneder(
    periods: Sequence[Period],
    exemptions: Sequence[ExemptionPeriod],
    oprettet: Sequence[datetime],
    fra: date,
    til: date,
) -> list[Maaned]:
    """The missed months among the whole months of the days `fra` to `til`."""
    return [
        maaned
        for maaned in hele_maaneder(fra, til)
        if forsoemt(periods, exemptions, oprettet, maaned) is not None
    ]
