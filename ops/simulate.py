"""`joblog simulate`: a municipality's month on the real platform, with the simulated clock.

`simulate()` generates citizens with statuses (mixed målgrupper, `ingen` included, some whose
duty ends or starts mid-month, some with fritagelser) and joblog activity (Jobnet opret/ret,
a-kasse created) spread over the days, and drives a RUNNING platform (JOBLOG_CLOCK=simulated)
through Kafka only, as its users would:

- day 0: a tick at the start, the citizens' statuses, then further statuses and fritagelser;
- every day k: that day's activity (accepted at the platform's clock, the day's tick T_k), then
  -- once the platform has processed everything (consumer lag 0 twice in a row) -- the tick of
  the next day, and wait until the notifier has fired every timer due by it (db.clock `fired`);
- at the end: the notices this platform sent on dfdg.notices (Kafka header `dfdg-platform`) and
  stored in db.notices for the generated citizens.

Changes after day 0 take effect from the next day (a status or fritagelse from tomorrow), so the
scenario says exactly which days had the duty; the report carries the scenario so that a test
can compute the expected notices independently.

`simulate_command` is the operator's command: a fresh, isolated local Kafka and FerretDB (profile
`sim`, its own ports, removed afterwards) or the `dev`/`test` infrastructure with a database and
consumer groups of its own, the four services in-process, a progress bar, a table of the notices
per jobcenter and the time it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time as wallclock
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import typer
from aiokafka import TopicPartition
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infra import local
from ops.parties import PartyProducers
from shared import topics
from shared.access import ADMIN, OPERATOR
from shared.akasse_register import AkasseEntry, publish_entry
from shared.clock import CLOCK_ID
from shared.credentials import as_principal
from shared.db import connect
from shared.facts import FactsReader
from shared.kafka import PlatformLag, end_offsets, records_since
from shared.kommuner import KOMMUNER
from shared.log import logs_to_file
from shared.settings import Settings
from shared.tid import COPENHAGEN, as_utc, day_of

Progress_ = Callable[[int, int, str], None]
"""progress(done, total, what): called after each step (setup, every simulated day, counting)."""

AKASSE = "067"
WAIT_SECONDS = 120.0
"""How long the platform may take to process one day's messages or one tick."""
PLATFORM_HEADER = "dfdg-platform"  # services.notifier.app.PLATFORM_HEADER; ops reads the topic
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
SIM_PROFILE = local.Profile("sim", 29092, 29093, 27217)
"""The simulation's own local Kafka and FerretDB (a profile of its own, not in local.PROFILES:
fresh on every run, so nothing of earlier runs is replayed into the new consumer groups)."""


# -- the scenario ----------------------------------------------------------------------------


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


# -- messages ----------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(COPENHAGEN).isoformat()


def status_message(cpr: str, status: SimStatus, sent_at: datetime) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()), "cpr": cpr, "jobcenter": status.jobcenter,
        "akasseNr": status.akasseNr, "maalgruppe": status.maalgruppe,
        "gyldigFra": status.fra.isoformat(),
        "gyldigTil": status.til.isoformat() if status.til else None, "tidspunkt": _iso(sent_at),
    }  # fmt: skip


def exemption_message(cpr: str, exemption: SimExemption) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()), "cpr": cpr, "exemptionId": str(uuid.uuid4()),
        "jobcenter": exemption.jobcenter, "handling": "tildel",
        "gyldigFra": exemption.fra.isoformat(),
        "gyldigTil": exemption.til.isoformat() if exemption.til else None,
        "begrundelse": "LAS § 75 stk. 5 (simulation)",
        "alternativDokumentation": "samtaler hver 14. dag",
    }  # fmt: skip


def activity_message(cpr: str, activity: SimActivity, at: datetime) -> tuple[str, dict[str, Any]]:
    if activity.kind == "akasse_created":
        return topics.akasse_inbound(AKASSE), {
            "eventId": str(uuid.uuid4()), "type": "JOBLOG_CREATED", "akasseNr": AKASSE,
            "memberCpr": cpr, "logId": activity.joblogId, "occurredAt": _iso(at),
            "entry": {
                "kind": "APPLICATION", "jobTitle": "Lagermedarbejder",
                "employer": {"name": "Acme A/S", "country": "DK", "postalCode": "8000"},
                "status": "APPLIED",
            },
        }  # fmt: skip
    message: dict[str, Any] = {
        "beskedId": str(uuid.uuid4()),
        "handling": "ret" if activity.kind == "jobnet_ret" else "opret",
        "joblogId": activity.joblogId, "cpr": cpr, "tidspunkt": _iso(at),
        "joblog": {
            "type": "ansoegning", "stilling": "Pædagogmedhjælper", "virksomhed": "Kommunen",
            "land": "DK", "postnummer": "8000", "by": "Aarhus C", "status": "soegt",
            "noter": f"simulation, {activity.kind}",
        },
    }  # fmt: skip
    if activity.grundversion is not None:
        message["grundversion"] = activity.grundversion
    return topics.JOBNET_INBOUND, message


