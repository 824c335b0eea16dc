"""The service processes as `joblog run` starts them, their CPU (/proc/<pid>/stat), and the
settings, environment and a-kasse of a run."""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from bench.throughput.messages import AKASSE, Sizes
from infra import local, processes
from ops.lag import PlatformLag
from ops.launch import Instance
from ops.launch import start_services as start_processes
from ops.supervisor import Supervisor
from shared.cluster.access import ADMIN, OPERATOR
from shared.cluster.credentials import as_principal
from shared.cluster.provisioning import Provisioning
from shared.platform.akasse_register import AkasseEntry, publish_entry
from shared.platform.settings import Settings


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (its threads included), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after the command's name: field 3 (state) on
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_jiffies() -> tuple[int, int]:
    """The whole machine's CPU time so far (/proc/stat, in clock ticks): busy, and in all (idle
    and waiting for I/O included). Other sessions' processes count too: the machine is shared."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


def infrastructure_pids(settings: Settings) -> dict[str, int]:
    """Kafka's and FerretDB's pids when a local profile of this checkout runs them (its folder
    holds the platform credentials file and the pid files)."""
    found: dict[str, int] = {}
    credentials = settings.platform_credentials_file
    if credentials is None:
        return found
    run_dir = Path(credentials).parent
    for name in local.COMPONENTS:
        if (pid := processes.read_pid(run_dir / f"{name}.pid", run_dir)) is not None:
            found[name] = pid
    return found


class Platform:
    """The service processes, as `joblog run` starts them, on `env`."""

    def __init__(self, env: dict[str, str], logs: Path, infra: dict[str, int]) -> None:
        self.env, self.logs, self.infra = env, logs, infra
        self.supervisor = Supervisor(lambda text: print(f"supervisor: {text}", flush=True))
        self.instances: list[Instance] = []

    def start(self) -> None:
        self.instances = start_processes(self.supervisor, self.env, self.logs)

    def pids(self) -> dict[str, int]:
        services = {
            name: pid for name, s in self.supervisor.services.items() if (pid := s.pid) is not None
        }
        return {**services, **self.infra}

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids().items()}

    async def ready(self) -> dict[str, tuple[float, float]]:
        """Wait until every service answers its readiness URL; for each, the time
        (perf_counter) it was first seen ready and its CPU seconds then."""
        waiting = {i.name: url for i in self.instances if (url := i.ready_url(self.env))}
        pids = self.pids()
        seen: dict[str, tuple[float, float]] = {}
        while waiting:
            self.check()
            answers = await asyncio.gather(
                *(asyncio.to_thread(_ready, u) for u in waiting.values())
            )
            for (name, _), ok in zip(list(waiting.items()), answers, strict=True):
                if ok:
                    seen[name] = (time.perf_counter(), cpu_seconds(pids[name]))
                    del waiting[name]
            await asyncio.sleep(0.05)
        return seen

    def check(self) -> None:
        for name, service in self.supervisor.services.items():
            if service.process is not None and service.process.poll() is not None:
                self.show_logs()
                raise SystemExit(f"{name} died (exit {service.process.returncode})")

    def show_logs(self, last: int = 15) -> None:
        for log in sorted(self.logs.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()
            print(f"--- {log}: the last {last} of {len(lines)} lines")
            print("\n".join(line[:300] for line in lines[-last:]))

    def stop(self) -> None:
        self.supervisor.stop_all()

    def sums(self, service: str, metric: str, label: str) -> dict[str, float]:
        """A histogram's `_sum` by `label`, as a service's metrics serve it now (one instance)."""
        instance = next(i for i in self.instances if i.service == service)
        port = instance.metrics_port(instance.settings(self.env))
        text = _get(f"http://127.0.0.1:{port}/metrics")
        return {
            sample.labels[label]: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == f"{metric}_sum"
        }


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return str(answer.read().decode())


def process_env(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """The service processes' environment: the infrastructure, this run's database and groups,
    the real clock, free API and metrics ports."""
    return {
        **os.environ,
        **env,
        "MONGODB_DATABASE": settings.mongodb_database,
        "JOBLOG_GROUP_PREFIX": settings.group_prefix,
        "JOBLOG_CLOCK": "real",
        "JOBLOG_API_PORT": str(settings.api_port),
        "JOBLOG_API_TOKENS": json.dumps(settings.api_tokens),
        "JOBLOG_METRICS_PORT_BASE": str(settings.metrics_port_base),
    }


async def settle(lag: PlatformLag, platform: Platform, timeout: float = 1800) -> None:
    """Until the services' consumer groups have no lag (twice in a row)."""
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 2:
        platform.check()
        if time.monotonic() > deadline:
            raise SystemExit("the platform did not catch up")
        quiet = quiet + 1 if await lag() == 0 else 0
        await asyncio.sleep(0.2)


async def register_akasse(settings: Settings) -> None:
    admin = as_principal(settings, ADMIN)
    await asyncio.to_thread(Provisioning(admin).akasse, AKASSE)
    entry_ = AkasseEntry(akasseNr=AKASSE, navn=f"A-kasse {AKASSE}", tilbyderJoblog=True)
    await publish_entry(as_principal(settings, OPERATOR), entry_, AKASSE)


@dataclass
class Run:
    sizes: Sizes
    settings: Settings
    env: dict[str, str]
    logs: Path
    figures: dict[str, Any] = field(default_factory=dict)


BENCH_PROFILE = local.Profile("bench", 39192, 39193, 27517, unauthenticated_port=39194)
