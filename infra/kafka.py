"""Apache Kafka (KRaft, one node) from Maven Central's jars: the jars, the broker's configuration
from the template `infra/kafka/server.properties`, the TLS listener's certificates, and the
broker's start (its storage formatted with the admin's SCRAM credential for a new cluster).

The jars are fetched once with Maven (`infra/kafka/pom.xml`) into the cache; the configuration
holds the admin's password and is written readable by its owner only.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from infra import processes
from infra.processes import InfraError, say

KAFKA_VERSION = "4.1.1"
FILES = Path(__file__).resolve().parent / "kafka"  # pom.xml, server.properties, log4j2.properties


def libs() -> Path:
    """The Kafka broker's jars, fetched once with Maven (needs `mvn` and Java 17+)."""
    target = processes.cache_dir() / f"kafka-{KAFKA_VERSION}-libs"
    if (target / ".complete").exists():
        return target
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise InfraError("Kafka needs `java` (17+) and `mvn` on PATH to fetch its jars")
    say(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central …")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    processes.run(
        [
            "mvn", "-q", "-B", "-f", str(FILES / "pom.xml"),
            "dependency:copy-dependencies", f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        FILES.parents[1],
        "fetching the Kafka jars",
    )  # fmt: skip
    (staging / ".complete").touch()
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def formatted(home: Path) -> bool:
    """Whether the broker's storage under `home` has been formatted (a cluster exists)."""
    return (home / "data" / "meta.properties").exists()


def start(
    run_dir: Path,
    *,
    port: int,
    controller_port: int,
    admin: str,
    admin_password: str,
    new_cluster: bool,
    tls_port: int | None = None,
    tls_dir: Path | None = None,
    unauthenticated_port: int | None = None,
) -> None:
    """Start the broker of `run_dir/kafka` (ours, by pid file: see `processes.start`); with
    `new_cluster`, its storage is wiped and formatted with `admin`'s SCRAM credential."""
    libs_dir = libs()
    java = shutil.which("java")
    assert java is not None
    home = run_dir / "kafka"
    data = home / "data"
    (home / "logs").mkdir(parents=True, exist_ok=True)
    if new_cluster:
        shutil.rmtree(data, ignore_errors=True)
    config = home / "server.properties"
    listeners, config_lines, super_users = [], [], ""
    if unauthenticated_port:
        listeners.append(f"BENCH://127.0.0.1:{unauthenticated_port}")
        super_users = ";User:ANONYMOUS"
    if tls_port:
        assert tls_dir is not None
        listeners.append(f"TLS://127.0.0.1:{tls_port}")
        config_lines += tls_listener_config(tls_dir)
    extra = "".join("," + listener for listener in listeners)
    template = (FILES / "server.properties").read_text()
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # it holds the password
    with os.fdopen(fd, "w") as out:
        out.write(
            template.replace("${CONTROLLER_PORT}", str(controller_port))
            .replace("${KAFKA_PORT}", str(port))
            .replace("${LOG_DIRS}", str(data))
            .replace("${ADMIN_PASSWORD}", admin_password)
            .replace("${EXTRA_LISTENERS}", extra)
            .replace("${EXTRA_ADVERTISED}", extra)
            .replace("${EXTRA_SUPER_USERS}", super_users)
            .replace("${LISTENER_CONFIG}", "\n".join(config_lines))
        )
    classpath = f"{libs_dir}/*"
    # Tuned for a small machine and short runs: the serial collector and the quick C1 compiler
    # only (C2 compiling Kafka's hot paths cost more CPU than a run of the suite gives back).
    jvm = [
        java, "-Xms256m", "-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={FILES / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={home / 'logs'}", "-cp", classpath,
    ]  # fmt: skip
    if new_cluster:
        scram = f"SCRAM-SHA-512=[name={admin},password={admin_password}]"
        processes.run(
            [*jvm, "kafka.tools.StorageTool", "format", "-t", str(uuid.uuid4()), "-c", str(config),
             "--add-scram", scram],
            home,
            "formatting Kafka's storage",
        )  # fmt: skip
    processes.start("kafka", [*jvm, "kafka.Kafka", str(config)], run_dir, port,
                    _ready(home, port), timeout=90)  # fmt: skip


def _ready(home: Path, port: int) -> Callable[[], bool]:
    def ready() -> bool:
        log = home / "logs" / "server.log"
        return processes.port_open(port) and "Kafka Server started" in processes.log_tail(log, 400)

    return ready


def tls_listener_config(folder: Path) -> list[str]:
    """The TLS listener's settings: a key and certificate for 127.0.0.1 signed by a CA made for
    the profile, in `folder` (clients trust `folder/ca.pem`, as KAFKA_SSL_CAFILE)."""
    if not (folder / "server.pem").exists():
        ca_pem, server_pem = make_certificates()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "server.pem").write_bytes(server_pem)
        (folder / "server.pem").chmod(0o600)
        (folder / "ca.pem").write_bytes(ca_pem)
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
