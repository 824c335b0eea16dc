"""Time helpers: a "day" is a day in Europe/Copenhagen (contract)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def day_of(moment: datetime) -> date:
    """The Copenhagen calendar day a moment falls on."""
    return moment.astimezone(COPENHAGEN).date()


def start_of_day(day: date) -> datetime:
    """Midnight at the start of a Copenhagen day, as an aware UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=COPENHAGEN).astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime (as a database may return it) is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_millis(moment: datetime) -> datetime:
    """The moment as the database stores it (BSON dates hold milliseconds)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def days(n: int) -> timedelta:
    return timedelta(days=n)


# -- bounds (contract, "Times and dates") -------------------------------------------------------

DATE_FLOOR = date(2000, 1, 1)
"""No date of a joblog's activity (soegtDato, aktivitetsdato) or of a status or fritagelse, and
no time a producer gives, is before this day."""
DATE_CEILING = date(2999, 12, 31)
"""No date of a status or fritagelse is after this day (null is the open end): far enough for
any real period, near enough that every day arithmetic on it stays within `datetime`."""
AHEAD_OF_RECEIPT = timedelta(minutes=5)
"""How far a producer's time (tidspunkt, occurredAt) may be after the platform received the
message: its clock may run a little ahead, not into the future (a later time wins a merge)."""
TIME_FLOOR = datetime.combine(DATE_FLOOR, time(0), tzinfo=UTC)
TIME_CEILING = datetime.combine(DATE_CEILING, time(23, 59, 59, 999999), tzinfo=UTC)


def moment_problem(moment: datetime, received: datetime | None = None) -> str | None:
    """What is wrong with a producer's time, None if nothing: before TIME_FLOOR, after
    TIME_CEILING or (given when it was received) more than AHEAD_OF_RECEIPT after `received`.

    Never raises OverflowError: a time in year 1 or 9999 with an offset has no UTC value within
    `datetime`; it is out of bounds all the same."""
    try:
        utc = as_utc(moment)
    except OverflowError:
        utc = TIME_FLOOR - timedelta(1) if moment.year < 5000 else TIME_CEILING + timedelta(1)
    if utc < TIME_FLOOR:
        return f"{moment.isoformat()} is before {DATE_FLOOR.isoformat()}"
    if utc > TIME_CEILING:
        return f"{moment.isoformat()} is after {DATE_CEILING.isoformat()}"
    if received is not None and utc > as_utc(received) + AHEAD_OF_RECEIPT:
        minutes = int(AHEAD_OF_RECEIPT.total_seconds() // 60)
        return (
            f"{moment.isoformat()} is more than {minutes} minutes after the message was received"
            f" ({as_utc(received).isoformat()})"
        )
    return None


def date_problem(day: date, ceiling: date | None = DATE_CEILING) -> str | None:
    """What is wrong with a date, None if nothing: before DATE_FLOOR or after `ceiling`."""
    if day < DATE_FLOOR:
        return f"{day.isoformat()} is before {DATE_FLOOR.isoformat()}"
    if ceiling is not None and day > ceiling:
        return f"{day.isoformat()} is after {ceiling.isoformat()}"
    return None
