"""A Kafka record as a handler receives it (plain data: the rules and handlers need no Kafka)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiokafka import ConsumerRecord


@dataclass(frozen=True)
class Inbound:
    """One record as received: enough to process it, and to point back at it when rejecting."""

    topic: str
    partition: int | None
    offset: int | None
    key: str | None
    body: bytes

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> Inbound:
        key = record.key.decode(errors="replace") if record.key is not None else None
        return cls(record.topic, record.partition, record.offset, key, record.value or b"")
