"""`joblog replay`: send refused messages back to their source topic for another try, after the
cause is fixed (our bug behind an `internal_error`, or a status that came late).

The rejected records are read from the producer's `*.rejected` topic (as the admin); each
chosen one's raw message (read from its source topic at its offset where the rejection kept only
a part) goes back to its source topic with its key and a `dfdg-replay` header (the replay's id),
and is processed like any other message: one already stored changes nothing, one refused is
decided anew (a plain redelivery of it is not). Every replay is recorded in the
`replays` collection for the audit (who, when, which topic and criteria, which message ids).
"""

from __future__ import annotations

import getpass
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal
from shared.contract.inbound import REPLAY_HEADER
from shared.contract.tid import as_utc
from shared.platform.db import connect
from shared.platform.kafka import client_options, end_offsets, records_since
from shared.platform.settings import Settings
from shared.readmodel import collections


@dataclass
class ReplayReport:
    found: int = 0
    sent: int = 0
    ids: list[str] = field(default_factory=list)


async def chosen(
    settings: Settings, topic: str, reason: str | None, since: datetime | None
) -> AsyncIterator[tuple[bytes | None, dict[str, Any]]]:
    """The rejection records of `topic` (key, record) matching the criteria."""
    start = {tp: 0 for tp in await end_offsets(settings, [topic])}
    async for record in records_since(settings, start):
        try:
            rejection = json.loads(record.value or b"{}")
        except ValueError:
            continue
        if reason is not None and rejection.get("reason") != reason:
            continue
        if since is not None and as_utc(datetime.fromisoformat(rejection["rejectedAt"])) < since:
            continue
        yield record.key, rejection


async def original(settings: Settings, rejection: dict[str, Any]) -> bytes:
    """The whole raw message: kept in the rejection, or (cut there) read at its source."""
    raw: bytes = rejection["raw"].encode()
    if len(raw) == rejection["rawBytes"] or rejection.get("sourceOffset") is None:
        return raw
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(rejection["sourceTopic"], rejection["sourcePartition"])
        consumer.assign([tp])
        consumer.seek(tp, rejection["sourceOffset"])
        record = await consumer.getone()
        return record.value or b""
    finally:
        await consumer.stop()


async def replay(
    settings: Settings,
    topic: str,
    reason: str | None = None,
    since: datetime | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    admin = as_principal(settings, ADMIN)
    report = ReplayReport()
    picked = [pair async for pair in chosen(admin, topic, reason, since)]
    report.found = len(picked)
    if dry_run or not picked:
        return report
    user = getpass.getuser()
    replay_id = str(uuid.uuid4())  # in each message's header: storage decides a refusal anew
    producer = AIOKafkaProducer(**client_options(admin), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, rejection in picked:
            body = await original(admin, rejection)
            headers = [(REPLAY_HEADER, replay_id.encode())]
            await producer.send_and_wait(rejection["sourceTopic"], body, key=key, headers=headers)
            report.sent += 1
            report.ids.append(str(rejection.get("id")))
            if progress is not None:
                progress(report.sent)
    finally:
        await producer.stop()
    mongo, db = connect(settings)
    try:
        await db[collections.REPLAYS].insert_one(
            {
                "_id": replay_id, "af": f"operator:{user}", "tidspunkt": datetime.now(UTC),
                "topic": topic, "aarsag": reason, "siden": since, "antal": report.sent,
                "ids": report.ids,
            }
        )  # fmt: skip
    finally:
        await mongo.close()
    return report
