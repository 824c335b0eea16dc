"""The simulation's scenario: a municipality's month of citizens, statuses, fritagelser and joblog
activity, generated from a seed. Pure: no Kafka, no database, no clock of its own.

Changes after day 0 take effect from the next day (a status or fritagelse from tomorrow), so the
scenario says exactly which days had the duty; the report carries the scenario so that a test
can compute the expected notices independently.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from shared.contract.tid import COPENHAGEN, day_of

AKASSE = "067"
JOBCENTRE = ["101", "147", "151", "157", "165", "173", "185", "217", "461", "751"]
DUTY_GROUPS = {
    "dagpenge": 40,
    "jobparat_kontanthjaelp": 18,
    "aabenlyst_uddannelsesparat": 7,
    "ledighedsydelse": 6,
    "overgangsydelse": 5,
    "selvforsoergelses_hjemrejseydelse": 4,
}
NO_DUTY = "ingen"
MIN_DAYS = 7  # the scenario's mid-month changes need room


@dataclass(frozen=True)
class SimStatus:
    """A status message, sent on day `sent` (gyldigTil None: open-ended)."""

    sent: int
    fra: date
    til: date | None
    maalgruppe: str
    jobcenter: str
    akasseNr: str | None


@dataclass(frozen=True)
class SimExemption:
    """A fritagelse granted on day `sent`."""

    sent: int
    fra: date
    til: date | None
    jobcenter: str


@dataclass(frozen=True)
class SimActivity:
    """One joblog change on day `day`: `jobnet_opret`, `jobnet_ret` or `akasse_created`."""

    day: int
    kind: str
    joblogId: str
    grundversion: int | None = None


@dataclass
class SimCitizen:
    cpr: str
    statuses: list[SimStatus] = field(default_factory=list)
    exemptions: list[SimExemption] = field(default_factory=list)
    activity: list[SimActivity] = field(default_factory=list)


@dataclass(frozen=True)
class Scenario:
    """The generated month. Day k's tick is `tick(k)`: the start's Copenhagen wall-clock time on
    the k-th day after it; activity of day k is accepted at tick(k); the last tick is
    tick(days)."""

    start: datetime
    days: int
    citizens: list[SimCitizen]

    def tick(self, k: int) -> datetime:
        wall = self.start.astimezone(COPENHAGEN).replace(tzinfo=None) + timedelta(days=k)
        return wall.replace(tzinfo=COPENHAGEN, fold=0).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return self.tick(self.days)

    @property
    def cprs(self) -> set[str]:
        return {c.cpr for c in self.citizens}


def _cpr(rng: random.Random) -> str:
    """A valid CPR number (born 1958-2004), without a modulus-11 check digit: digit 7 is 0-3
    for the 1900s and 4 for 2000-2036 (with 0-3, 29 February 2000 would read as 1900)."""
    born = date.fromordinal(date(1958, 1, 1).toordinal() + rng.randrange(365 * 46))
    century = rng.randrange(4) if born.year < 2000 else 4
    return f"{born:%d%m%y}{century}{rng.randrange(1000):03d}"


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate(citizens: int, seed: int, start: datetime, days: int, salt: str = "") -> Scenario:
    """The scenario of `seed`. The cprs also depend on `salt` (the platform's group prefix):
    the same seed on another platform sharing a Kafka then has citizens of its own."""
    if days < MIN_DAYS:
        raise ValueError(f"a simulation covers at least {MIN_DAYS} days, not {days}")
    rng = random.Random(seed)
    cpr_rng = random.Random(f"{seed}:{salt}:{start.isoformat()}")
    day0 = day_of(start)
    cprs: set[str] = set()
    result: list[SimCitizen] = []
    while len(result) < citizens:
        cpr = _cpr(cpr_rng)
        if cpr in cprs:
            continue
        cprs.add(cpr)
        result.append(_citizen(rng, cpr, day0, days))
    return Scenario(start, days, result)


def _citizen(rng: random.Random, cpr: str, day0: date, days: int) -> SimCitizen:
    citizen = SimCitizen(cpr)
    jobcenter = rng.choice(JOBCENTRE)
    group = NO_DUTY if rng.random() < 0.12 else _weighted(rng, DUTY_GROUPS)
    akasse = AKASSE if group == "dagpenge" or rng.random() < 0.1 else None
    # the duty began up to 45 days ago (some are due at once), a few begin later this month
    fra = day0 - timedelta(days=rng.randrange(46))
    if rng.random() < 0.08:
        fra = day0 + timedelta(days=rng.randrange(1, days // 2))
    til = None
    shape = rng.random()
    if shape < 0.12:  # the duty ends mid-month (gyldigTil)
        til = max(day0, fra) + timedelta(days=rng.randrange(2, days))
    citizen.statuses.append(SimStatus(0, fra, til, group, jobcenter, akasse))
    if shape >= 0.12 and shape < 0.2:  # a change sent mid-month, from the next day on
        sent = rng.randrange(1, days - 1)
        new_group = NO_DUTY if rng.random() < 0.6 else _weighted(rng, DUTY_GROUPS)
        new_centre = jobcenter if rng.random() < 0.7 else rng.choice(JOBCENTRE)
        citizen.statuses.append(
            SimStatus(sent, day0 + timedelta(days=sent + 1), None, new_group, new_centre, akasse)
        )
    elif shape >= 0.2 and shape < 0.25:  # no duty first, a duty group from a day this month
        citizen.statuses[0] = SimStatus(0, fra, None, NO_DUTY, jobcenter, akasse)
        later = day0 + timedelta(days=rng.randrange(1, days))
        duty = _weighted(rng, DUTY_GROUPS)
        citizen.statuses.append(SimStatus(0, later, None, duty, jobcenter, akasse))
    if rng.random() < 0.12:  # a fritagelse: past or future, open-ended or not
        sent = 0 if rng.random() < 0.6 else rng.randrange(1, days - 1)
        if sent and any(status.sent == sent for status in citizen.statuses):
            sent -= 1  # not the day a status changes (the two topics race)
        ex_fra = day0 + timedelta(days=rng.randrange(-20, days) if sent == 0 else sent + 1)
        ex_fra = max(ex_fra, citizen.statuses[0].fra)  # granted to his jobcenter's citizen
        ex_til = None if rng.random() < 0.4 else ex_fra + timedelta(days=rng.randrange(3, 25))
        # the jobcenter that has him on its first day, as the platform knows when it arrives
        known = SimCitizen(cpr, [s for s in citizen.statuses if s.sent == 0 or s.sent < sent])
        if (holder := status_on(known, ex_fra)) is not None:
            citizen.exemptions.append(SimExemption(sent, ex_fra, ex_til, holder.jobcenter))
    _activity(rng, citizen, day0, days)
    return citizen


def status_on(citizen: SimCitizen, day: date) -> SimStatus | None:
    """The status in force on `day` (the later message wins where they overlap)."""
    found = None
    for status in citizen.statuses:
        if status.fra <= day and (status.til is None or day < status.til):
            found = status
    return found


def _activity(rng: random.Random, citizen: SimCitizen, day0: date, days: int) -> None:
    rate = rng.choice([0.0, 0.0, 0.0, 0.02, 0.04, 0.08, 0.15, 0.3])
    versions: dict[str, int] = {}
    for k in range(days):
        if rng.random() >= rate:
            continue
        today = day0 + timedelta(days=k)
        status = status_on(citizen, today)
        member = status is not None and status.akasseNr == AKASSE
        roll = rng.random()
        if versions and roll < 0.35:
            joblog_id = rng.choice(sorted(versions))
            citizen.activity.append(SimActivity(k, "jobnet_ret", joblog_id, versions[joblog_id]))
            versions[joblog_id] += 1
        elif member and roll < 0.65:
            joblog_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            citizen.activity.append(SimActivity(k, "akasse_created", joblog_id))
            versions[joblog_id] = 1
        else:
            joblog_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            citizen.activity.append(SimActivity(k, "jobnet_opret", joblog_id))
            versions[joblog_id] = 1
