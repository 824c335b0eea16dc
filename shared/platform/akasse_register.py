"""The a-kasse register: which a-kasser exist and which offer a joblog.

Source of truth is the compacted topic dfdg.akasse.register, keyed by akasseNr, one message per
a-kasse (a null value removes it). Each service instance reads it to the end before it starts
consuming, then follows it (a subscriber without consumer group), so operators' changes apply at
run time.

A record is taken only when it names an a-kasse by exactly three ASCII digits, in its key and its
value alike (`record_of`): any other number would become a principal `akasse-<nr>` whose prefixed
consumer-group ACL `akasse-<nr>` also matches other a-kasser's groups ("" matches all of them,
"06" ten). A bad record is refused where it is read: logged as a warning (by the provisioner as
not provisioned), skipped, and the records behind it are read on.
"""

from __future__ import annotations

import json
import logging
import re

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import BaseModel, ValidationError, field_validator

from shared.contract import topics
from shared.platform.kafka import client_options, topic_partitions
from shared.platform.settings import Settings

log = logging.getLogger(__name__)


AKASSE_NR = re.compile(r"[0-9]{3}")
"""An a-kasse's number: three ASCII digits (not "", "06", "0670", "٠٦٧", "067\n")."""


def is_akasse_nr(value: object) -> bool:
    return isinstance(value, str) and AKASSE_NR.fullmatch(value) is not None


class AkasseEntry(BaseModel):
    akasseNr: str
    navn: str = ""
    tilbyderJoblog: bool = False

    @field_validator("akasseNr")
    @classmethod
    def _three_digits(cls, value: str) -> str:
        if not is_akasse_nr(value):
            raise ValueError(f"akasseNr {value[:20]!r} is not 3 digits")
        return value


class BadRegisterRecord(ValueError):
    """A register record that names no a-kasse: refused, and the next record read."""


def record_of(key: bytes | None, value: bytes | None) -> tuple[str, AkasseEntry | None]:
    """A register record as (akasseNr, its entry, None for a tombstone), or BadRegisterRecord:
    the key must be the a-kasse's number, three ASCII digits, and the value's akasseNr the
    same."""
    try:
        nr = key.decode("ascii") if key is not None else None
    except UnicodeDecodeError:
        nr = None
    if nr is None or not is_akasse_nr(nr):
        shown = "no key" if key is None else f"the key {key[:20]!r} is not 3 digits"
        raise BadRegisterRecord(f"{shown}; the key must be the akasseNr")
    if value is None:
        return nr, None
    try:
        entry = AkasseEntry.model_validate(json.loads(value))
    except ValidationError as error:  # (one line for the log: the first problem)
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "value"
        raise BadRegisterRecord(f"key {nr}: {where}: {first['msg']}") from None
    except (ValueError, RecursionError) as error:
        raise BadRegisterRecord(f"key {nr}: the value is not a JSON object: {error}") from None
    if entry.akasseNr != nr:
        raise BadRegisterRecord(f"key {nr}: the value's akasseNr {entry.akasseNr} is another")
    return nr, entry


class AkasseRegister:
    def __init__(self) -> None:
        self._entries: dict[str, AkasseEntry] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the register topic; bad records are logged and skipped."""
        try:
            nr, entry = record_of(key, value)
        except BadRegisterRecord as error:
            if value is not None:  # (a tombstone of a bad key removes nothing: nothing to say)
                log.warning("a-kasse register: refused a bad record: %s", error)
            return
        if entry is None:
            self._entries.pop(nr, None)
        else:
            self._entries[nr] = entry

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
    the operator. A record the platform would refuse is not sent."""
    if not is_akasse_nr(akasse_nr) or (entry is not None and entry.akasseNr != akasse_nr):
        raise BadRegisterRecord(f"akasseNr {akasse_nr[:20]!r}: not 3 digits, or not the entry's")
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        value = entry.model_dump_json().encode() if entry is not None else None
        await producer.send_and_wait(topics.AKASSE_REGISTER, value, key=akasse_nr.encode())
    finally:
        await producer.stop()
