"""FerretDB (the MongoDB wire protocol over SQLite), built from the Go module proxy with the
platform's patches, and started with authentication.

The build: FerretDB's module source (`go mod download`), the patches in `infra/ferretdb/patches/`
applied in the order of their names (`patch -p1`, no fuzz: a patch that no longer applies fails
the build), `id_pushdown.go` added to its SQLite backend, then our wrapper command
`infra/ferretdb/main.go` built against it. Each patch says what it changes and why (and
docs/design.md). The binary is cached under a key of everything the build reads (the wrapper, the
added file and the patches), so a change to any of them builds it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from infra import processes
from infra.processes import InfraError, say

FERRETDB_VERSION = "v1.24.2"
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FILES = Path(__file__).resolve().parent / "ferretdb"
SOURCES = ("main.go", "go.mod", "go.sum")  # the wrapper command, built against the patched module
ADDED = {"id_pushdown.go": "internal/backends/sqlite/id_pushdown.go"}  # ours, into the module


def patches() -> list[Path]:
    """The patch files, in the order they are applied."""
    return sorted((FILES / "patches").glob("*.patch"))


def build_inputs() -> list[Path]:
    """Every file the build reads from this repository (the binary is rebuilt when one changes)."""
    return [*(FILES / name for name in SOURCES), *(FILES / name for name in ADDED), *patches()]


def cache_key() -> str:
    digest = hashlib.sha256()
    for path in build_inputs():
        digest.update(path.relative_to(FILES).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:8]


def binary() -> Path:
    """FerretDB built from the Go module proxy through our small wrapper module."""
    target = processes.cache_dir() / f"ferretdb-local-{FERRETDB_VERSION}-{cache_key()}"
    if target.exists():
        return target
    if shutil.which("go") is None:
        raise InfraError("FerretDB is built with Go: `go` (1.24+) must be on PATH")
    if shutil.which("patch") is None:
        raise InfraError("FerretDB's build applies its patches with `patch`: it must be on PATH")
    say(f"building FerretDB {FERRETDB_VERSION} (about a minute, once) …")
    env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    build = target.with_name(target.name + ".build")
    shutil.rmtree(build, ignore_errors=True)
    (build / "main").mkdir(parents=True)
    for name in SOURCES:
        shutil.copy(FILES / name, build / "main" / name)
    patched_source(build / "ferretdb", env)
    with (build / "main" / "go.mod").open("a") as mod:
        mod.write(f"\nreplace {FERRETDB_MODULE} => ../ferretdb\n")
    staging = target.with_name(target.name + ".partial")
    processes.run(
        ["go", "build", "-trimpath", "-o", str(staging), "."], build / "main", "go build", env
    )
    staging.rename(target)
    shutil.rmtree(build, ignore_errors=True)
    return target


def patched_source(target: Path, env: dict[str, str]) -> None:
    """FerretDB's module source from the Go module proxy in `target`, with the patches applied
    and our files added."""
    found = subprocess.run(
        ["go", "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
        cwd=FILES, env=env, capture_output=True, text=True,
    )  # fmt: skip
    if found.returncode != 0:
        raise InfraError(f"go mod download {FERRETDB_MODULE} failed:\n{found.stdout}{found.stderr}")
    shutil.copytree(json.loads(found.stdout)["Dir"], target)
    for path in target.rglob("*"):  # the module cache is read-only
        path.chmod(0o755 if path.is_dir() else 0o644)
    for patch in patches():
        processes.run(
            ["patch", "--batch", "--forward", "--fuzz=0", "--no-backup-if-mismatch", "--strip=1",
             f"--input={patch}"],
            target,
            f"FerretDB {FERRETDB_VERSION}: applying {patch.name}",
        )  # fmt: skip
    for name, destination in ADDED.items():
        shutil.copy(FILES / name, target / destination)


def start(program: Path, run_dir: Path, port: int, user: str, password: str) -> None:
    """Start FerretDB (`program`, from `binary()`) on `port` with its data in `run_dir/ferretdb`,
    every client to authenticate; `user` (in `admin`) is created with `password` if the admin
    database does not exist yet."""
    cmd = [str(program), "-listen", f"127.0.0.1:{port}", "-dir", str(run_dir / "ferretdb")]
    env = {
        **os.environ,
        "FERRETDB_SETUP_DATABASE": "admin",
        "FERRETDB_SETUP_USERNAME": user,
        "FERRETDB_SETUP_PASSWORD": password,
    }
    processes.start("ferretdb", cmd, run_dir, port,
                    lambda: processes.port_open(port), timeout=30, env=env)  # fmt: skip


def check_login(url: str, port: int, user: str, password_file: Path) -> None:
    """FerretDB accepts the user and password (FerretDB made the user before it listened)."""
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=10_000)
    try:
        client.admin.command("listDatabases", nameOnly=True)  # needs authentication
    except OperationFailure as error:  # its message names neither the password nor the URL
        code = (error.details or {}).get("codeName", error.code)
        raise InfraError(
            f"FerretDB on 127.0.0.1:{port} refuses user {user} with the "
            f"password in {password_file} ({code}); "
            f"a fresh start (`joblog infra up --fresh`) makes a new database and password"
        ) from None
    except PyMongoError as error:
        raise InfraError(f"FerretDB on 127.0.0.1:{port}: {error}") from None
    finally:
        client.close()
