"""Start and stop a local Apache Kafka (KRaft, from Maven Central jars) and FerretDB (built from
the Go module proxy) as plain processes.

- Idempotent: `up` leaves running components alone and starts only what is missing.
- Readiness is checked; a component that dies while starting is reported with its log's tail.
- Logs, data and pid files live under `.local/<profile>/` (git-ignored); jars and the FerretDB
  binary are cached under `~/.cache/joblog-platform` so a second start needs no network.
- `down` ends only the processes whose pid files this launcher wrote.
- FerretDB requires a user and password (SCRAM, like compose.yaml's MongoDB): user `dfdg`, its
  password made at a profile's first start and kept in the platform credentials file; so is the
  key of the cpr pseudonyms in the logs (`pseudonym`, `shared.credentials.pseudonym_key`).
- With KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL set, that component is external: nothing is started.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from pymongo import MongoClient
from pymongo.errors import OperationFailure, PyMongoError

from shared import credentials
from shared.access import ADMIN
from shared.credentials import as_principal
from shared.provisioning import Provisioning
from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
KAFKA_VERSION = "4.1.1"
FERRETDB_VERSION = "v1.24.2"
FERRETDB_SOURCES = ("main.go", "go.mod", "go.sum", "id_pushdown.go")  # rebuilt when they change
FERRETDB_ADDED = {"id_pushdown.go": "internal/backends/sqlite/id_pushdown.go"}
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
MONGODB_USER = "dfdg"
MONGODB_CREDENTIAL = f"mongodb:{MONGODB_USER}"  # its key in the platform credentials file
FERRETDB_PATCHES = (
    (
        "internal/backends/sqlite/metadata/metadata.go",
        "IDColumn = DefaultColumn + \"->'$._id'\"",
        "IDColumn = DefaultColumn + \"->'_id'\"",
    ),
    (
        "internal/backends/sqlite/collection.go",
        "if params.Filter.Len() == 1 {",
        "if params.Filter.Len() >= 1 {",
    ),
    (
        "internal/backends/sqlite/collection.go",
        "\t\tcase string, types.ObjectID:\n\t\t\tfilterPushdown = true\n"
        "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
        "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n\t\t}\n",
        '\t\t}\n\t\twhereClause, args = idPushdown(v)\n\t\tfilterPushdown = whereClause != ""\n',
    ),
    (
        "internal/backends/sqlite/collection.go",
        "\t\tcase string, types.ObjectID:\n"
        "\t\t\twhereClause = fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn)\n"
        "\t\t\targs = []any{string(must.NotFail(sjson.MarshalSingleValue(v)))}\n\t\t}\n",
        "\t\t}\n\t\twhereClause, args = idPushdown(v)\n",
    ),
    (
        "internal/handler/msg_update.go",
        "\t\tdefer closer.Close()\n\n\t\tcloser.Add(res.Iter)\n",
        "\t\tcloser.Add(res.Iter)\n",
    ),
    (
        "internal/handler/msg_update.go",
        '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n',
        '\t\tresult, err := common.UpdateDocument(ctx, c, "update", iter, &u)\n'
        "\t\tcloser.Close()\n",
    ),
    (
        "ferretdb/ferretdb.go",
        '\t"github.com/FerretDB/FerretDB/internal/util/state"\n',
        '\t"github.com/FerretDB/FerretDB/internal/util/password"\n'
        '\t"github.com/FerretDB/FerretDB/internal/util/state"\n',
    ),
    (
        "ferretdb/ferretdb.go",
        "\tSQLiteURL string // For example: `file:data/`.\n",
        "\tSQLiteURL string // For example: `file:data/`.\n"
        "\n\tEnableNewAuth bool\n\tSetupDatabase string\n\tSetupUsername string\n"
        "\tSetupPassword string\n",
    ),
    (
        "ferretdb/ferretdb.go",
        "\t\tSQLiteURL: config.SQLiteURL,\n",
        "\t\tSQLiteURL: config.SQLiteURL,\n"
        "\t\tSetupDatabase: config.SetupDatabase,\n\t\tSetupUsername: config.SetupUsername,\n"
        "\t\tSetupPassword: password.WrapPassword(config.SetupPassword),\n",
    ),
    (
        "ferretdb/ferretdb.go",
        "\t\t\tBatchSize:               100,\n",
        "\t\t\tBatchSize:               100,\n\t\t\tEnableNewAuth: config.EnableNewAuth,\n",
    ),
)
"""Three changes to FerretDB 1.24's SQLite backend, so that a lookup by `_id` uses the index:

