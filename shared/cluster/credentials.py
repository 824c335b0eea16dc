"""Kafka credentials files: `{"principal": "password", …}`, readable by their owner only.

- the parties' file (JOBLOG_KAFKA_CREDENTIALS, locally `.local/<profile>/kafka-credentials.json`):
  every party's principal, for the operator to hand to each party;
- the platform's file (JOBLOG_PLATFORM_CREDENTIALS, locally
  `.local/<profile>/platform-credentials.json`): the admin and the services' principals, so the
  local launcher can start every service with its own identity. In production each service gets
  KAFKA_SASL_USERNAME / KAFKA_SASL_PASSWORD from the deployment's secret store instead. It also
  keeps the local database's password (`mongodb:dfdg`, see `infra.local.start_ferretdb`) and
  the key of the cpr pseudonyms in the logs (`pseudonym`, see `pseudonym_key`).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from shared.cluster.access import ADMIN, service_principal
from shared.platform.registry import PRINCIPALS
from shared.platform.settings import Settings


def load(path: Path | None) -> dict[str, str]:
    if path is None or not path.exists():
        return {}
    loaded: dict[str, str] = json.loads(path.read_text())
    return loaded


def save(path: Path, passwords: dict[str, str]) -> None:
    """Write atomically with mode 0600 (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(path.name + ".partial")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(dict(sorted(passwords.items())), out, indent=1)
    staging.replace(path)


def new_password() -> str:
    return secrets.token_urlsafe(24)


PSEUDONYM = "pseudonym"
"""The pseudonym key's entry in the platform credentials file."""


class MissingPseudonymKey(RuntimeError):
    pass


def pseudonym_key(settings: Settings) -> str:
    """The platform's key of the cpr pseudonyms in the logs: JOBLOG_PSEUDONYM_KEY (production:
    from the deployment's secret store, like the Kafka passwords), else the platform credentials
    file's `pseudonym` (the local platform: made by `joblog infra up` with the passwords).

    Neither is fail closed (MissingPseudonymKey), not a key made up here: a key of one process
    would give each process and each restart other pseudonyms, so a citizen's log lines could no
    longer be found across them, and no one would notice until they were needed."""
    if key := settings.pseudonym_key.get_secret_value():
        return key
    if key := load(settings.platform_credentials_file).get(PSEUDONYM, ""):
        return key
    raise MissingPseudonymKey(
        "no key for the cpr pseudonyms in the logs: set JOBLOG_PSEUDONYM_KEY (a random secret, "
        "the same for every process of the platform), or run `joblog infra up`, which keeps one "
        "in the platform credentials file (JOBLOG_PLATFORM_CREDENTIALS)"
    )


def ensure_pseudonym_key(path: Path) -> None:
    """A pseudonym key in the platform credentials file `path`, made once (kept ever after, so
    the pseudonyms stay the same across restarts)."""
    passwords = load(path)
    if not passwords.get(PSEUDONYM):
        passwords[PSEUDONYM] = secrets.token_urlsafe(32)
        save(path, passwords)


def password_of(settings: Settings, principal: str) -> str:
    """A principal's password from the platform's or the parties' file."""
    for path in (settings.platform_credentials_file, settings.kafka_credentials_file):
        if (password := load(path).get(principal)) is not None:
            return password
    raise KeyError(f"no password for Kafka principal {principal} in the credentials files")


def as_principal(settings: Settings, principal: str) -> Settings:
    """The same settings, connecting to Kafka as `principal`."""
    return settings.model_copy(
        update={
            "kafka_sasl_username": principal,
            "kafka_sasl_password": SecretStr(password_of(settings, principal)),
        }
    )


def for_service(settings: Settings, service: str) -> Settings:
    """The settings a service runs with: its own principal, from KAFKA_SASL_USERNAME/PASSWORD
    when set (production), else from the local platform's credentials file. The provisioner is
    the admin."""
    if settings.kafka_sasl_username or settings.platform_credentials_file is None:
        return settings
    if service == "provisioner":
        return as_principal(settings, ADMIN)
    if service in PRINCIPALS:
        return as_principal(settings, service_principal(service))
    return settings  # (the jobcenter API uses no Kafka)
