"""Provisioning: the contract's topics, principals and ACLs on the cluster, with the kept admin
client of confluent-kafka (`create_topics`, `alter_user_scram_credentials`, `create_acls`).

Idempotent: a topic or ACL that exists is left alone; a principal keeps the password its
credentials file holds (a new one gets a random password, written to the file), set on the
cluster again each time (`renew`), or, where the provisioner service starts, only where the
cluster has none yet: hashing the hundred parties' passwords again took 1.2 CPU s at each start
of the service, as long as the other services' whole start on the same two cores. Runs with the
admin principal: at start of the local platform (`infra.local.up`), in the provisioner service
(every a-kasse the register names) and as `joblog provision` against a production cluster.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from shared.cluster import access, credentials
from shared.cluster.access import Grant
from shared.contract import topics
from shared.contract.kommuner import KOMMUNER
from shared.platform.akasse_register import is_akasse_nr
from shared.platform.registry import PRINCIPALS
from shared.platform.settings import Settings

log = logging.getLogger(__name__)
CREDENTIALS_FILE = "platform-credentials.json"  # a service's own, in its folder

SCRAM_ITERATIONS = 8192
TIMEOUT_SECONDS = 30.0


def admin_config(settings: Settings) -> dict[str, Any]:
    """librdkafka's names for the contract's connection settings."""
    protocol = settings.kafka_security_protocol.upper()
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "security.protocol": protocol,
        "client.id": "dfdg-provisioning",
    }
    if protocol.startswith("SASL"):
        config |= {
            "sasl.mechanisms": settings.kafka_sasl_mechanism,
            "sasl.username": settings.kafka_sasl_username,
            "sasl.password": settings.kafka_sasl_password.get_secret_value(),
        }
    if protocol.endswith("SSL") and settings.kafka_ssl_cafile:
        config["ssl.ca.location"] = settings.kafka_ssl_cafile
    return config


class ProvisioningRefused(RuntimeError):
    """The settings ask for what the cluster cannot give (the message says what to change)."""


class Provisioning:
    """The cluster's parties as the contract says; `settings` connect as the admin."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._admin: AdminClient | None = None

    @property
    def admin(self) -> AdminClient:
        """Connected when first used (a service object is also built only to document it)."""
        if self._admin is None:
            self._admin = AdminClient(admin_config(self.settings))
        return self._admin

    # -- what the platform needs -------------------------------------------------------------

    def platform(self, renew: bool = True) -> None:
        """The fixed topics, the 98 jobcentres, the services and the parties that exist from
        the start, with their ACLs (`renew`: see `principals`)."""
        self.topics(topics.PLATFORM, self.settings.topic_partitions)
        jobcentres = [name for kode in sorted(KOMMUNER) for name in topics.jobcenter_topics(kode)]
        self.topics(jobcentres, self.settings.jobcenter_topic_partitions)
        services = [access.service_principal(name) for name in PRINCIPALS]
        self.principals(services, self.settings.platform_credentials_file, renew)
        self.hand_out(self.settings.service_credentials_dir)
        self.principals(access.party_principals(), self.settings.kafka_credentials_file, renew)
        self.grant(access.platform_grants())

    def hand_out(self, folder: Path | None) -> None:
        """Each service's own password, alone, in a folder of its own under `folder`, so that a
        service is given its identity and no other's (compose.yaml mounts each its folder)."""
        if folder is None:
            return
        passwords = credentials.load(self.settings.platform_credentials_file)
        for name in PRINCIPALS:
            principal = access.service_principal(name)
            own = folder / name / CREDENTIALS_FILE
            credentials.save(own, {principal: passwords[principal]})

    def akasse(self, nr: str, renew: bool = True) -> None:
        """A-kasse `nr`, as soon as the register names it: its topics, principal and ACLs.
        Only a number of three ASCII digits: another would give a principal whose prefixed
        group ACL matches other a-kasser's groups."""
        if not is_akasse_nr(nr):
            raise ValueError(f"a-kasse number {nr[:20]!r} is not 3 digits: not provisioned")
        self.topics(topics.akasse_topics(nr), self.settings.topic_partitions)
        self.principals([access.akasse_principal(nr)], self.settings.kafka_credentials_file, renew)
        self.grant(access.akasse_grants(nr))
        log.info("provisioned a-kasse %s", nr)

    # -- the admin client's three operations ---------------------------------------------------

    def topics(self, names: Iterable[str], partitions: int) -> None:
        """The topics not there yet, each with JOBLOG_REPLICATION_FACTOR copies of its partitions
        and JOBLOG_MIN_INSYNC_REPLICAS; refused (`ProvisioningRefused`, nothing created) where
        the cluster has fewer brokers than copies."""
        cluster = self.admin.list_topics(timeout=TIMEOUT_SECONDS)
        self.check_replication(len(cluster.brokers))
        existing = set(cluster.topics)
        durability = {"min.insync.replicas": str(self.settings.min_insync_replicas)}
        wanted = [
            NewTopic(
                name, num_partitions=partitions,
                replication_factor=self.settings.replication_factor,
                config=durability | (
                    {"cleanup.policy": "compact"} if name in topics.COMPACTED
                    else {"max.message.bytes": str(8 * 1024 * 1024)}
                ),
            )
            for name in names
            if name not in existing
        ]  # fmt: skip
        if wanted:
            _wait(self.admin.create_topics(wanted, request_timeout=TIMEOUT_SECONDS), "topic")

    def check_replication(self, brokers: int) -> None:
        """The replication the settings ask for is one the cluster of `brokers` can give."""
        factor, in_sync = self.settings.replication_factor, self.settings.min_insync_replicas
        where = self.settings.kafka_bootstrap_servers
        if factor > brokers:
            raise ProvisioningRefused(
                f"JOBLOG_REPLICATION_FACTOR is {factor}, but the cluster at {where} has "
                f"{brokers} broker{'s' if brokers != 1 else ''}: a topic cannot have more copies "
                "than there are brokers. Set JOBLOG_REPLICATION_FACTOR and "
                "JOBLOG_MIN_INSYNC_REPLICAS for this cluster (1 and 1 for a single broker)."
            )
        if in_sync > factor:
            raise ProvisioningRefused(
                f"JOBLOG_MIN_INSYNC_REPLICAS is {in_sync}, more than JOBLOG_REPLICATION_FACTOR "
                f"{factor}: no write could ever be acknowledged"
            )

    def principals(self, names: Iterable[str], file: Any, renew: bool = True) -> None:
        """SCRAM users for `names`, each with the password its credentials file holds or a new
        one (written to the file before the cluster learns it, so it is never lost). `renew`
        False: only the users the cluster has no SCRAM-SHA-512 credential of, and those given a
        new password now; a password changed in the file by hand is set by `joblog provision`
        (or `joblog infra up`), which renews every one."""
        passwords = credentials.load(file)
        names = list(names)
        made = {name for name in names if name not in passwords}
        for name in made:
            passwords[name] = credentials.new_password()
        if file is not None:
            credentials.save(file, passwords)
        if not renew:
            known = self.scram_users()
            names = [name for name in names if name in made or name not in known]
        if not names:
            return
        info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
        upserts: list[UserScramCredentialAlteration] = [
            UserScramCredentialUpsertion(name, info, passwords[name].encode()) for name in names
        ]
        _wait(self.admin.alter_user_scram_credentials(upserts), "principal")

    def scram_users(self) -> set[str]:
        """The users the cluster holds a SCRAM-SHA-512 credential of."""
        future = self.admin.describe_user_scram_credentials(request_timeout=TIMEOUT_SECONDS)
        assert isinstance(future, Future)  # of all users: one future (a dict of some users')
        described = future.result(timeout=TIMEOUT_SECONDS)
        return {
            user
            for user, description in described.items()
            if any(
                info.mechanism == ScramMechanism.SCRAM_SHA_512
                for info in description.scram_credential_infos
            )
        }

    def grant(self, grants: Iterable[Grant]) -> None:
        bindings = [_binding(grant) for grant in grants]
        _wait(self.admin.create_acls(bindings, request_timeout=TIMEOUT_SECONDS), "acl")


def _binding(grant: Grant) -> AclBinding:
    return AclBinding(
        ResourceType.TOPIC if grant.resource == "topic" else ResourceType.GROUP,
        grant.name,
        ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL,
        f"User:{grant.principal}",
        "*",
        AclOperation.READ if grant.operation == "read" else AclOperation.WRITE,
        AclPermissionType.ALLOW,
    )


def _wait(futures: dict[Any, Future[Any]], what: str) -> None:
    for key, future in futures.items():
        try:
            future.result(timeout=TIMEOUT_SECONDS)
        except KafkaException as error:
            if error.args and error.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS:
                continue  # another provisioning created it at the same moment
            raise RuntimeError(f"provisioning {what} {key} failed: {error}") from error
