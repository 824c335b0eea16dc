"""The platform's services, in one place: what `python -m services`, `joblog run`, the
in-process runner (tests, benchmarks, the simulation), the Kafka principals and ACLs, the
consumer-lag check and the docs all read.

A service's `app.py` is its composition root: `build(settings)` makes its `Runtime` with the
handlers wired to their topics and returns it with their ports (a `Service`); the jobcenter API,
an HTTP service, has `serve(settings)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

from shared.contract import topics
from shared.contract.topics import Source

if TYPE_CHECKING:
    from shared.platform.runtime import Service
    from shared.platform.settings import Settings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    role: str
    """What it does, in a line (the README's table of services)."""
    module: str
    """Its composition root: `build(settings)`, or `serve(settings)` for an HTTP service."""
    metrics_offset: int | None
    """Prometheus and health on JOBLOG_METRICS_PORT_BASE + this (None: the API's own port)."""
    consumes: tuple[Source, ...] = ()
    """What it consumes in consumer groups (for lag: "has the platform caught up?")."""
    principal: bool = True
    """It has a Kafka principal of its own, `dfdg-<name>` (the provisioner is the admin)."""

    @property
    def kafka(self) -> bool:
        """A FastStream service (`build`), not an HTTP one (`serve`)."""
        return self.metrics_offset is not None

    def build(self, settings: Settings) -> Service[object]:
        """The Kafka service, composed by its `app.py` (imported only now): its runtime and the
        ports its handlers were made of."""
        build: Callable[[Settings], Service[object]] = import_module(self.module).build
        return build(settings)

    def serve(self, settings: Settings) -> None:
        """Run the HTTP service (blocks)."""
        serve: Callable[[Settings], None] = import_module(self.module).serve
        serve(settings)


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        "provisioner", "topics, SCRAM principals and ACLs; a new a-kasse's within seconds",
        "services.provisioner.app", 4, principal=False,
    ),
    ServiceSpec(
        "storage", "the single shared record: joblogs merged, citizens' status and fritagelser",
        "services.storage.app", 2,
        (Source(topics.JOBLOG_COMMANDS), Source(topics.CITIZEN_STATUS), topics.JOBCENTER_EXEMPTION),
    ),
    ServiceSpec(
        "jobnet-adapter", "Jobnet's format in and out",
        "services.jobnet_adapter.app", 0,
        (Source(topics.JOBNET_INBOUND), Source(topics.JOBLOG_CHANGES)),
    ),
    ServiceSpec(
        "akasse-adapter", "the a-kasser's format in and out",
        "services.akasse_adapter.app", 1,
        (topics.AKASSE_INBOUND, Source(topics.JOBLOG_CHANGES)),
    ),
    ServiceSpec(
        "notifier", "advisering timers and the notices",
        "services.notifier.app", 3,
        (Source(topics.CITIZEN_CHANGES), Source(topics.TIMERS)),
    ),
    ServiceSpec(
        "retention", "deletes what is due: joblogs' optional fields, joblogs, message ids, reads",
        "services.retention.app", 5,
        (Source(topics.JOBLOG_CHANGES), Source(topics.TIMERS)),
    ),
    ServiceSpec(
        "jobcenter-api", "HTTP: udsøgning CSV, joblogs, the access log (reads the database)",
        "services.jobcenter_api.app", None, principal=False,
    ),
)  # fmt: skip
"""In start order: the provisioner makes the topics, principals and ACLs the others need."""

BY_NAME = {spec.name: spec for spec in SERVICES}
KAFKA_SERVICES = tuple(spec for spec in SERVICES if spec.kafka)
PRINCIPALS = tuple(spec.name for spec in SERVICES if spec.principal)
"""The services with a Kafka principal of their own."""


def named(name: str) -> ServiceSpec:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"no service {name!r}; the services: {', '.join(BY_NAME)}") from None
