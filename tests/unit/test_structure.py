"""Issue 12: the shape of the code. Services are siblings over `shared/`; the rules do no I/O."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from shared.platform.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]
PURE = [
    "shared.contract.joblog_rules", "shared.contract.citizen", "shared.contract.rejections",
    "shared.contract.events", "shared.contract.cpr", "shared.contract.tid",
    "shared.contract.kommuner", "shared.contract.topics", "shared.contract.inbound",
    "shared.readmodel.updates", "shared.frontends.common", "shared.frontends.jobnet",
    "shared.frontends.akasse", "shared.frontends.models", "services.storage.merge",
    "services.storage.records", "services.notifier.advisering",
    "services.jobcenter_api.udsoegning",
]  # fmt: skip
IO_LIBRARIES = ("aiokafka", "faststream", "pymongo", "fastapi", "confluent_kafka")


@pytest.mark.parametrize("module", PURE)
def test_the_rules_load_no_io_library(module):
    probe = (
        f"import sys, {module}; print(','.join(m for m in {IO_LIBRARIES!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == "", f"importing {module} loads {loaded}"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def service_packages() -> list[str]:
    return sorted({spec.module.split(".")[1] for spec in SERVICES})


@pytest.mark.parametrize("package", service_packages())
def test_a_service_imports_no_other_service(package):
    others = {f"services.{name}" for name in service_packages()} - {f"services.{package}"}
    for path in (ROOT / "services" / package).rglob("*.py"):
        for name in imported_modules(path):
            assert not any(name == o or name.startswith(o + ".") for o in others), (
                f"{path.relative_to(ROOT)} imports {name}"
            )
            assert name.split(".")[0] != "services" or name.startswith(f"services.{package}"), (
                f"{path.relative_to(ROOT)} imports {name}: only shared/ and its own modules"
            )


def test_the_control_finds_a_forbidden_import(tmp_path):
    """So the test above can fail: a module importing another service is found."""
    module = tmp_path / "m.py"
    module.write_text("from services.storage.repository import Repository\n")
    assert "services.storage.repository" in imported_modules(module)