# -- driving the platform --------------------------------------------------------------------


@dataclass
class SimulationReport:
    scenario: Scenario
    notices: list[dict[str, Any]]
    """What this platform sent on dfdg.notices for the scenario's citizens."""
    stored: int
    """Notices in db.notices for the scenario's citizens."""
    elapsed: float
    activity_mismatches: list[str]
    """Citizens whose last activity as stored is not the tick of their last activity day."""
    clock_ahead: list[datetime]
    """Ticks after which the platform's clock was ahead of them (another platform on the same
    Kafka sent a later tick): the run is then not reproducible."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent: `start` (caught up, first tick), `statuses` (day 0), `days`, `count`."""
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every message sent to the platform (topic, message), in the order sent: what a test's
    oracle computes from, rather than from the scenario's own model of it."""

    @property
    def count(self) -> int:
        return len(self.notices)

    @property
    def distinct(self) -> int:
        return len({n["noticeId"] for n in self.notices})

    def per_jobcenter(self) -> dict[str, Counter[str]]:
        result: dict[str, Counter[str]] = {}
        for notice in self.notices:
            result.setdefault(notice["jobcenter"], Counter())[notice["modtager"]] += 1
        return dict(sorted(result.items()))


class _Driver:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = PartyProducers(settings, linger_ms=5)
        self.mongo, self.db = connect(settings)
        self.lag = PlatformLag(as_principal(settings, ADMIN))
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def __aenter__(self) -> _Driver:
        await self.lag.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.lag.stop()
        await self.producer.stop()
        await self.mongo.close()

    async def send(self, topic: str, key: str, message: dict[str, Any]) -> None:
        self.sent.append((topic, message))
        await self.producer.send(topic, key.encode(), json.dumps(message).encode())

    async def settle(self) -> None:
        """Flush, then wait until the platform's consumer groups have no lag, twice in a row."""
        await self.producer.flush()
        deadline = wallclock.monotonic() + WAIT_SECONDS
        quiet = 0
        while quiet < 2:
            if wallclock.monotonic() > deadline:
                raise TimeoutError("the platform did not catch up in time")
            lag = await self.lag()
            quiet = quiet + 1 if lag == 0 else 0
            if quiet < 2:  # ask less often while much is left: every question costs the broker
                await asyncio.sleep(min(0.25, 0.02 + lag * 0.002))

    async def clock(self) -> dict[str, Any]:
        return await self.db.clock.find_one({"_id": CLOCK_ID}) or {}

    async def tick(self, now: datetime) -> bool:
        """Send a tick and wait until every timer due by it has fired; False if the clock is
        ahead of it afterwards (someone else's tick)."""
        await self.producer.send_and_wait(
            topics.TIMERS, b"clock", json.dumps({"now": now.isoformat()}).encode()
        )
        deadline = wallclock.monotonic() + WAIT_SECONDS
        while True:
            doc = await self.clock()
            if doc.get("fired") is not None and as_utc(doc["fired"]) >= now:
                return as_utc(doc["now"]) == now
            if wallclock.monotonic() > deadline:
                raise TimeoutError(f"tick {now} was not processed in time")
            await asyncio.sleep(0.02)


async def sent_notices(
    settings: Settings, since: dict[TopicPartition, int], cprs: set[str]
) -> list[dict[str, Any]]:
    """The notices for `cprs` this platform (header `dfdg-platform`) sent on the notice topics
    after the offsets `since` (read as the admin: every jobcenter's)."""
    ours = (PLATFORM_HEADER, settings.group_prefix.encode())
    found: list[dict[str, Any]] = []
    async for record in records_since(as_principal(settings, ADMIN), since):
        if ours not in list(record.headers or ()):
            continue
        notice = json.loads(record.value or b"{}")
        if notice.get("cpr") in cprs:
            found.append(notice)
    return found


