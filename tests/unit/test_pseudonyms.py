"""The cpr pseudonyms in the logs (`shared.contract.cpr.mask`): a keyed HMAC with the platform's
secret (JOBLOG_PSEUDONYM_KEY, or the platform credentials file's `pseudonym`), the same in every
process of a platform; a service process without the key does not start (fail closed)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.cluster.credentials import (
    PSEUDONYM,
    MissingPseudonymKey,
    ensure_pseudonym_key,
    load,
    pseudonym_key,
)
from shared.contract import cpr as cpr_module
from shared.contract.cpr import mask, use_pseudonym_key
from shared.platform.log import mask_cprs, setup_logging
from shared.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CPR = "0101901234"


@pytest.fixture(autouse=True)
def keep_the_key() -> Iterator[None]:
    """The process's key and logging as they were (setup_logging replaces the root handlers)."""
    key, root = cpr_module._pseudonym_key, logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    cpr_module._pseudonym_key = key
    root.handlers[:] = handlers
    root.setLevel(level)


def keyed(key: str, cpr: str) -> str:
    return "cpr#" + hmac.new(key.encode(), cpr.encode(), hashlib.sha256).hexdigest()[:10]


def test_a_pseudonym_is_a_keyed_hmac_not_a_plain_hash() -> None:
    use_pseudonym_key("the platform's secret")
    assert mask(CPR) == keyed("the platform's secret", CPR)
    assert mask(CPR) != "cpr#" + hashlib.sha256(CPR.encode()).hexdigest()[:10]
    assert mask_cprs(f"citizen {CPR}") == "citizen " + keyed("the platform's secret", CPR)


def test_without_any_key_a_process_still_never_logs_the_plain_hash() -> None:
    """Before a key is set (a tool, a test), a key of the process alone: stable within it."""
    plain = "cpr#" + hashlib.sha256(CPR.encode()).hexdigest()[:10]
    probe = "from shared.contract.cpr import mask; print(mask('0101901234'), mask('0101901234'))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == out[1] and out[0] != plain


def test_another_key_gives_other_pseudonyms() -> None:
    use_pseudonym_key("platform a")
    a = mask(CPR)
    use_pseudonym_key("platform b")
    assert mask(CPR) != a
    use_pseudonym_key("platform a")
    assert mask(CPR) == a


def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError):
        use_pseudonym_key("")


def without_the_environment_s_key(monkeypatch) -> None:
    """The test command runs the suite with the local platform's key and files in the
    environment; these tests say what happens without them."""
    for name in ("JOBLOG_PSEUDONYM_KEY", "JOBLOG_PLATFORM_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)


def test_the_key_comes_from_the_setting_then_the_platform_credentials_file(
    tmp_path, monkeypatch
) -> None:
    without_the_environment_s_key(monkeypatch)
    file = tmp_path / "platform-credentials.json"
    file.write_text(json.dumps({PSEUDONYM: "from the file", "dfdg-storage": "pw"}))
    from_file = Settings.model_validate({"JOBLOG_PLATFORM_CREDENTIALS": str(file)})
    assert pseudonym_key(from_file) == "from the file"
    both = Settings.model_validate(
        {"JOBLOG_PLATFORM_CREDENTIALS": str(file), "JOBLOG_PSEUDONYM_KEY": "from the env"}
    )
    assert pseudonym_key(both) == "from the env"
    with pytest.raises(MissingPseudonymKey, match="JOBLOG_PSEUDONYM_KEY"):
        pseudonym_key(Settings.model_validate({}))
    file.write_text(json.dumps({"dfdg-storage": "pw"}))
    with pytest.raises(MissingPseudonymKey):
        pseudonym_key(from_file)


def test_the_local_key_is_made_once_and_kept(tmp_path) -> None:
    file = tmp_path / "platform-credentials.json"
    file.write_text(json.dumps({"admin": "pw"}))
    ensure_pseudonym_key(file)
    made = load(file)[PSEUDONYM]
    assert len(made) >= 40 and load(file)["admin"] == "pw"
    ensure_pseudonym_key(file)
    assert load(file)[PSEUDONYM] == made
    assert file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_setup_logging_uses_the_platform_key_and_refuses_to_run_without(
    tmp_path, monkeypatch
) -> None:
    without_the_environment_s_key(monkeypatch)
    setup_logging(Settings.model_validate({"JOBLOG_PSEUDONYM_KEY": "k"}))
    assert mask(CPR) == keyed("k", CPR)
    with pytest.raises(SystemExit, match="JOBLOG_PSEUDONYM_KEY"):
        setup_logging(Settings.model_validate({}))


def service(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JOBLOG_", "KAFKA_"))}
    return subprocess.run(
        [sys.executable, "-m", "services", "storage"], cwd=ROOT, capture_output=True, text=True,
        env={**clean, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1", **env}, timeout=60,
    )  # fmt: skip


def test_a_service_process_without_the_key_does_not_start() -> None:
    done = service({"KAFKA_SASL_USERNAME": "dfdg-storage", "KAFKA_SASL_PASSWORD": "x"})
    assert done.returncode != 0
    assert "JOBLOG_PSEUDONYM_KEY" in done.stderr


def test_two_processes_of_a_platform_give_the_same_pseudonym(tmp_path) -> None:
    file = tmp_path / "platform-credentials.json"
    ensure_pseudonym_key(file)
    probe = (
        "from shared.platform.log import setup_logging; "
        "from shared.platform.settings import get_settings; "
        "from shared.contract.cpr import mask; setup_logging(get_settings()); "
        "print(mask('0101901234'))"
    )
    env = {**os.environ, "JOBLOG_PLATFORM_CREDENTIALS": str(file)}
    env.pop("JOBLOG_PSEUDONYM_KEY", None)
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]  # fmt: skip
    assert runs[0] == runs[1] == keyed(load(file)[PSEUDONYM], CPR)
