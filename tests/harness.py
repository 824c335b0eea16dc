"""Test harness: the jobcenter API on a real port. The rest of the tests' driver of the platform
(infrastructure, settings, messages, the front end) is the top-level `harness`, shared with the
benchmarks.
"""

from __future__ import annotations

import asyncio

import httpx
import uvicorn

from shared.platform.settings import Settings


class ApiServer:
    """The jobcenter API on a real port, in this event loop."""

    def __init__(self, settings: Settings) -> None:
        from services.jobcenter_api.app import create_api

        config = uvicorn.Config(
            create_api(settings), host="127.0.0.1", port=settings.api_port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.url = f"http://127.0.0.1:{settings.api_port}"
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task:
            await self._task

    def client(self, token: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)
