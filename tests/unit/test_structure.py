"""Issues 12 and 20: the shape of the code. Services are siblings over `shared/`; the rules do no
I/O; no import cycle anywhere among the project's modules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from shared.platform.registry import SERVICES

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("shared", "services", "ops", "bench", "harness", "infra")
PURE = [
    "shared.contract.joblog_rules", "shared.contract.citizen", "shared.contract.rejections",
    "shared.contract.maanedlig", "shared.contract.retention",
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


def project_modules(root: Path, packages: tuple[str, ...] = PROJECT) -> dict[str, Path]:
    """Every module of the packages under `root`, by dotted name (a package by its own)."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def import_graph(root: Path, packages: tuple[str, ...] = PROJECT) -> dict[str, set[str]]:
    """Which of the project's modules each one imports: at module level, under
    `if TYPE_CHECKING:` and inside functions alike (a lazy import hides no cycle).
    `from a import b` imports the module `a.b` when there is one, else `a`."""
    modules = project_modules(root, packages)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    if (inner := f"{node.module}.{alias.name}") in modules:
                        targets.add(inner)
                    elif node.module in modules:
                        targets.add(node.module)
        graph[name] = targets - {name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of the graph with more than one module (Tarjan): each is
    one or more import cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            part = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(part) > 1:
                cycles.append(sorted(part))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_no_import_cycle_among_the_projects_modules():
    graph = import_graph(ROOT)
    assert "shared.platform.runtime" in graph and len(graph) > 90  # it saw the project
    assert import_cycles(graph) == []


def test_the_control_finds_an_import_cycle(tmp_path):
    """So the test above can fail: a cycle is found in a synthetic graph, and in modules whose
    cycle goes through an import under TYPE_CHECKING and one inside a function."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []

    package = tmp_path / "shared"
    (package / "platform").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "platform" / "__init__.py").write_text("")
    (package / "platform" / "runtime.py").write_text("from shared.platform import kafka\n")
    (package / "platform" / "kafka.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from shared.platform.registry import SERVICES\n"
    )
    (package / "platform" / "registry.py").write_text(
        "def build():\n    from shared.platform.runtime import Runtime\n    return Runtime\n"
    )
    found = import_cycles(import_graph(tmp_path, ("shared",)))
    assert found == [
        ["shared.platform.kafka", "shared.platform.registry", "shared.platform.runtime"]
    ]
