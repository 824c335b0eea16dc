"""The test command: lint, then unit + integration, then end-to-end, against a local Kafka and
FerretDB of their own (profile `test`, fresh each run), or the external ones of
KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL."""

from __future__ import annotations

import os
import subprocess
import sys

from infra import local
from infra.processes import InfraError


def _step(title: str, cmd: list[str], env: dict[str, str]) -> int:
    print(f"\n=== {title}: {' '.join(cmd)}", flush=True)
    return subprocess.run(cmd, cwd=local.ROOT, env=env).returncode


def run_suite(pytest_args: list[str], lint: bool = True) -> int:
    py = sys.executable
    env = {**os.environ}
    failures: list[str] = []
    if lint:
        for title, cmd in (
            ("ruff", [py, "-m", "ruff", "check", "."]),
            ("ruff format", [py, "-m", "ruff", "format", "--check", "."]),
            ("mypy", [py, "-m", "mypy", "shared", "services", "ops", "infra", "harness", "bench"]),
        ):
            if _step(title, cmd, env) != 0:
                failures.append(title)
    profile = local.PROFILES["test"]
    try:
        env.update(local.up(profile, fresh=True))
    except InfraError as error:
        print(f"infrastructure failed to start: {error}", file=sys.stderr)
        return 1
    try:
        pytest = [py, "-m", "pytest", "-q", "-ra", "--durations=12", *pytest_args]
        for title, args in (
            ("unit + integration", ["tests/unit", "tests/integration"]),
            ("end-to-end", ["tests/e2e"]),
        ):
            if _step(title, [*pytest, *args], env) != 0:
                failures.append(title)
    finally:
        local.down(profile)
    if failures:
        print(f"\nFAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    print("\nall checks passed")
    return 0
