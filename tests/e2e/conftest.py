"""The whole platform as its operators run it: every service its own process
(`python -m services <name>`), on the real Kafka and database, with the real clock."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from harness import (
    FrontEnd,
    free_ports,
    infrastructure,
    start_groups_at_end,
    test_settings,
)
from ops.launch import SERVICES, service_env
from shared.platform.settings import Settings

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a service process on these settings (the real clock), plus `extra`."""
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": settings.kafka_security_protocol,
        "KAFKA_SASL_MECHANISM": settings.kafka_sasl_mechanism,
        "JOBLOG_KAFKA_CREDENTIALS": str(settings.kafka_credentials_file),
        "JOBLOG_PLATFORM_CREDENTIALS": str(settings.platform_credentials_file),
        "MONGODB_URL": settings.mongodb_url,
        "MONGODB_DATABASE": settings.mongodb_database,
        "JOBLOG_GROUP_PREFIX": settings.group_prefix,
        "JOBLOG_CLOCK": "real",
        "JOBLOG_API_PORT": str(settings.api_port),
        "JOBLOG_API_TOKENS": json.dumps(settings.api_tokens),
        "JOBLOG_METRICS_PORT_BASE": str(settings.metrics_port_base),
        **extra,
    }


class Processes:
    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.env = process_env(settings, JOBLOG_TICK_INTERVAL_SECONDS="1")

    def start(self, name: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.children[name] = subprocess.Popen(
            [sys.executable, "-m", "services", name], cwd=ROOT, env=service_env(self.env, name),
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill(self, name: str) -> None:
        """kill -9: no shutdown hooks, no commits."""
        self.children[name].send_signal(signal.SIGKILL)
        self.children[name].wait()

    def stop_all(self) -> None:
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children.values():
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()

    def log_of(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


@pytest.fixture(scope="session")
def e2e_settings() -> Settings:
    base = free_ports(range(5))  # every service's metrics port must be free, not just the first
    return test_settings(infrastructure(), JOBLOG_METRICS_PORT_BASE=base, JOBLOG_CLOCK="real")


@pytest.fixture(scope="session")
def processes(
    e2e_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Processes]:
    procs = Processes(e2e_settings, tmp_path_factory.mktemp(f"logs-{uuid.uuid4().hex[:6]}"))
    try:
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture(scope="session")
async def stack(processes: Processes, e2e_settings: Settings) -> AsyncIterator[FrontEnd]:
    front = FrontEnd(e2e_settings)
    await front.start()
    await start_groups_at_end(e2e_settings)
    await front.register("067", True)
    for name in SERVICES:
        processes.start(name)
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (
                    await client.get(f"http://127.0.0.1:{e2e_settings.api_port}/openapi.json")
                ).is_success:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    await front.settle(timeout=120)
    try:
        yield front
    finally:
        await front.stop()
