"""Every knob of the platform, read from the environment (prefix-free names as in the contract)."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ClockMode(StrEnum):
    REAL = "real"
    SIMULATED = "simulated"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = Field("127.0.0.1:9092", alias="KAFKA_BOOTSTRAP_SERVERS")
    # Every client authenticates (SASL_PLAINTEXT locally, SASL_SSL in production).
    kafka_security_protocol: str = Field("SASL_PLAINTEXT", alias="KAFKA_SECURITY_PROTOCOL")
    kafka_sasl_mechanism: str = Field("SCRAM-SHA-512", alias="KAFKA_SASL_MECHANISM")
    kafka_sasl_username: str = Field("", alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr = Field(SecretStr(""), alias="KAFKA_SASL_PASSWORD")
    kafka_ssl_cafile: str | None = Field(None, alias="KAFKA_SSL_CAFILE")
    # Where the provisioning keeps the parties' passwords (given to each party by the operator)
    # and, on the local platform, the admin's and the services' (so one command starts them all).
    kafka_credentials_file: Path | None = Field(None, alias="JOBLOG_KAFKA_CREDENTIALS")
    platform_credentials_file: Path | None = Field(None, alias="JOBLOG_PLATFORM_CREDENTIALS")
    service_credentials_dir: Path | None = Field(None, alias="JOBLOG_SERVICE_CREDENTIALS_DIR")
    """Where the provisioner also writes each service's own password alone, one folder per
    service (`<dir>/<service>/platform-credentials.json`), for a deployment that mounts each
    service only its own folder (compose.yaml)."""
    # copies of every topic's partitions on the cluster, and how many must hold a write before
    # it is acknowledged (acks=all): a production cluster's defaults; the local single broker
    # (infra.local, the tests) sets 1 and 1. The provisioning refuses more than the brokers.
    replication_factor: int = Field(3, ge=1, alias="JOBLOG_REPLICATION_FACTOR")
    min_insync_replicas: int = Field(2, ge=1, alias="JOBLOG_MIN_INSYNC_REPLICAS")
    # the secret key of the cpr pseudonyms in the logs (`shared.contract.cpr.mask`), the same for
    # every process of a platform; unset: the platform credentials file's `pseudonym` (local)
    pseudonym_key: SecretStr = Field(SecretStr(""), alias="JOBLOG_PSEUDONYM_KEY")
    # partitions of each jobcenter's topics (98 jobcentres: few records each)
    jobcenter_topic_partitions: int = Field(1, alias="JOBLOG_JOBCENTER_TOPIC_PARTITIONS")
    mongodb_url: str = Field("mongodb://127.0.0.1:27017/", alias="MONGODB_URL")
    mongodb_database: str = Field("dfdg", alias="MONGODB_DATABASE")

    clock: ClockMode = Field(ClockMode.REAL, alias="JOBLOG_CLOCK")
    api_tokens: dict[str, str] = Field(default_factory=dict, alias="JOBLOG_API_TOKENS")
    api_host: str = Field("127.0.0.1", alias="JOBLOG_API_HOST")
    api_port: int = Field(8080, alias="JOBLOG_API_PORT")
    # OIDC bearer JWTs beside the token map (all unset: token map only); one of URL or file
    oidc_issuer: str = Field("", alias="JOBLOG_OIDC_ISSUER")
    oidc_audience: str = Field("", alias="JOBLOG_OIDC_AUDIENCE")
    oidc_jwks_url: str = Field("", alias="JOBLOG_OIDC_JWKS_URL")
    oidc_jwks_file: str = Field("", alias="JOBLOG_OIDC_JWKS_FILE")

    group_prefix: str = Field("dfdg", alias="JOBLOG_GROUP_PREFIX")  # Kafka consumer groups
    topic_partitions: int = Field(4, alias="JOBLOG_TOPIC_PARTITIONS")
    # citizens a subscriber handles at once (each citizen's records in order)
    consumer_workers: int = Field(8, alias="JOBLOG_CONSUMER_WORKERS")
    # parts of a batch a batch-native handler takes at once, split by citizen (`parts_of`)
    batch_parts: int = Field(2, ge=1, alias="JOBLOG_BATCH_PARTS")
    max_message_bytes: int = Field(1_048_576, alias="JOBLOG_MAX_MESSAGE_BYTES")
    rejected_raw_max_bytes: int = Field(65_536, alias="JOBLOG_REJECTED_RAW_MAX_BYTES")

    # the rule's ADVISERING_DAYS (services/notifier/advisering.py); a unit test holds them equal
    advisering_days: int = Field(30, alias="JOBLOG_ADVISERING_DAYS")
    # days of a month left when the monthly duty's reminder goes (lov 371; the rule's
    # PAAMINDELSE_DAYS in services/notifier/maaned.py, a unit test holds them equal)
    paamindelse_days: int = Field(5, ge=1, le=28, alias="JOBLOG_PAAMINDELSE_DAYS")
    tick_interval_seconds: float = Field(60.0, alias="JOBLOG_TICK_INTERVAL_SECONDS")
    # how long a notifier instance holds a timer it fires: one that died mid-fire leaves the
    # timer to the others for this long (then they fire it again and send only what is missing)
    timer_lease_seconds: float = Field(60.0, gt=0, alias="JOBLOG_TIMER_LEASE_SECONDS")
    udsoegning_max_days: int = Field(400, alias="JOBLOG_UDSOEGNING_MAX_DAYS")
    # udsøgninger streaming at once per holder (per API process); more gets 429
    udsoegning_concurrency: int = Field(2, ge=1, alias="JOBLOG_UDSOEGNING_CONCURRENCY")

    # how long personal data is kept (shared/contract/retention.py, docs/operations.md)
    retention_optional_fields_years: int = Field(
        4, ge=1, alias="JOBLOG_RETENTION_OPTIONAL_FIELDS_YEARS"
    )
    retention_joblog_years: int = Field(5, ge=1, alias="JOBLOG_RETENTION_JOBLOG_YEARS")
    retention_access_log_years: int = Field(5, ge=1, alias="JOBLOG_RETENTION_ACCESS_LOG_YEARS")
    retention_message_id_days: int = Field(30, ge=1, alias="JOBLOG_RETENTION_MESSAGE_ID_DAYS")

    metrics_host: str = Field("127.0.0.1", alias="JOBLOG_METRICS_HOST")
    metrics_port_base: int = Field(9400, alias="JOBLOG_METRICS_PORT_BASE")
    log_level: str = Field("INFO", alias="JOBLOG_LOG_LEVEL")

    @field_validator("api_tokens", mode="before")
    @classmethod
    def _tokens_from_json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


@lru_cache
def get_settings() -> Settings:
    return Settings()