async def simulate(
    settings: Settings,
    citizens: int,
    seed: int,
    start: datetime,
    progress: Progress_ | None = None,
    days: int = 31,
) -> SimulationReport:
    """Simulate `days` days of `citizens` citizens on the running platform of `settings`.

    The month starts at `start` or, if the platform's clock is there already (it never goes
    backwards), a second after the clock (whole seconds)."""
    began = wallclock.monotonic()
    report = progress or (lambda done, total, what: None)
    total = days + 2
    phases: dict[str, float] = {}
    mark = began

    def lap(name: str) -> None:
        nonlocal mark
        phases[name] = wallclock.monotonic() - mark
        mark = wallclock.monotonic()

    async with _Driver(settings) as driver:
        await driver.settle()
        start = as_utc(start).replace(microsecond=0)
        if (clock := await driver.clock()).get("now") is not None:
            # strictly after the clock: a first tick equal to it would count as fired already
            start = max(start, as_utc(clock["now"]).replace(microsecond=0) + timedelta(seconds=1))
        scenario = generate(citizens, seed, start, days, salt=settings.group_prefix)
        since = await end_offsets(as_principal(settings, ADMIN), topics.notice_topics())
        ahead: list[datetime] = []
        await publish_entry(
            as_principal(settings, OPERATOR),
            AkasseEntry(akasseNr=AKASSE, navn="Simulationens a-kasse", tilbyderJoblog=True),
            AKASSE,
        )
        if not await driver.tick(scenario.tick(0)):
            ahead.append(scenario.tick(0))
        lap("start")
        # day 0: each citizen's first status, then (to a citizen the platform knows) the rest
        for citizen in scenario.citizens:
            first = citizen.statuses[0]
            await driver.send(topics.CITIZEN_STATUS, citizen.cpr, _status(citizen, first, 0))
        await driver.settle()
        for citizen in scenario.citizens:
            for i, status in enumerate(citizen.statuses[1:], 1):
                if status.sent == 0:
                    message = _status(citizen, status, i)
                    await driver.send(topics.CITIZEN_STATUS, citizen.cpr, message)
            for exemption in citizen.exemptions:
                if exemption.sent == 0:
                    message = exemption_message(citizen.cpr, exemption)
                    topic = topics.jobcenter_exemption(exemption.jobcenter)
                    await driver.send(topic, citizen.cpr, message)
        await driver.settle()
        lap("statuses")
        report(1, total, "statuses and fritagelser")
        settling = ticking = 0.0
        for k in range(days):
            now = scenario.tick(k)
            for citizen in scenario.citizens:
                await _send_day(driver, scenario, citizen, k, now)
            before = wallclock.monotonic()
            await driver.settle()
            settled = wallclock.monotonic()
            if not await driver.tick(scenario.tick(k + 1)):
                ahead.append(scenario.tick(k + 1))
            settling, ticking = (
                settling + settled - before,
                ticking + wallclock.monotonic() - settled,
            )
            report(k + 2, total, f"day {k + 1} of {days}")
        lap("days")
        phases["days: processing"], phases["days: ticks"] = settling, ticking
        notices = await sent_notices(settings, since, scenario.cprs)
        stored = await driver.db.notices.count_documents({"cpr": {"$in": sorted(scenario.cprs)}})
        mismatches = await _activity_mismatches(driver, scenario)
        lap("count")
        report(total, total, "counted")
    elapsed = wallclock.monotonic() - began
    return SimulationReport(
        scenario, notices, stored, elapsed, mismatches, ahead, phases, driver.sent
    )


def _status(citizen: SimCitizen, status: SimStatus, order: int) -> dict[str, Any]:
    """Status messages of one citizen apply in the order of the scenario: their `tidspunkt` is
    the wall clock plus their index (so a later one wins where they overlap)."""
    return status_message(citizen.cpr, status, datetime.now(UTC) + timedelta(seconds=order))


async def _send_day(
    driver: _Driver, scenario: Scenario, citizen: SimCitizen, k: int, now: datetime
) -> None:
    if k > 0:
        for i, status in enumerate(citizen.statuses):
            if status.sent == k:
                await driver.send(topics.CITIZEN_STATUS, citizen.cpr, _status(citizen, status, i))
        for exemption in citizen.exemptions:
            if exemption.sent == k:
                message = exemption_message(citizen.cpr, exemption)
                topic = topics.jobcenter_exemption(exemption.jobcenter)
                await driver.send(topic, citizen.cpr, message)
    for activity in citizen.activity:
        if activity.day == k:
            topic, message = activity_message(citizen.cpr, activity, now)
            await driver.send(topic, citizen.cpr, message)


async def _activity_mismatches(driver: _Driver, scenario: Scenario) -> list[str]:
    facts = FactsReader(driver.db)
    wrong = []
    for citizen in scenario.citizens:
        expected = max((scenario.tick(a.day) for a in citizen.activity), default=None)
        if (await facts.facts(citizen.cpr)).last_activity != expected:
            wrong.append(citizen.cpr)
    return wrong


