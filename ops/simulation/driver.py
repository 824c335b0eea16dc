"""`simulate()`: drive a RUNNING platform (JOBLOG_CLOCK=simulated) through a scenario's month,
through Kafka only, as its users would:

- day 0: a tick at the start, the citizens' statuses, then further statuses and fritagelser;
- every day k: that day's activity (accepted at the platform's clock, the day's tick T_k), then
  -- once the platform has processed everything (consumer lag 0 twice in a row) -- the tick of
  the next day, and wait until the notifier has fired every timer due by it (db.clock `fired`);
- at the end: the notices this platform sent on dfdg.notices (Kafka header `dfdg-platform`) and
  stored in db.notices for the generated citizens: the adviseringer, and apart from them the
  monthly notices (lov 371, those with a `noticeType`).
"""

from __future__ import annotations

import asyncio
import json
import time as wallclock
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import TopicPartition

from ops.lag import PlatformLag
from ops.parties import PartyProducers
from ops.simulation.messages import activity_message, exemption_message, status_message
from ops.simulation.report import SimulationReport
from ops.simulation.scenario import AKASSE, Scenario, SimCitizen, SimStatus, generate
from shared.cluster.access import ADMIN, OPERATOR
from shared.cluster.credentials import as_principal
from shared.contract import topics
from shared.contract.tid import as_utc
from shared.platform.akasse_register import AkasseEntry, publish_entry
from shared.platform.clock import CLOCK_ID
from shared.platform.db import connect
from shared.platform.kafka import end_offsets, records_since
from shared.platform.settings import Settings
from shared.readmodel import collections
from shared.readmodel.facts import FactsReader

Progress_ = Callable[[int, int, str], None]
"""progress(done, total, what): called after each step (setup, every simulated day, counting)."""

WAIT_SECONDS = 120.0
"""How long the platform may take to process one day's messages or one tick."""


class _Driver:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = PartyProducers(settings, linger_ms=5)
        self.mongo, self.db = connect(settings)
        self.lag = PlatformLag(as_principal(settings, ADMIN))
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.sent_days: list[int] = []
        self.day = 0

    async def __aenter__(self) -> _Driver:
        await self.lag.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.lag.stop()
        await self.producer.stop()
        await self.mongo.close()

    async def send(self, topic: str, key: str, message: dict[str, Any]) -> None:
        self.sent.append((topic, message))
        self.sent_days.append(self.day)
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
        return await self.db[collections.CLOCK].find_one({"_id": CLOCK_ID}) or {}

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
    settings: Settings, since: dict[TopicPartition, int], cprs: set[str], monthly: bool = False
) -> list[dict[str, Any]]:
    """The adviseringer (or, `monthly`, the monthly notices: those with a `noticeType`) for
    `cprs` this platform (header `dfdg-platform`) sent on the notice topics after the offsets
    `since` (read as the admin: every jobcenter's)."""
    ours = (topics.PLATFORM_HEADER, settings.group_prefix.encode())
    found: list[dict[str, Any]] = []
    async for record in records_since(as_principal(settings, ADMIN), since):
        if ours not in list(record.headers or ()):
            continue
        notice = json.loads(record.value or b"{}")
        if notice.get("cpr") in cprs and ("noticeType" in notice) == monthly:
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
            driver.day = k
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
        monthly = await sent_notices(settings, since, scenario.cprs, monthly=True)
        ours = {"cpr": {"$in": sorted(scenario.cprs)}}
        stored = await driver.db[collections.NOTICES].count_documents(
            {**ours, "noticeType": {"$exists": False}}
        )
        stored_monthly = await driver.db[collections.NOTICES].count_documents(
            {**ours, "noticeType": {"$exists": True}}
        )
        mismatches = await _activity_mismatches(driver, scenario)
        lap("count")
        report(total, total, "counted")
    elapsed = wallclock.monotonic() - began
    return SimulationReport(
        scenario, notices, stored, elapsed, mismatches, ahead, phases, driver.sent,
        monthly, stored_monthly, driver.sent_days,
    )  # fmt: skip


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
