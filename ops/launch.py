"""What `joblog run` starts and watches: N instances of each service as supervised processes
(each with its own log, metrics port and, for the API, HTTP port), and the local Kafka and
FerretDB, restarted with their data when they die."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from infra import local
from ops.supervisor import Supervisor
from shared.cluster.credentials import for_service
from shared.platform import registry
from shared.platform.settings import Settings

ROOT = local.ROOT
SERVICES = [spec.name for spec in registry.SERVICES]
METRICS_STRIDE = len(registry.KAFKA_SERVICES)
"""Instance i's metrics ports are JOBLOG_METRICS_PORT_BASE + i * METRICS_STRIDE + offset."""


@dataclass(frozen=True)
class Instance:
    """One process of a service: `storage`, or `storage-2` when several run."""

    service: str
    index: int  # 0-based
    instances: int

    @property
    def name(self) -> str:
        return self.service if self.instances == 1 else f"{self.service}-{self.index + 1}"

    def settings(self, env: dict[str, str]) -> Settings:
        return Settings.model_validate(self.env(env))

    def env(self, env: dict[str, str]) -> dict[str, str]:
        """The platform's environment with this instance's ports (and its own principal)."""
        base = Settings.model_validate(env)
        ports = {
            "JOBLOG_API_PORT": str(base.api_port + self.index),
            "JOBLOG_METRICS_PORT_BASE": str(
                base.metrics_port_base + self.index * METRICS_STRIDE
                if base.metrics_port_base
                else 0
            ),
            "PYTHONPATH": str(ROOT),  # this checkout's code, wherever the command runs from
        }
        return service_env({**env, **ports}, self.service)

    def ready_url(self, env: dict[str, str]) -> str | None:
        settings = self.settings(env)
        if not registry.named(self.service).kafka:
            return f"http://127.0.0.1:{settings.api_port}/openapi.json"
        port = self.metrics_port(settings)
        return f"http://127.0.0.1:{port}/health/ready" if port else None

    def where(self, env: dict[str, str], logs: Path) -> str:
        settings = self.settings(env)
        if not registry.named(self.service).kafka:
            return (
                f"http://{settings.api_host}:{settings.api_port}/docs, log {logs / self.name}.log"
            )
        port = self.metrics_port(settings)
        metrics = f"metrics http://127.0.0.1:{port}/metrics, " if port else ""
        return f"{metrics}log {logs / self.name}.log"

    def metrics_port(self, settings: Settings) -> int | None:
        """Where this instance serves metrics and health (its settings hold its own base)."""
        offset = registry.named(self.service).metrics_offset
        if not settings.metrics_port_base or offset is None:
            return None
        return settings.metrics_port_base + offset


def instances_of(count: int) -> list[Instance]:
    return [Instance(service, i, count) for service in SERVICES for i in range(count)]


def start_services(
    supervisor: Supervisor, env: dict[str, str], logs: Path, count: int = 1
) -> list[Instance]:
    """Every service `count` times as a supervised process, each with its own log."""
    started = instances_of(count)
    for instance in started:
        command = [sys.executable, "-m", "services", instance.service]
        supervisor.start(instance.name, command, instance.env(env), logs / f"{instance.name}.log")
    return started


def watch_infrastructure(supervisor: Supervisor, profile: local.Profile) -> None:
    """Kafka and FerretDB of `profile` (those this launcher started, not external ones): a dead
    one is reported and started again on the same data (nothing is lost: Kafka's log and
    FerretDB's SQLite files stay; the passwords are the same)."""
    logs = profile.run_dir / "logs"
    if not local.external_kafka():
        supervisor.watch(
            "kafka",
            lambda: local.running(profile, "kafka") is not None,
            lambda: local.start_kafka(profile),
            logs / "kafka.out",
        )
    if not local.external_mongodb():
        supervisor.watch(
            "ferretdb",
            lambda: local.running(profile, "ferretdb") is not None,
            lambda: _start_ferretdb(profile),
            logs / "ferretdb.out",
        )


def _start_ferretdb(profile: local.Profile) -> None:
    local.start_ferretdb(profile)  # (the URL is the one the services have: same password)


def service_env(env: dict[str, str], name: str) -> dict[str, str]:
    """The environment of one service process: its own Kafka principal on the local platform."""
    if env.get("KAFKA_SASL_USERNAME") or not env.get("JOBLOG_PLATFORM_CREDENTIALS"):
        return env
    settings = for_service(Settings.model_validate(env), name)
    return {
        **env,
        "KAFKA_SASL_USERNAME": settings.kafka_sasl_username,
        "KAFKA_SASL_PASSWORD": settings.kafka_sasl_password.get_secret_value(),
    }
