"""`joblog run` as an operator runs it, on a Kafka and a FerretDB of its own: the broker and
then the database are killed with kill -9; the launcher says so, starts each again on its data,
and the platform works afterwards. The services log the outage in a few lines, not one per
retry."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from harness import FrontEnd, free_ports, ids, jobnet, new_cpr, status
from infra import local
from shared.contract import topics
from shared.platform.settings import Settings

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


class Launcher:
    def __init__(self, tmp: Path) -> None:
        kafka, mongo, metrics, api = _ports()
        self.profile = local.profile_named(f"launcher-{uuid.uuid4().hex[:6]}", kafka, mongo)
        self.output = tmp / "run.out"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "MONGODB_"))}
        env |= {
            "JOBLOG_METRICS_PORT_BASE": str(metrics), "JOBLOG_API_PORT": str(api),
            "JOBLOG_TICK_INTERVAL_SECONDS": "5", "COLUMNS": "200",
        }  # fmt: skip
        command = [
            sys.executable, "-c", "from ops.cli import app; app()", "run",
            "--profile", self.profile.name, "--kafka-port", str(kafka), "--mongo-port", str(mongo),
        ]  # fmt: skip
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def said(self) -> str:
        return self.output.read_text(errors="replace")

    async def wait_until_said(self, text: str, after: int = 0, timeout: float = 120) -> int:
        """Where `text` appears in the output after position `after`."""
        deadline = time.monotonic() + timeout
        while (at := self.said().find(text, after)) < 0:
            assert self.process.poll() is None, f"run exited:\n{self.said()[-3000:]}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.said()[after:][-3000:]}"
            await asyncio.sleep(0.2)
        return at

    def settings(self) -> Settings:
        return Settings.model_validate({
            "KAFKA_BOOTSTRAP_SERVERS": self.profile.kafka_bootstrap,
            "JOBLOG_KAFKA_CREDENTIALS": str(self.profile.parties_credentials),
            "JOBLOG_PLATFORM_CREDENTIALS": str(self.profile.platform_credentials),
        })  # fmt: skip

    def log(self, name: str) -> str:
        return (self.profile.run_dir / "logs" / f"{name}.log").read_text(errors="replace")


def _ports() -> tuple[int, int, int, int]:
    """Kafka's three ports, the database's, five metrics ports and the API's: from
    JOBLOG_LAUNCHER_TEST_PORTS (a base: base..base+2 Kafka, +3 the database, +10.. metrics,
    +20 the API) on a machine shared with other runs, else a free block below the ephemeral
    range (a broker's own connections may take an ephemeral port before its TLS listener binds
    it)."""
    if base := int(os.environ.get("JOBLOG_LAUNCHER_TEST_PORTS", "0")):
        return base, base + 3, base + 10, base + 20
    base = free_ports((0, 1, 2, 3, 10, 11, 12, 13, 14, 20))
    return base, base + 3, base + 10, base + 20


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[Launcher]:
    run = Launcher(tmp_path)
    try:
        yield run
    finally:
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGTERM)
            try:
                run.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                run.process.kill()
        local.down(run.profile)  # (nothing, when run stopped it)
        shutil.rmtree(run.profile.run_dir, ignore_errors=True)


async def _a_joblog_goes_through(front: FrontEnd) -> None:
    cpr, log_id = new_cpr(), ids()
    await front.send(topics.CITIZEN_STATUS, status(cpr, date.today() - timedelta(days=3)))
    await front.send(topics.JOBNET_INBOUND, jobnet("opret", cpr, log_id, datetime.now(UTC)))
    await front.wait_for(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id, timeout=90)


async def test_a_killed_broker_and_database_are_reported_restarted_and_the_platform_works(
    launcher: Launcher,
):
    await launcher.wait_until_said("platform ready", timeout=180)
    front = FrontEnd(launcher.settings())
    await front.start()
    try:
        await _a_joblog_goes_through(front)
        for name in ("kafka", "ferretdb"):
            pid = local.running(launcher.profile, name)
            assert pid is not None
            mark = len(launcher.said())
            os.kill(pid, signal.SIGKILL)
            down = await launcher.wait_until_said(f"{name} is down; restarting in 1.0 s", mark, 30)
            await launcher.wait_until_said(f"{name} restarted (restart 1)", down, 120)
            again = local.running(launcher.profile, name)
            assert again is not None and again != pid
            await _a_joblog_goes_through(front)  # on the same data, with the same passwords
    finally:
        await front.stop()
    deadline = time.monotonic() + 30  # the outage's end is written after 10 s without retries
    while "Kafka reachable again" not in launcher.log("storage"):
        assert time.monotonic() < deadline, launcher.log("storage")[-3000:]
        await asyncio.sleep(0.5)
    for name in ("storage", "jobnet-adapter", "akasse-adapter", "notifier"):
        log = launcher.log(name)
        assert 1 <= log.count("Kafka unreachable: ") <= 2, (name, log[-3000:])  # not per retry
        aiokafka_lines = [line for line in log.splitlines() if " aiokafka" in line]
        assert len(aiokafka_lines) <= 20, (name, aiokafka_lines[:40])  # was hundreds a second
    launcher.process.send_signal(signal.SIGTERM)  # as Ctrl-C: everything stops
    assert launcher.process.wait(timeout=60) == 0, launcher.said()[-2000:]
    assert local.status(launcher.profile) == {"kafka": "stopped", "ferretdb": "stopped"}
