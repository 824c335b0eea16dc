"""The outbox publishes through the service's own aiokafka producer
(`shared.platform.kafka.Producer`, not FastStream's `publish`): a record is on its topic, keyed by
the cpr and with its content type, once Kafka acknowledged it, and counted per topic at /metrics
(`dfdg_published_messages_total`); after the service stopped, a publish fails as an outage does
(the delivery policy nacks)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiokafka.errors import KafkaConnectionError

from harness import new_cpr
from services.storage.app import SPEC
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal, for_service
from shared.contract import topics
from shared.contract.events import CitizenChange
from shared.platform.kafka import end_offsets, records_since
from shared.platform.runtime import Runtime

pytestmark = pytest.mark.integration


async def test_a_record_is_published_acknowledged_keyed_and_counted(platform):
    admin = as_principal(platform.settings, ADMIN)
    start = await end_offsets(admin, [topics.CITIZEN_CHANGES])
    runtime = Runtime(SPEC.name, for_service(platform.settings, SPEC.name))
    cpr = new_cpr()
    notes = [
        CitizenChange(cpr=cpr, aarsag="joblog", tidspunkt=datetime(2026, 12, 2, 9, m, tzinfo=UTC))
        for m in (1, 2)
    ]
    async with runtime:
        for note in notes:
            await runtime.outbox.publish(topics.CITIZEN_CHANGES, cpr, note)
    records = [r async for r in records_since(admin, start) if r.key == cpr.encode()]
    assert [CitizenChange.model_validate_json(r.value or b"") for r in records] == notes
    assert all(("content-type", b"application/json") in r.headers for r in records)
    counted = runtime.metrics.get_sample_value(
        "dfdg_published_messages_total", {"topic": topics.CITIZEN_CHANGES}
    )
    assert counted == 2
    with pytest.raises(KafkaConnectionError):  # stopped: transient, the batch comes again
        await runtime.outbox.publish(topics.CITIZEN_CHANGES, cpr, notes[0])
