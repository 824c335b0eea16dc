"""The Kafka services in one process (tests, benchmarks, the simulation command), each with its
own Kafka principal."""

from __future__ import annotations

from contextlib import AsyncExitStack

from services.akasse_adapter.app import AkasseAdapter
from services.jobnet_adapter.app import JobnetAdapter
from services.notifier.app import NotifierService
from services.provisioner.app import ProvisionerService
from services.storage.app import StorageService
from shared.credentials import for_service
from shared.service import Service
from shared.settings import Settings

KAFKA_SERVICES: tuple[type[Service], ...] = (
    ProvisionerService, StorageService, JobnetAdapter, AkasseAdapter, NotifierService,
)  # fmt: skip


async def start_services(stack: AsyncExitStack, settings: Settings) -> list[Service]:
    """Start every Kafka service; `stack` stops them."""
    return [
        await stack.enter_async_context(kind(for_service(settings, kind.name)))
        for kind in KAFKA_SERVICES
    ]
