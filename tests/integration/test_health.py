"""Issue 14: readiness is true only once the service's consumers are assigned and its database
answers; liveness and /metrics are served beside it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from harness import free_port
from services.storage.app import SPEC, build
from shared.cluster.credentials import for_service

pytestmark = pytest.mark.integration


async def test_ready_only_when_consumers_are_assigned_and_the_database_answers(platform):
    port = free_port()
    settings = for_service(platform.settings, SPEC.name).model_copy(
        update={"metrics_port_base": port}
    )
    storage = build(settings).runtime
    assert not await storage.ready()  # not started: no consumers
    app = storage.app(metrics_offset=0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        run = asyncio.create_task(app.run())
        try:
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                try:
                    answer = await client.get("/health/ready")
                    if answer.status_code == 200:
                        break
                    assert answer.status_code == 503 and answer.text == "not ready\n"
                except httpx.TransportError:
                    pass  # not listening yet
                assert asyncio.get_running_loop().time() < deadline, "never ready"
                await asyncio.sleep(0.2)
            assert (await client.get("/health/live")).text == "live\n"
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200 and "# HELP" in metrics.text
            await storage.mongo.close()  # the database no longer answers
            assert (await client.get("/health/ready")).status_code == 503
        finally:
            app.exit()
            await run
