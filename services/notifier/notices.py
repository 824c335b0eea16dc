"""The notices' outbox: each stored before it is sent and marked when Kafka acknowledged it; a
notice found unmarked after a crash is looked up in its topic (from the offsets recorded before
it was first sent) before it is sent again.

Every notice carries the Kafka header `dfdg-platform` (`topics.PLATFORM_HEADER`, the platform's
JOBLOG_GROUP_PREFIX): the lookup counts only what this platform sent."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence

from services.notifier.ports import NotifierPorts
from services.notifier.records import Notice, StoredNotice, notice_topic
from shared.contract import topics

log = logging.getLogger("dfdg.notifier")


async def send(notices: Sequence[Notice], ports: NotifierPorts) -> None:
    """Store the notices (adviseringer and monthly ones alike) with the ends of their topics,
    then send those not yet sent."""
    names = sorted({notice_topic(n) for n in notices})
    checkpoint = await ports.notices.end_offsets(names)
    pending, stored_before = await ports.store.add_pending(notices, checkpoint)
    if pending and stored_before:  # left unmarked by a crash: maybe sent, maybe not
        pending = await not_in_topic(pending, ports)
    await publish_notices(pending, ports)
    await ports.store.settled(notices)


async def publish_notices(pending: list[StoredNotice], ports: NotifierPorts) -> None:
    """Send the notices (all at once), then mark them published."""
    headers = {"content-type": "application/json", topics.PLATFORM_HEADER: ports.platform_id}

    async def publish(stored: StoredNotice) -> None:
        notice = stored.notice
        body = json.dumps(notice.payload(), ensure_ascii=False).encode()
        await ports.notices.publish(stored.topic, notice.cpr, body, headers)
        ports.count_sent(notice.modtager)

    await asyncio.gather(*(publish(stored) for stored in pending))
    await ports.store.mark_published(stored.id for stored in pending)


async def recover_once(ports: NotifierPorts) -> None:
    """Recovery runs before the first tick this instance handles: it publishes, so it needs the
    broker connected, which it is not yet while the service starts."""
    await ports.recovery.run(lambda: recover(ports))


async def recover(ports: NotifierPorts) -> None:
    """Send what a crash left unmarked, unless it is already in the topic."""
    pending = await ports.store.pending()
    if pending:
        log.info("recovering %d notices left unmarked", len(pending))
        await publish_notices(await not_in_topic(pending, ports), ports)


async def not_in_topic(pending: list[StoredNotice], ports: NotifierPorts) -> list[StoredNotice]:
    """The pending notices not found in their topics after their checkpoints; those found are
    marked published."""
    start: dict[tuple[str, int], int] = {}
    for stored in pending:
        for mark in stored.checkpoint:
            part = (mark.topic, mark.partition)
            start[part] = min(start.get(part, mark.offset), mark.offset)
    seen = {
        notice_id_of(record.value)
        async for record in ports.notices.records_since(start)
        if sent_by(record.headers, ports.platform_id)
    }
    await ports.store.mark_published(stored.id for stored in pending if stored.id in seen)
    return [stored for stored in pending if stored.id not in seen]


def sent_by(headers: Sequence[tuple[str, bytes]] | None, platform_id: str) -> bool:
    """Whether a notice record was sent by this platform; a record without the header was sent
    before it existed, by this platform (one platform per Kafka in production)."""
    values = [value for key, value in headers or () if key == topics.PLATFORM_HEADER]
    return not values or values[-1] == platform_id.encode()


def notice_id_of(value: bytes | None) -> str:
    try:
        return str(json.loads(value or b"{}").get("noticeId"))
    except (ValueError, AttributeError):
        return ""
