"""The monthly notices of the registration duty (lov nr. 371 af 28. marts 2022): THE place where
it is decided when they fall due and whether one is sent. Pure functions, no I/O; the month's
rule itself (whole month with the duty, registered or not) is `shared/contract/maanedlig.py`.

Two notices per covered citizen and month, each a *frist* (an entry of the notifier's monthly
queue, `services/notifier/maaned_store.py`) falling due at a fixed instant:

- the reminder (`maanedlig_paamindelse`, to the citizen on dfdg.notices.borger) at midnight
  (Copenhagen) of the day from which `dage` days of the month remain (default 5: the 27th of a
  31-day month): sent if, as far as the platform knows then, the duty applies for the whole
  month and nothing is registered in it yet, and only while the month still runs (a reminder
  whose instant passed while the platform did not know the citizen is sent at the next tick,
  with fewer days left; once the month is over the jobcenter's notice alone judges it). A month
  whose duty began on its 1st is a whole month: the citizen gets the reminder like any other.
- the month's end (`maaned_uden_registrering`, to the jobcenter on jobcenter.<kode>.notices) five
  minutes after the month's end (midnight of the next month's first day; `forfaldt` says the end
  itself), so a creation accepted in the month's last moments is known: sent if the month was
  missed (`maanedlig.forsoemt`), to the jobcenter the citizen belonged to on the month's last day,
  with the målgruppe of that day. The month is judged once, at its first tick after the end, from
  what the platform knew then: a correction of the past learnt later (a status or fritagelse back
  in time) neither withdraws a notice sent nor sends one for a month judged not missed; the
  udsøgning's `maaneder_uden_registrering` always counts by what is known now, so the jobcenter
  sees the correction there. A month that ended before the platform knew the citizen (his first
  status names a duty since months) is not notified either: the jobcenter that sent that status
  knows it, and the udsøgning counts it.

The month's end also queues the next month's two frister while the citizen has a covered
målgruppe on some day from the next month on; a change of the citizen queues the current
month's (`ved_aendring`), so a citizen who becomes covered, now or from a later day, is
followed from the month of the change on. Notice ids are uuid5 of (cpr, month, notice type):
the same notice has the same id across restarts, so it is stored and sent once
(`services/notifier/notices.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from shared.contract.citizen import ExemptionPeriod, Period, status_on
from shared.contract.maanedlig import (
    OMFATTET,
    Maaned,
    forsoemt,
    pligt_hele_maaneden,
    registreret,
)
from shared.contract.tid import COPENHAGEN, as_utc, start_of_day

PAAMINDELSE_DAYS = 5
"""Days of the month left when the reminder is sent: the default of JOBLOG_PAAMINDELSE_DAYS
(`Settings.paamindelse_days`, which repeats it: a unit test holds the two equal)."""

PAAMINDELSE = "maanedlig_paamindelse"
"""`noticeType` of the reminder to the citizen."""
UDEN_REGISTRERING = "maaned_uden_registrering"
"""`noticeType` of the jobcenter's notice of a missed month."""
MODTAGER = {PAAMINDELSE: "borger", UDEN_REGISTRERING: "jobcenter"}