1. It looks documents up by `_ferretdb_sjson->'$._id'` but indexes `_ferretdb_sjson->"_id"`: the
   same value to SQLite's JSON functions, not the same expression, so SQLite never used the
   index and every find, update and delete by `_id` scanned the collection (EXPLAIN QUERY PLAN:
   SCAN; patched: SEARCH … USING INDEX).
2. It narrowed the query by `_id` only when `_id` was the filter's one condition. Every handler
   applies the whole filter to what the query returns, so `{_id: x, revision: n}` may narrow by
   `_id` too (FerretDB's PostgreSQL backend pushes down any condition it can).
3. It narrowed only by `_id` equality. `id_pushdown.go` (added to the backend) also pushes down
   `_id` `$in` a list of strings and `_id` ranges of plain strings, over the same index: the
   reads of a batch of citizens and of a jobcenter's citizens (`shared/read_model.py`) are then
   index searches, as on MongoDB, not scans of the collection.

One to its `update` command: it closed each update's query only when the whole command was
done, so a bulk write of 100 updates that matched documents held 100 queries open and never
answered (the connection pool was used up); patched, each query is closed after its update.

And four to its embeddable package `ferretdb/ferretdb.go`, which does not expose what FerretDB's
own command has for authentication: `Config` gains EnableNewAuth and the setup user (database,
name, password), passed on to the handler. With new auth (SCRAM-SHA-256/1, users in
`admin.system.users`) every command but the handshake, `ping` and SASL ones needs an
authenticated connection; the setup user is created at start when its database does not exist
yet. `main.go` sets them from FERRETDB_SETUP_* (see `start_ferretdb`).
"""


class InfraError(RuntimeError):
    pass


@dataclass(frozen=True)
class Profile:
    """A named set of ports and a run folder: `dev` for the platform, `test` for the suite."""

    name: str
    kafka_port: int
    controller_port: int
    mongo_port: int
    tls_port: int | None = None
    """A listener with SASL over TLS, as a production cluster has (a CA made for the profile)."""
    unauthenticated_port: int | None = None
    """Benchmarks only: a second listener without SASL (its clients are super users), so one
    run can measure the platform with and without authentication on the same broker."""

    @property
    def tls_ca(self) -> Path:
        return self.run_dir / "tls" / "ca.pem"

    @property
    def run_dir(self) -> Path:
        return ROOT / ".local" / self.name

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def mongodb_url(self) -> str:
        """The address only: `up` returns the URL with the user and password."""
        return f"mongodb://127.0.0.1:{self.mongo_port}/"

    @property
    def parties_credentials(self) -> Path:
        """Every party's Kafka password (the contract's `kafka-credentials.json`)."""
        return self.run_dir / "kafka-credentials.json"

    @property
    def platform_credentials(self) -> Path:
        """The admin's and the platform services' Kafka passwords, and the database's
        (`mongodb:dfdg`)."""
        return self.run_dir / "platform-credentials.json"


PROFILES = {
    "dev": Profile("dev", 9092, 9093, 27017, tls_port=9094),
    "test": Profile("test", 19092, 19093, 27117, tls_port=19094),
}


def profile_named(
    name: str, kafka_port: int | None = None, mongo_port: int | None = None
) -> Profile:
    """A predefined profile, or one of the operator's own (a name and two ports: Kafka's
    controller and TLS listener take the two ports after `kafka_port`), so that several
    platforms can run side by side on one machine."""
    if name in PROFILES and kafka_port is None and mongo_port is None:
        return PROFILES[name]
    if name in PROFILES or kafka_port is None or mongo_port is None:
        raise ValueError(
            f"a profile is one of {', '.join(PROFILES)}, or a new name with both a Kafka and a "
            "database port"
        )
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError("a profile's name is letters, digits, '-' and '_'")
    return Profile(name, kafka_port, kafka_port + 1, mongo_port, tls_port=kafka_port + 2)


def cache_dir() -> Path:
    path = Path(os.environ.get("JOBLOG_CACHE_DIR", Path.home() / ".cache" / "joblog-platform"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def say(text: str) -> None:
    print(f"[infra] {text}", file=sys.stderr, flush=True)


def _run(cmd: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise InfraError(f"{what} failed ({' '.join(cmd[:3])} …):\n{tail}")


def kafka_libs() -> Path:
    """The Kafka broker's jars, fetched once with Maven (needs `mvn` and Java 17+)."""
    target = cache_dir() / f"kafka-{KAFKA_VERSION}-libs"
    if (target / ".complete").exists():
        return target
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise InfraError("Kafka needs `java` (17+) and `mvn` on PATH to fetch its jars")
    say(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central …")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    _run(
        [
            "mvn", "-q", "-B", "-f", str(INFRA / "kafka" / "pom.xml"),
            "dependency:copy-dependencies", f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        ROOT,
        "fetching the Kafka jars",
    )  # fmt: skip
    (staging / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def ferretdb_binary() -> Path:
    """FerretDB built from the Go module proxy through our small wrapper module."""
    source = b"".join((INFRA / "ferretdb" / name).read_bytes() for name in FERRETDB_SOURCES)
    source += repr(FERRETDB_PATCHES).encode()
    binary = (
        cache_dir() / f"ferretdb-local-{FERRETDB_VERSION}-{hashlib.sha256(source).hexdigest()[:8]}"
    )
    if binary.exists():
        return binary
    if shutil.which("go") is None:
        raise InfraError("FerretDB is built with Go: `go` (1.24+) must be on PATH")
    say(f"building FerretDB {FERRETDB_VERSION} (about a minute, once) …")
    env = {**os.environ, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    build = binary.with_name(binary.name + ".build")
    shutil.rmtree(build, ignore_errors=True)
    (build / "main").mkdir(parents=True)
    for name in FERRETDB_SOURCES:
        if name not in FERRETDB_ADDED:
            shutil.copy(INFRA / "ferretdb" / name, build / "main" / name)
    _patched_ferretdb(build / "ferretdb", env)
    with (build / "main" / "go.mod").open("a") as mod:
        mod.write(f"\nreplace {FERRETDB_MODULE} => ../ferretdb\n")
    staging = binary.with_name(binary.name + ".partial")
    _run(["go", "build", "-trimpath", "-o", str(staging), "."], build / "main", "go build", env)
    staging.rename(binary)
    shutil.rmtree(build, ignore_errors=True)
    return binary


def _patched_ferretdb(target: Path, env: dict[str, str]) -> None:
    """FerretDB's module source from the Go module proxy, with FERRETDB_PATCHES applied."""
    found = subprocess.run(
        ["go", "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
        cwd=INFRA / "ferretdb", env=env, capture_output=True, text=True,
    )  # fmt: skip
    if found.returncode != 0:
        raise InfraError(f"go mod download {FERRETDB_MODULE} failed:\n{found.stdout}{found.stderr}")
    shutil.copytree(json.loads(found.stdout)["Dir"], target)
    for path in target.rglob("*"):  # the module cache is read-only
        path.chmod(0o755 if path.is_dir() else 0o644)
    for name, old, new in FERRETDB_PATCHES:
        text = (target / name).read_text()
        if old not in text:
            raise InfraError(
                f"FerretDB {FERRETDB_VERSION}: a patch no longer applies to {name}: {old[:60]!r}"
            )
        (target / name).write_text(text.replace(old, new))
    for name, destination in FERRETDB_ADDED.items():
        shutil.copy(INFRA / "ferretdb" / name, target / destination)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    """Whether the process runs. A child of ours that has exited is reaped, and a zombie that
    is not ours (a launcher that has not reaped its killed child yet) counts as dead: either
    would otherwise look alive, and `up` or `down` would wait out a whole grace period."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_state(pid) not in ("Z", "X")


def _proc_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat (R, S, Z, ...); None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def _ours(pid: int, profile: Profile) -> bool:
    """Whether `pid` is a process this launcher started for `profile`: its command line names
    the profile's run folder (Kafka's configuration, FerretDB's data). A pid file outlives its
    process and the pid may since belong to anything else. True where there is no /proc."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return False
    return str(profile.run_dir).encode() in cmdline


def _read_pid(pidfile: Path, profile: Profile) -> int | None:
    """The pid in `pidfile` if that process runs and is the one we started, else None."""
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid) and _ours(pid, profile) else None


def running(profile: Profile, name: str) -> int | None:
    """The pid of the profile's `kafka` or `ferretdb` if it runs (the launcher's watch)."""
    return _read_pid(profile.run_dir / f"{name}.pid", profile)


def log_tail(log: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _start(
    name: str,
    cmd: list[str],
    profile: Profile,
    port: int,
    ready: Callable[[], bool],
    timeout: float,
    env: dict[str, str] | None = None,
) -> None:
    pidfile = profile.run_dir / f"{name}.pid"
    log = profile.run_dir / "logs" / f"{name}.out"
    current = _read_pid(pidfile, profile)
    if current is not None and _port_open(port):  # `ready` passed when it started
        say(f"{name} already running on 127.0.0.1:{port}")
        return
    if current is not None:  # ours, but not serving: a start that never finished
        _stop_pid(current)
    if _port_open(port):
        raise InfraError(
            f"port {port} for {name} is taken by a process this launcher did not start; "
            f"stop it, or point the platform at it with the matching environment variable"
        )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=profile.run_dir,
            start_new_session=True,
            env=env,
        )
    pidfile.write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pidfile.unlink(missing_ok=True)
            raise InfraError(f"{name} exited with {process.returncode}; {log}:\n{log_tail(log)}")
        if _port_open(port) and ready():
            say(f"{name} ready on 127.0.0.1:{port} (log: {log})")
            return
        time.sleep(0.3)
    _stop_pid(process.pid)
    pidfile.unlink(missing_ok=True)
    raise InfraError(f"{name} not ready after {timeout:.0f}s; {log}:\n{log_tail(log)}")


def _kafka_ready(profile: Profile) -> Callable[[], bool]:
    def ready() -> bool:
        log = profile.run_dir / "kafka" / "logs" / "server.log"
        return _port_open(profile.kafka_port) and "Kafka Server started" in log_tail(log, 400)

    return ready


def start_kafka(profile: Profile) -> None:
    libs = kafka_libs()
    java = shutil.which("java")
    assert java is not None
    home = profile.run_dir / "kafka"
    data = home / "data"
    (home / "logs").mkdir(parents=True, exist_ok=True)
    config = home / "server.properties"
    formatted = (data / "meta.properties").exists()
    passwords = credentials.load(profile.platform_credentials)
    if not formatted or ADMIN not in passwords:  # a new cluster: a new admin
        shutil.rmtree(data, ignore_errors=True)
        formatted = False
        passwords[ADMIN] = credentials.new_password()
        credentials.save(profile.platform_credentials, passwords)
    admin_password = passwords[ADMIN]
    listeners, config_lines, super_users = [], [], ""
    if bench := profile.unauthenticated_port:
        listeners.append(f"BENCH://127.0.0.1:{bench}")
        super_users = ";User:ANONYMOUS"
    if tls := profile.tls_port:
        listeners.append(f"TLS://127.0.0.1:{tls}")
        config_lines += tls_listener_config(profile)
    extra = "".join("," + listener for listener in listeners)
    template = (INFRA / "kafka" / "server.properties").read_text()
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the password
    with os.fdopen(fd, "w") as out:
        out.write(
            template.replace("${CONTROLLER_PORT}", str(profile.controller_port))
            .replace("${KAFKA_PORT}", str(profile.kafka_port))
            .replace("${LOG_DIRS}", str(data))
            .replace("${ADMIN_PASSWORD}", admin_password)
            .replace("${EXTRA_LISTENERS}", extra)
            .replace("${EXTRA_ADVERTISED}", extra)
            .replace("${EXTRA_SUPER_USERS}", super_users)
            .replace("${LISTENER_CONFIG}", "\n".join(config_lines))
        )
    classpath = f"{libs}/*"
    # Tuned for a small machine and short runs: the serial collector and the quick C1 compiler
    # only (C2 compiling Kafka's hot paths cost more CPU than a run of the suite gives back).
    jvm = [
        java, "-Xms256m", "-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={INFRA / 'kafka' / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={home / 'logs'}", "-cp", classpath,
    ]  # fmt: skip
    if not formatted:
        scram = f"SCRAM-SHA-512=[name={ADMIN},password={admin_password}]"
        _run(
            [*jvm, "kafka.tools.StorageTool", "format", "-t", str(uuid.uuid4()), "-c", str(config),
             "--add-scram", scram],
            home,
            "formatting Kafka's storage",
        )  # fmt: skip
    _start("kafka", [*jvm, "kafka.Kafka", str(config)], profile, profile.kafka_port,
           _kafka_ready(profile), timeout=90)  # fmt: skip


def tls_listener_config(profile: Profile) -> list[str]:
    """The TLS listener's settings: a key and certificate for 127.0.0.1 signed by a CA made for
    the profile (clients trust `profile.tls_ca`, as KAFKA_SSL_CAFILE)."""
    folder = profile.tls_ca.parent
    if not (folder / "server.pem").exists():
        ca_pem, server_pem = make_certificates()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "server.pem").write_bytes(server_pem)
        (folder / "server.pem").chmod(0o600)
        profile.tls_ca.write_bytes(ca_pem)
    prefix = "listener.name.tls."
    return [
        f"{prefix}ssl.keystore.type=PEM",
        f"{prefix}ssl.keystore.location={folder / 'server.pem'}",
        f"{prefix}sasl.enabled.mechanisms=SCRAM-SHA-512",
        f"{prefix}scram-sha-512.sasl.jaas.config="
        "org.apache.kafka.common.security.scram.ScramLoginModule required;",
    ]


def make_certificates() -> tuple[bytes, bytes]:
    """A CA (PEM) and a server key + certificate for 127.0.0.1 and localhost signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)

    def certificate(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None,
        signer: ec.EllipticCurvePrivateKey, ca: bool,
    ) -> x509.Certificate:  # fmt: skip
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer or name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("DFDG local CA", ca_key, None, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    server = certificate("127.0.0.1", key, ca.subject, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.public_bytes(pem), key_pem + server.public_bytes(pem) + ca.public_bytes(pem)


def start_ferretdb(profile: Profile) -> str:
    """Start FerretDB with authentication; return the URL with user `dfdg` and its password.

    FerretDB creates its user at start only when the admin database does not exist yet: a new
    password (a profile's first start, or the credentials file lost) therefore goes with a new
    admin database (`admin.sqlite`; the platform's databases stay)."""
    binary = ferretdb_binary()
    data = profile.run_dir / "ferretdb"
    passwords = credentials.load(profile.platform_credentials)
    if MONGODB_CREDENTIAL not in passwords:
        if (pid := running(profile, "ferretdb")) is not None:
            _stop_pid(pid)  # started without this password (or by an older launcher)
        for stale in data.glob("admin.sqlite*"):
            stale.unlink()
        passwords[MONGODB_CREDENTIAL] = credentials.new_password()
        credentials.save(profile.platform_credentials, passwords)
    password = passwords[MONGODB_CREDENTIAL]
    url = (
        f"mongodb://{MONGODB_USER}:{quote(password, safe='')}@127.0.0.1:{profile.mongo_port}/"
        "?authSource=admin"
    )
    cmd = [str(binary), "-listen", f"127.0.0.1:{profile.mongo_port}", "-dir", str(data)]
    env = {
        **os.environ,
        "FERRETDB_SETUP_DATABASE": "admin",
        "FERRETDB_SETUP_USERNAME": MONGODB_USER,
        "FERRETDB_SETUP_PASSWORD": password,
    }
    _start("ferretdb", cmd, profile, profile.mongo_port,
           lambda: _port_open(profile.mongo_port), timeout=30, env=env)  # fmt: skip
    _check_login(url, profile)
    return url


def _check_login(url: str, profile: Profile) -> None:
    """FerretDB accepts the user and password (FerretDB made the user before it listened)."""
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=10_000)
    try:
        client.admin.command("listDatabases", nameOnly=True)  # needs authentication
    except OperationFailure as error:  # its message names neither the password nor the URL
        code = (error.details or {}).get("codeName", error.code)
        raise InfraError(
            f"FerretDB on 127.0.0.1:{profile.mongo_port} refuses user {MONGODB_USER} with the "
            f"password in {profile.platform_credentials} ({code}); "
            f"a fresh start (`joblog infra up --fresh`) makes a new database and password"
        ) from None
    except PyMongoError as error:
        raise InfraError(f"FerretDB on 127.0.0.1:{profile.mongo_port}: {error}") from None
    finally:
        client.close()


def redacted(url: str) -> str:
    """A MongoDB URL with its password replaced by `***`, for showing or logging."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def external_kafka() -> str | None:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or None


def external_mongodb() -> str | None:
    return os.environ.get("MONGODB_URL") or None


def up(profile: Profile, fresh: bool = False) -> dict[str, str]:
    """Bring Kafka and the database up (or use the external ones); return their addresses as the
    environment variables the services read."""
    if fresh:
        down(profile)
        shutil.rmtree(profile.run_dir, ignore_errors=True)
    profile.run_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    if kafka := external_kafka():
        say(f"using external Kafka at {kafka}")
        env["KAFKA_BOOTSTRAP_SERVERS"] = kafka
    else:
        start_kafka(profile)
        credentials.ensure_pseudonym_key(profile.platform_credentials)  # the logs' cpr#… key
        env |= {
            "KAFKA_BOOTSTRAP_SERVERS": profile.kafka_bootstrap,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "JOBLOG_KAFKA_CREDENTIALS": str(profile.parties_credentials),
            "JOBLOG_PLATFORM_CREDENTIALS": str(profile.platform_credentials),
        }
        if profile.tls_port:  # for clients that want TLS, as in production
            env["JOBLOG_KAFKA_TLS_BOOTSTRAP"] = f"127.0.0.1:{profile.tls_port}"
            env["JOBLOG_KAFKA_TLS_CAFILE"] = str(profile.tls_ca)
        provision(env)
    if mongo := external_mongodb():
        say("using the external MongoDB of MONGODB_URL")
        env["MONGODB_URL"] = mongo
    else:
        env["MONGODB_URL"] = start_ferretdb(profile)
    return env


def provision(env: dict[str, str]) -> None:
    """The contract's topics, principals and ACLs on the local Kafka (as its admin)."""
    settings = Settings.model_validate({**os.environ, **env})
    started = time.monotonic()
    Provisioning(as_principal(settings, ADMIN)).platform()
    say(
        f"Kafka secured: SASL SCRAM-SHA-512, ACLs; the parties' credentials are in "
        f"{env['JOBLOG_KAFKA_CREDENTIALS']} ({time.monotonic() - started:.1f}s)"
    )


def _stop_pid(pid: int, grace: float = 15.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)


def down(profile: Profile) -> None:
    """Stop what this launcher started for the profile, nothing else."""
    for name in ("kafka", "ferretdb"):
        pidfile = profile.run_dir / f"{name}.pid"
        pid = _read_pid(pidfile, profile)
        if pid is not None:
            say(f"stopping {name} (pid {pid})")
            _stop_pid(pid)
        pidfile.unlink(missing_ok=True)


def status(profile: Profile) -> dict[str, str]:
    result = {}
    for name, port in (("kafka", profile.kafka_port), ("ferretdb", profile.mongo_port)):
        pid = running(profile, name)
        result[name] = f"running, pid {pid}, port {port}" if pid else "stopped"
    return result
