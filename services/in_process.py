"""The Kafka services in one process (tests, benchmarks, the simulation command), each with its
own Kafka principal, as `shared.platform.registry` lists them."""

from __future__ import annotations

from contextlib import AsyncExitStack

from shared.cluster.credentials import for_service
from shared.platform.registry import KAFKA_SERVICES
from shared.platform.runtime import Service
from shared.platform.settings import Settings


async def start_services(stack: AsyncExitStack, settings: Settings) -> list[Service[object]]:
    """Start every Kafka service; `stack` stops them."""
    return [
        await stack.enter_async_context(spec.build(for_service(settings, spec.name)))
        for spec in KAFKA_SERVICES
    ]
