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
