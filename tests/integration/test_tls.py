"""The contract's settings work against a cluster with SASL over TLS (as production runs it): the
local Kafka has such a listener, with a CA made for the profile (KAFKA_SSL_CAFILE)."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from harness import ids, jobnet
from infra.kafka import make_certificates
from shared.cluster.credentials import as_principal
from shared.cluster.provisioning import Provisioning
from shared.contract import topics
from shared.platform.kafka import broker_security, client_options, topic_partitions
from shared.platform.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def tls(platform, infra_env) -> Settings:
    assert "JOBLOG_KAFKA_TLS_BOOTSTRAP" in infra_env, "the local Kafka has a TLS listener"
    return platform.settings.model_copy(
        update={
            "kafka_bootstrap_servers": infra_env["JOBLOG_KAFKA_TLS_BOOTSTRAP"],
            "kafka_security_protocol": "SASL_SSL",
            "kafka_ssl_cafile": infra_env["JOBLOG_KAFKA_TLS_CAFILE"],
        }
    )


async def test_a_front_end_over_sasl_ssl_sends_and_receives(platform, tls):
    cpr = await platform.new_member()
    log_id = ids()
    jobnet_tls = as_principal(tls, "jobnet")
    consumer = AIOKafkaConsumer(**client_options(jobnet_tls), enable_auto_commit=False)
    await consumer.start()
    parts = await topic_partitions(consumer, [topics.JOBNET_OUTBOUND])
    consumer.assign(parts)
    await consumer.seek_to_end(*parts)
    for tp in parts:
        await consumer.position(tp)  # the end, before we send
    producer = AIOKafkaProducer(**client_options(jobnet_tls), acks="all")
    await producer.start()
    try:
        message = jobnet("opret", cpr, log_id, platform.now)
        await producer.send_and_wait(
            topics.JOBNET_INBOUND, json.dumps(message).encode(), key=cpr.encode()
        )
        deadline = asyncio.get_running_loop().time() + 30
        found = None
        while found is None:
            assert asyncio.get_running_loop().time() < deadline, "no outbound over TLS"
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if json.loads(record.value or b"{}").get("joblogId") == log_id:
                        found = record
        assert json.loads(found.value or b"{}")["version"] == 1
    finally:
        await producer.stop()
        await consumer.stop()


async def test_the_admin_client_and_a_faststream_broker_over_sasl_ssl(tls):
    listed = Provisioning(as_principal(tls, "admin")).admin.list_topics(timeout=15).topics
    assert topics.JOBNET_INBOUND in listed
    front_end = as_principal(tls, "jobnet")
    broker = KafkaBroker(tls.kafka_bootstrap_servers, security=broker_security(front_end))
    await broker.start()
    try:  # (refused as malformed, like any such message)
        await broker.publish(b"{probe over TLS", topics.JOBNET_INBOUND, key=b"0101901234")
    finally:
        await broker.stop()


async def test_a_server_the_ca_did_not_sign_is_refused(tls, tmp_path):
    other_ca, _ = make_certificates()
    (tmp_path / "other-ca.pem").write_bytes(other_ca)
    wrong = tls.model_copy(update={"kafka_ssl_cafile": str(tmp_path / "other-ca.pem")})
    producer = AIOKafkaProducer(**client_options(as_principal(wrong, "jobnet")))
    with pytest.raises((KafkaError, OSError)):
        await asyncio.wait_for(producer.start(), 15)
    await producer.stop()
