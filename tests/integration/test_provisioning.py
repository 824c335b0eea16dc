"""Issue 23 item 5 on the real local broker (one broker): the replication of every topic is a
setting (JOBLOG_REPLICATION_FACTOR, JOBLOG_MIN_INSYNC_REPLICAS), checked at provisioning
against the cluster's brokers; the topics are made with it, as the admin client reads back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from confluent_kafka.admin import ConfigResource, ConfigSource, ResourceType

import harness
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal
from shared.cluster.provisioning import TIMEOUT_SECONDS, Provisioning, ProvisioningRefused
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
