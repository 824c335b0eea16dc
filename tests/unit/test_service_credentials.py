"""The provisioner hands each service its own Kafka password alone (issue 23 item 9)."""

from __future__ import annotations

import json
from pathlib import Path

from shared.cluster import credentials
from shared.cluster.access import service_principal
from shared.cluster.provisioning import CREDENTIALS_FILE, Provisioning
from shared.platform.registry import PRINCIPALS
from shared.platform.settings import Settings


def test_each_service_gets_a_folder_with_its_own_password_only(tmp_path: Path) -> None:
    platform_file = tmp_path / "platform-credentials.json"
    passwords = {service_principal(name): f"pw-{name}" for name in PRINCIPALS} | {"admin": "x"}
    credentials.save(platform_file, passwords)
    settings = Settings.model_validate(
        {"JOBLOG_PLATFORM_CREDENTIALS": str(platform_file),
         "JOBLOG_SERVICE_CREDENTIALS_DIR": str(tmp_path / "services")}
    )  # fmt: skip
    Provisioning(settings).hand_out(settings.service_credentials_dir)
    for name in PRINCIPALS:
        own = tmp_path / "services" / name / CREDENTIALS_FILE
        assert json.loads(own.read_text()) == {service_principal(name): f"pw-{name}"}
        assert own.stat().st_mode & 0o077 == 0  # the owner's alone
        local = settings.model_copy(update={"platform_credentials_file": own})
        assert credentials.for_service(local, name).kafka_sasl_username == service_principal(name)
    assert sorted(p.name for p in (tmp_path / "services").iterdir()) == sorted(PRINCIPALS)