NOTICE_NAMESPACE = uuid5(UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8"), "urn:dfdg:joblog:maaned")
"""uuid5 namespace of the monthly notices' ids (fixed forever)."""


@dataclass(frozen=True)
class Frist:
    """One monthly notice falling due: the reminder or the month's end of `maaned` for `cpr`."""

    cpr: str
    maaned: Maaned
    noticeType: str
    forfald: datetime
    """The instant it falls due (aware UTC)."""


@dataclass(frozen=True)
class MaanedNotice:
    """A monthly notice as sent: the advisering's fields' style, with `noticeType` and `maaned`
    (an advisering has no `noticeType`)."""

    noticeId: UUID
    noticeType: str
    modtager: str
    cpr: str
    jobcenter: str
    maalgruppe: str
    maaned: str
    """The month, "YYYY-MM"."""
    forfaldt: datetime
    """When it fell due: the reminder's instant, or the month's end."""
    udstedt: datetime

    def payload(self) -> dict[str, Any]:
        """The JSON object (times as ISO 8601 with the Copenhagen offset)."""
        return {
            "noticeId": str(self.noticeId),
            "noticeType": self.noticeType,
            "modtager": self.modtager,
            "cpr": self.cpr,
            "jobcenter": self.jobcenter,
            "maalgruppe": self.maalgruppe,
            "maaned": self.maaned,
            "forfaldt": _iso(self.forfaldt),
            "udstedt": _iso(self.udstedt),
        }


def _iso(moment: datetime) -> str:
    return as_utc(moment).astimezone(COPENHAGEN).isoformat()


def notice_id(cpr: str, maaned: Maaned, notice_type: str) -> UUID:
    return uuid5(NOTICE_NAMESPACE, f"{cpr}|{maaned}|{notice_type}")


def maaned_of(value: str) -> Maaned:
    """A month from its "YYYY-MM"."""
    year, month = value.split("-")
    return Maaned(int(year), int(month))


def paamindelse_tid(maaned: Maaned, dage: int) -> datetime:
    """Midnight (Copenhagen) of the day from which `dage` days of the month remain."""
    if not 1 <= dage <= 28:
        raise ValueError("the reminder's days lie from 1 to 28")
    return start_of_day(maaned.next().first_day - timedelta(days=dage))


AFGOERELSE_EFTER = timedelta(minutes=5)
"""How long after its end a month is judged: a creation storage accepted in the month's last
moments reaches the citizen's read model within its batch (seconds), so it counts."""


def afgoerelse_tid(maaned: Maaned) -> datetime:
    """When the month's end falls due: `AFGOERELSE_EFTER` after the month."""
    return maaned.slut + AFGOERELSE_EFTER


def frister(cpr: str, maaned: Maaned, dage: int) -> list[Frist]:
    """The month's reminder and end."""
    return [
        Frist(cpr, maaned, PAAMINDELSE, paamindelse_tid(maaned, dage)),
        Frist(cpr, maaned, UDEN_REGISTRERING, afgoerelse_tid(maaned)),
    ]


def omfattet_fra(periods: Sequence[Period], day: date) -> bool:
    """Whether the citizen has a målgruppe the monthly duty covers on some day from `day` on."""
    return any(p.maalgruppe in OMFATTET and (p.til is None or p.til > day) for p in periods)


def ved_aendring(cpr: str, periods: Sequence[Period], now: datetime, dage: int) -> list[Frist]:
    """The frister a change of the citizen makes sure of: the current month's (of `now`), if he
    is covered on some day of it or later."""
    maaned = Maaned.of(as_utc(now).astimezone(COPENHAGEN).date())
    return frister(cpr, maaned, dage) if omfattet_fra(periods, maaned.first_day) else []


def affyr(
    frist: Frist,
    periods: Sequence[Period],
    exemptions: Sequence[ExemptionPeriod],
    oprettet: Sequence[datetime],
    now: datetime,
    dage: int,
) -> tuple[list[MaanedNotice], list[Frist]]:
    """A frist fired at `now`, from the citizen's facts as known then: the notice it sends (none
    or one) and the frister it queues (the next month's, from the month's end, while the
    citizen is covered on some day from then on)."""
    maaned = frist.maaned
    if frist.noticeType == PAAMINDELSE:
        if as_utc(now) >= maaned.slut:
            return [], []
        group = pligt_hele_maaneden(periods, exemptions, maaned)
        if group is None or registreret(oprettet, maaned):
            return [], []
        return [_notice(frist, periods, str(group), now)], []
    group = forsoemt(periods, exemptions, oprettet, maaned)
    sent = [] if group is None else [_notice(frist, periods, str(group), now)]
    following = maaned.next()
    if not omfattet_fra(periods, following.first_day):
        return sent, []
    return sent, frister(frist.cpr, following, dage)


def _notice(frist: Frist, periods: Sequence[Period], group: str, now: datetime) -> MaanedNotice:
    period = status_on(periods, frist.maaned.last_day)
    assert period is not None  # the duty applies on the month's last day
    return MaanedNotice(
        noticeId=notice_id(frist.cpr, frist.maaned, frist.noticeType),
        noticeType=frist.noticeType,
        modtager=MODTAGER[frist.noticeType],
        cpr=frist.cpr,
        jobcenter=period.jobcenter,
        maalgruppe=group,
        maaned=str(frist.maaned),
        forfaldt=frist.maaned.slut if frist.noticeType == UDEN_REGISTRERING else frist.forfald,
        udstedt=as_utc(now),
    )
