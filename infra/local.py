"""Start and stop a local Apache Kafka (KRaft, from Maven Central jars) and FerretDB (built from
the Go module proxy) as plain processes, per profile.

- Idempotent: `up` leaves running components alone and starts only what is missing.
- Readiness is checked; a component that dies while starting is reported with its log's tail.
- Logs, data and pid files live under `.local/<profile>/` (git-ignored); jars and the FerretDB
  binary are cached under `~/.cache/joblog-platform` so a second start needs no network.
- `down` ends only the processes whose pid files this launcher wrote.
- FerretDB requires a user and password (SCRAM, like compose.yaml's MongoDB): user `dfdg`, its
  password made at a profile's first start and kept in the platform credentials file; so is the
  key of the cpr pseudonyms in the logs (`pseudonym`, `shared.cluster.credentials.pseudonym_key`).
- With KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL set, that component is external: nothing is started.

The parts: `infra/kafka.py` (jars, configuration, certificates), `infra/ferretdb.py` (the patched
build), `infra/processes.py` (pid files, start, readiness, stop); here the profiles, the
credentials of a profile's cluster and database, the cluster's provisioning, and up/down/status.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from infra import ferretdb, kafka, processes
from infra.processes import say
from shared.cluster import credentials
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal
from shared.cluster.provisioning import Provisioning
from shared.platform.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
MONGODB_USER = "dfdg"
MONGODB_CREDENTIAL = f"mongodb:{MONGODB_USER}"  # its key in the platform credentials file
COMPONENTS = ("kafka", "ferretdb")


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


LOCAL_REPLICATION = 1
"""A profile runs one broker: JOBLOG_REPLICATION_FACTOR and JOBLOG_MIN_INSYNC_REPLICAS 1."""

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


def running(profile: Profile, name: str) -> int | None:
    """The pid of the profile's `kafka` or `ferretdb` if it runs (the launcher's watch)."""
    return processes.read_pid(profile.run_dir / f"{name}.pid", profile.run_dir)


def start_kafka(profile: Profile) -> None:
    """Start the profile's broker; a new cluster (storage never formatted, or the admin's
    password lost) gets a new admin password, kept in the platform credentials file."""
    passwords = credentials.load(profile.platform_credentials)
    new_cluster = not kafka.formatted(profile.run_dir / "kafka") or ADMIN not in passwords
    if new_cluster:  # a new cluster: a new admin
        passwords[ADMIN] = credentials.new_password()
        credentials.save(profile.platform_credentials, passwords)
    kafka.start(
        profile.run_dir,
        port=profile.kafka_port,
        controller_port=profile.controller_port,
        admin=ADMIN,
        admin_password=passwords[ADMIN],
        new_cluster=new_cluster,
        tls_port=profile.tls_port,
        tls_dir=profile.tls_ca.parent,
        unauthenticated_port=profile.unauthenticated_port,
    )


def start_ferretdb(profile: Profile) -> str:
    """Start FerretDB with authentication; return the URL with user `dfdg` and its password.

    FerretDB creates its user at start only when the admin database does not exist yet: a new
    password (a profile's first start, or the credentials file lost) therefore goes with a new
    admin database (`admin.sqlite`; the platform's databases stay)."""
    program = ferretdb.binary()
    data = profile.run_dir / "ferretdb"
    passwords = credentials.load(profile.platform_credentials)
    if MONGODB_CREDENTIAL not in passwords:
        if (pid := running(profile, "ferretdb")) is not None:
            processes.stop_pid(pid)  # started without this password (or by an older launcher)
        for stale in data.glob("admin.sqlite*"):
            stale.unlink()
        passwords[MONGODB_CREDENTIAL] = credentials.new_password()
        credentials.save(profile.platform_credentials, passwords)
    password = passwords[MONGODB_CREDENTIAL]
    url = (
        f"mongodb://{MONGODB_USER}:{quote(password, safe='')}@127.0.0.1:{profile.mongo_port}/"
        "?authSource=admin"
    )
    ferretdb.start(program, profile.run_dir, profile.mongo_port, MONGODB_USER, password)
    ferretdb.check_login(url, profile.mongo_port, MONGODB_USER, profile.platform_credentials)
    return url


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
    if bootstrap := external_kafka():
        say(f"using external Kafka at {bootstrap}")
        env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
    else:
        start_kafka(profile)
        credentials.ensure_pseudonym_key(profile.platform_credentials)  # the logs' cpr#… key
        env |= {
            "KAFKA_BOOTSTRAP_SERVERS": profile.kafka_bootstrap,
            "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "JOBLOG_KAFKA_CREDENTIALS": str(profile.parties_credentials),
            "JOBLOG_PLATFORM_CREDENTIALS": str(profile.platform_credentials),
            # one broker: one copy of each partition (a production cluster: 3 and 2)
            "JOBLOG_REPLICATION_FACTOR": str(LOCAL_REPLICATION),
            "JOBLOG_MIN_INSYNC_REPLICAS": str(LOCAL_REPLICATION),
        }
        if profile.tls_port:  # for clients that want TLS, as in production
            env["JOBLOG_KAFKA_TLS_BOOTSTRAP"] = f"127.0.0.1:{profile.tls_port}"
            env["JOBLOG_KAFKA_TLS_CAFILE"] = str(profile.tls_ca)
        provision(env)
    if url := external_mongodb():
        say("using the external MongoDB of MONGODB_URL")
        env["MONGODB_URL"] = url
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


def down(profile: Profile) -> None:
    """Stop what this launcher started for the profile, nothing else."""
    for name in COMPONENTS:
        processes.stop(name, profile.run_dir)


def status(profile: Profile) -> dict[str, str]:
    result = {}
    for name, port in (("kafka", profile.kafka_port), ("ferretdb", profile.mongo_port)):
        pid = running(profile, name)
        result[name] = f"running, pid {pid}, port {port}" if pid else "stopped"
    return result
