"""Issue 23 item 5 on the real local broker (one broker): the replication of every topic is a
setting (JOBLOG_REPLICATION_FACTOR, JOBLOG_MIN_INSYNC_REPLICAS), checked at provisioning
against the cluster's brokers; the topics are made with it, as the admin client reads back.
And which passwords a provisioning sets on the cluster (`renew`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from confluent_kafka.admin import (
    ConfigResource,
    ConfigSource,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
)
from pydantic import SecretStr

import harness
from shared.cluster import credentials
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal
from shared.cluster.provisioning import (
    TIMEOUT_SECONDS,
    Provisioning,
    ProvisioningRefused,
)
from shared.platform.kafka import client_options
from shared.platform.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def admin(infra_env: dict[str, str]) -> Settings:
    return as_principal(harness.test_settings(infra_env), ADMIN)


@pytest.fixture
def names(admin: Settings) -> Iterator[list[str]]:
    """Topics of this test's own, deleted afterwards."""
    made: list[str] = []
    yield made
    client = Provisioning(admin).admin
    existing = set(client.list_topics(timeout=TIMEOUT_SECONDS).topics)
    if gone := [name for name in made if name in existing]:
        for future in client.delete_topics(gone).values():
            future.result(timeout=TIMEOUT_SECONDS)


def test_the_defaults_are_a_production_clusters(monkeypatch):
    for name in ("JOBLOG_REPLICATION_FACTOR", "JOBLOG_MIN_INSYNC_REPLICAS"):
        monkeypatch.delenv(name, raising=False)  # (the test command sets the local broker's 1)
    settings = Settings()
    assert (settings.replication_factor, settings.min_insync_replicas) == (3, 2)


def test_more_copies_than_brokers_is_refused_and_nothing_made(admin, names):
    names.append(f"test-rf-{harness.ids()}")
    provisioning = Provisioning(admin.model_copy(update={"replication_factor": 3}))
    with pytest.raises(ProvisioningRefused) as refused:
        provisioning.topics(names, 1)
    message = str(refused.value)
    assert "JOBLOG_REPLICATION_FACTOR is 3" in message and "has 1 broker:" in message
    assert names[0] not in provisioning.admin.list_topics(timeout=TIMEOUT_SECONDS).topics
    with pytest.raises(ProvisioningRefused, match="JOBLOG_REPLICATION_FACTOR is 3"):
        provisioning.platform()  # `joblog provision` against this cluster


def test_more_in_sync_than_copies_is_refused(admin, names):
    names.append(f"test-isr-{harness.ids()}")
    provisioning = Provisioning(admin.model_copy(update={"min_insync_replicas": 2}))
    with pytest.raises(ProvisioningRefused, match="JOBLOG_MIN_INSYNC_REPLICAS is 2"):
        provisioning.topics(names, 1)


def test_a_topic_has_the_configured_replication(admin, names):
    names.append(f"test-durable-{harness.ids()}")
    provisioning = Provisioning(admin)
    assert (admin.replication_factor, admin.min_insync_replicas) == (1, 1)  # one broker
    provisioning.topics(names, 2)

    cluster = provisioning.admin.list_topics(names[0], timeout=TIMEOUT_SECONDS)
    partitions = cluster.topics[names[0]].partitions.values()
    assert [len(p.replicas) for p in partitions] == [1, 1]
    resource = ConfigResource(ResourceType.TOPIC, names[0])
    [future] = provisioning.admin.describe_configs([resource]).values()
    entry = future.result(timeout=TIMEOUT_SECONDS)["min.insync.replicas"]
    assert entry.value == "1"
    assert entry.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value  # the topic's own, set by us


@pytest.fixture
def user(admin: Settings, tmp_path) -> Iterator[tuple[str, Path]]:
    """A SCRAM user of this test's own and its credentials file, removed afterwards."""
    name, file = f"test-user-{harness.ids()}", tmp_path / "credentials.json"
    yield name, file
    client = Provisioning(admin).admin
    deletion = UserScramCredentialDeletion(name, ScramMechanism.SCRAM_SHA_512)
    for future in client.alter_user_scram_credentials([deletion]).values():
        future.result(timeout=TIMEOUT_SECONDS)


async def signs_in(admin: Settings, name: str, password: str) -> bool:
    """Whether the broker takes this user and password (aiokafka's start: SASL, metadata)."""
    update = {"kafka_sasl_username": name, "kafka_sasl_password": SecretStr(password)}
    client = AIOKafkaProducer(**client_options(admin.model_copy(update=update)))
    try:
        await client.start()
    except KafkaError:
        return False
    finally:
        await client.stop()
    return True


async def test_a_start_sets_only_the_passwords_the_cluster_lacks_and_provision_renews(admin, user):
    """The provisioner service's start (`renew=False`) leaves a known user's password alone
    (hashing the hundred parties' again cost 1.2 CPU s a start); `joblog provision` sets the
    file's on the cluster again, so a password changed in the file takes effect there."""
    name, file = user
    provisioning = Provisioning(admin)
    provisioning.principals([name], file, renew=False)  # new: made, saved and set
    first = credentials.load(file)[name]
    assert name in provisioning.scram_users() and await signs_in(admin, name, first)

    credentials.save(file, {name: "a-password-changed-by-hand"})
    provisioning.principals([name], file, renew=False)
    assert await signs_in(admin, name, first)
    assert not await signs_in(admin, name, "a-password-changed-by-hand")

    provisioning.principals([name], file)  # renew, as `joblog provision` does
    assert await signs_in(admin, name, "a-password-changed-by-hand")
    assert not await signs_in(admin, name, first)
