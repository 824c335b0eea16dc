"""The a-kasse register: which a-kasser exist and which offer a joblog.

Source of truth is the compacted topic dfdg.akasse.register, keyed by akasseNr, one message per
a-kasse (a null value removes it). Each service instance reads it to the end before it starts
consuming, then follows it (a subscriber without consumer group), so operators' changes apply at
run time.
"""

from __future__ import annotations

import json
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import BaseModel, ValidationError

from shared.contract import topics
from shared.platform.kafka import client_options, topic_partitions
from shared.platform.settings import Settings

log = logging.getLogger(__name__)


class AkasseEntry(BaseModel):
    akasseNr: str
    navn: str = ""
    tilbyderJoblog: bool = False


class AkasseRegister:
    def __init__(self) -> None:
        self._entries: dict[str, AkasseEntry] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the register topic; bad records are logged and skipped."""
        if value is None:
            if key is not None:
                self._entries.pop(key.decode(errors="replace"), None)
            return
        try:
            entry = AkasseEntry.model_validate(json.loads(value))
        except (ValueError, ValidationError, RecursionError) as error:
            log.warning("skipping a bad a-kasse register record: %s", error)
            return
        self._entries[entry.akasseNr] = entry

    def get(self, akasse_nr: str | None) -> AkasseEntry | None:
        return self._entries.get(akasse_nr) if akasse_nr else None

    def entries(self) -> list[AkasseEntry]:
        return list(self._entries.values())

    def offers_joblog(self, akasse_nr: str | None) -> bool:
        entry = self.get(akasse_nr)
        return entry is not None and entry.tilbyderJoblog

    async def load(self, settings: Settings) -> None:
        """Read the whole compacted topic up to its current end."""
        consumer = AIOKafkaConsumer(
            **client_options(settings), enable_auto_commit=False, group_id=None
        )
        await consumer.start()
        try:
            assigned = await topic_partitions(consumer, [topics.AKASSE_REGISTER])
            if not assigned:
                return
            consumer.assign(assigned)
            await consumer.seek_to_beginning(*assigned)
            end = await consumer.end_offsets(assigned)
            remaining = {tp for tp in assigned if end[tp] > 0}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=1000)
                for records in batch.values():
                    for record in records:
                        self.apply(record.key, record.value)
                for tp in list(remaining):
                    if await consumer.position(tp) >= end[tp]:
                        remaining.discard(tp)
        finally:
            await consumer.stop()


async def publish_entry(settings: Settings, entry: AkasseEntry | None, akasse_nr: str) -> None:
    """Operators' way to change the register (None removes the a-kasse); `settings` connect as
    the operator."""
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        value = entry.model_dump_json().encode() if entry is not None else None
        await producer.send_and_wait(topics.AKASSE_REGISTER, value, key=akasse_nr.encode())
    finally:
        await producer.stop()
