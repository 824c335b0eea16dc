"""The in-process driver bench.scale measures writes with."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient

from harness import (
    FrontEnd,
    start_groups_at_end,
    status,
)
from services.in_process import start_services
from shared.contract import topics
from shared.platform.settings import Settings


async def platform_run(
    settings: Settings, messages: list[dict[str, Any]], cprs: list[str]
) -> float:
    """Jobnet creates a second through the services in-process, each send awaited (bench.scale:
    writes on an empty and on a seeded store)."""
    front = FrontEnd(settings)
    await front.start()
    await start_groups_at_end(settings)
    await front.register("067", True)
    async with AsyncExitStack() as stack:
        await start_services(stack, settings)
        await front.tick(datetime.now(UTC))
        for cpr in cprs:
            await front.send(topics.CITIZEN_STATUS, status(cpr, datetime.now(UTC).date()))
        await front.settle()
        wanted = {m["joblogId"] for m in messages}
        started = time.perf_counter()
        for message in messages:
            await front.send(topics.JOBNET_INBOUND, message)
        await front.wait_for(
            topics.akasse_outbound("067"), lambda m: m.get("logId") in wanted, len(messages), 600
        )
        await front.wait_for(
            topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") in wanted, len(messages), 600
        )
        elapsed = time.perf_counter() - started
    await front.stop()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url)
    await mongo.drop_database(settings.mongodb_database)
    await mongo.close()
    return len(messages) / elapsed
