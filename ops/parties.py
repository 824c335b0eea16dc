"""Kafka clients in the parties' names, for the tools that play them (the simulation, the
benchmarks, the tests): each record goes out with the credentials of the party that writes its
topic (`shared.cluster.access.writer_of`), so the tools are held to the same ACLs as the real
parties."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer

from shared.cluster.access import writer_of
from shared.cluster.credentials import as_principal
from shared.platform.kafka import client_options
from shared.platform.settings import Settings


class PartyProducers:
    """One producer per party, opened when first needed."""

    def __init__(self, settings: Settings, **producer_options: Any) -> None:
        self.settings = settings
        self.options = {"acks": "all", **producer_options}
        self._producers: dict[str, AIOKafkaProducer] = {}

    async def producer(self, principal: str) -> AIOKafkaProducer:
        if principal not in self._producers:
            options = client_options(as_principal(self.settings, principal))
            producer = AIOKafkaProducer(**options, **self.options)
            await producer.start()
            self._producers[principal] = producer
        return self._producers[principal]

    async def send(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        """Queue a record (`flush` or `send_and_wait` waits for it)."""
        producer = await self.producer(writer_of(topic))
        await producer.send(topic, value, key=key)

    async def send_and_wait(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        producer = await self.producer(writer_of(topic))
        await producer.send_and_wait(topic, value, key=key)

    async def flush(self) -> None:
        for producer in self._producers.values():
            await producer.flush()

    async def stop(self) -> None:
        for producer in self._producers.values():
            await producer.stop()
        self._producers.clear()
