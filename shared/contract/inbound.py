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
    gentagelse: str | None = None  # the replay it came in (`joblog replay`'s id), if any

    @classmethod
    def of(cls, record: ConsumerRecord[bytes, bytes]) -> Inbound:
        key = record.key.decode(errors="replace") if record.key is not None else None
        body = record.value or b""
        return cls(record.topic, record.partition, record.offset, key, body, replay_of(record))


REPLAY_HEADER = "dfdg-replay"
"""The Kafka header `joblog replay` puts on each message it sends again: the replay's id."""


def replay_of(record: ConsumerRecord[bytes, bytes]) -> str | None:
    for name, value in record.headers or ():
        if name == REPLAY_HEADER and value:
            text: str = bytes(value).decode(errors="replace")
            return text[:64]
    return None
