"""The platform in-process (all four services and the API) on the real Kafka and database, with
the simulated clock, shared by the integration tests. Each test uses its own citizens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from harness import (
    FrontEnd,
    infrastructure,
    new_cpr,
    start_groups_at_end,
    status,
    test_settings,
)
from services.in_process import start_services
from services.notifier import app as notifier_app
from services.notifier.ports import NotifierPorts
from shared.cluster.credentials import for_service
from shared.contract import topics
from shared.platform.runtime import Service
from shared.platform.settings import Settings
from tests.harness import ApiServer

pytestmark = pytest.mark.integration


class Platform:
    """The running services, and the simulated clock that drives them."""

    def __init__(self, settings: Settings, front: FrontEnd, api: ApiServer) -> None:
        self.settings = settings
        self.front = front
        self.api = api
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.mongo: AsyncMongoClient[dict] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
        self.db = self.mongo[settings.mongodb_database]
        self.services: list[Service[object]] = []
        self.stack = AsyncExitStack()

    async def start_services(self) -> None:
        self.services = await start_services(self.stack, self.settings)

    async def restart_notifier(self) -> Service[NotifierPorts]:
        settings = for_service(self.settings, notifier_app.SPEC.name)
        return await self.stack.enter_async_context(notifier_app.build(settings))

    async def tick(self, now: datetime) -> None:
        """Send a tick and wait until the notifier has fired everything due by then and every
        service follows the new time."""
        self.now = max(self.now, now)
        await self.front.tick(now)
        await self.wait_fired(now)

    async def wait_fired(self, now: datetime, timeout: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            doc = await self.db.clock.find_one({"_id": "platform"})
            adapters_follow = all(
                s.runtime.clock._latest_tick >= now
                for s in self.services
                if s.runtime.follows_ticks
            )
            if doc and doc.get("fired") and doc["fired"] >= now and adapters_follow:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"tick {now} was not processed in time")
            await asyncio.sleep(0.05)

    async def status_stored(self, message: dict, timeout: float = 30) -> None:
        """Wait until storage has processed a status message (quicker than a full settle)."""
        deadline = asyncio.get_running_loop().time() + timeout
        marker = {"_id": f"status:{message['messageId']}"}
        while not await self.db.udgivet.find_one(marker):
            assert asyncio.get_running_loop().time() < deadline, "status message not processed"
            await asyncio.sleep(0.05)

    async def new_member(self, akasse_nr: str | None = "067") -> str:
        """A new citizen on dagpenge, member of `akasse_nr` (from yesterday, so also "today" in
        Copenhagen whatever the UTC hour), stored."""
        cpr = new_cpr()
        message = status(cpr, self.now.date() - timedelta(days=1), akasse_nr=akasse_nr)
        await self.front.send(topics.CITIZEN_STATUS, message)
        await self.status_stored(message)
        return cpr

    async def advance(self, **delta: float) -> datetime:
        await self.tick(self.now + timedelta(**delta))
        return self.now

    async def settle(self) -> None:
        await self.front.settle()


@pytest.fixture(scope="session")
def infra_env() -> dict[str, str]:
    return infrastructure()


@pytest.fixture(scope="session")
async def platform(infra_env: dict[str, str]) -> AsyncIterator[Platform]:
    settings = test_settings(infra_env)
    front = FrontEnd(settings)
    await front.start()
    await start_groups_at_end(settings)
    await front.register("067", True)
    await front.register("099", False)
    api = ApiServer(settings)
    platform = Platform(settings, front, api)
    await platform.start_services()
    await api.start()
    await platform.tick(platform.now)
    try:
        yield platform
    finally:
        await api.stop()
        await platform.stack.aclose()
        await front.stop()
        await platform.mongo.drop_database(settings.mongodb_database)
        await platform.mongo.close()