# -- the command -------------------------------------------------------------------------------


@contextlib.contextmanager
def _without(*names: str) -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextlib.asynccontextmanager
async def _platform(settings: Settings) -> AsyncIterator[None]:
    from services.in_process import start_services

    async with contextlib.AsyncExitStack() as stack:
        await start_services(stack, settings)
        yield


async def _run(
    settings: Settings, citizens: int, seed: int, days: int, keep_data: bool, console: Console
) -> SimulationReport:
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("starting the platform", total=days + 2)

        def progress(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what)

        await publish_entry(
            as_principal(settings, OPERATOR),
            AkasseEntry(akasseNr=AKASSE, navn="Simulationens a-kasse", tilbyderJoblog=True),
            AKASSE,
        )
        try:
            async with _platform(settings):
                bar.update(task, description="simulating")
                return await simulate(settings, citizens, seed, datetime.now(UTC), progress, days)
        finally:
            if not keep_data:
                mongo, _ = connect(settings)
                await mongo.drop_database(settings.mongodb_database)
                await mongo.close()


def simulate_command(
    citizens: int = typer.Option(1000, help="how many citizens"),
    seed: int = typer.Option(1, help="seed of the scenario"),
    days: int = typer.Option(31, min=MIN_DAYS, help="how many days to simulate"),
    profile: str = typer.Option(
        "sim",
        help="'sim': a fresh Kafka and FerretDB of its own, removed afterwards; 'dev' or 'test': "
        "that infrastructure (or KAFKA_BOOTSTRAP_SERVERS/MONGODB_URL), with a database and "
        "consumer groups of the run's own",
    ),
    keep: bool = typer.Option(False, help="keep the sim infrastructure / the run's database"),
) -> None:
    """Simulate a municipality's month on the real platform with the simulated clock and report
    the adviseringer sent."""
    console = Console()
    began = wallclock.monotonic()
    log = (SIM_PROFILE if profile == "sim" else local.Profile(profile, 0, 0, 0)).run_dir
    logs_to_file(log / "logs" / "simulate.log")  # the terminal: progress and the report only
    console.print(f"log: {log / 'logs' / 'simulate.log'}")
    if profile == "sim":
        with _without("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL"):
            env = local.up(SIM_PROFILE, fresh=True)
    elif profile in local.PROFILES:
        env = local.up(local.PROFILES[profile])
    else:
        raise typer.BadParameter("profile must be sim, " + ", ".join(local.PROFILES))
    run = uuid.uuid4().hex[:8]
    settings = Settings.model_validate(
        {
            **env,
            "MONGODB_DATABASE": f"dfdg_sim_{run}",
            "JOBLOG_GROUP_PREFIX": f"sim-{run}",
            "JOBLOG_CLOCK": "simulated",
            "JOBLOG_METRICS_PORT_BASE": 0,
            "JOBLOG_LOG_LEVEL": "WARNING",
            "JOBLOG_CONSUMER_WORKERS": int(os.environ.get("JOBLOG_CONSUMER_WORKERS", "8")),
        }
    )
    infra_seconds = wallclock.monotonic() - began
    try:
        result = asyncio.run(_run(settings, citizens, seed, days, keep, console))
    finally:
        if profile == "sim" and not keep:
            local.down(SIM_PROFILE)
    _print(console, result, infra_seconds, wallclock.monotonic() - began)


def _print(console: Console, result: SimulationReport, infra: float, total: float) -> None:
    scenario = result.scenario
    table = Table(
        title=f"Adviseringer, {len(scenario.citizens)} citizens, "
        f"{day_of(scenario.start)} to {day_of(scenario.end)}"
    )
    for column in ("jobcenter", "kommune", "borger", "jobcenter notices", "total"):
        table.add_column(column, justify="left" if column == "kommune" else "right")
    for code, counts in result.per_jobcenter().items():
        table.add_row(
            code, KOMMUNER.get(code, "?"), str(counts["borger"]), str(counts["jobcenter"]),
            str(sum(counts.values())),
        )  # fmt: skip
    table.add_row("all", "", "", "", str(result.count), style="bold")
    console.print(table)
    console.print(
        f"notices sent {result.count} (distinct ids {result.distinct}), stored {result.stored}; "
        f"simulation {result.elapsed:.1f} s, infrastructure {infra:.1f} s, total {total:.1f} s"
    )
    console.print(", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.phases.items()))
    if result.activity_mismatches or result.clock_ahead:
        console.print(
            f"[yellow]{len(result.activity_mismatches)} citizens' activity not as sent; "
            f"clock ahead of {len(result.clock_ahead)} ticks[/yellow]"
        )
