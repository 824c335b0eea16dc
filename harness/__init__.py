"""The shared driver of the platform for the tests and the benchmarks (not an operator's command:
nothing in ops/ imports it): the real infrastructure, the settings of an isolated platform,
contract messages, and a front end's view of it.

It talks to the platform only as its users do: it produces to the contract's inbound topics and
reads its outbound, rejected and notice topics. (The simulation, ops.simulation, has a driver of
its own, tuned for sending a month in bulk.)
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from infra import local
from ops.lag import PlatformLag, source_partitions
from ops.parties import PartyProducers
from shared.cluster.access import ADMIN, OPERATOR
from shared.cluster.credentials import as_principal
from shared.cluster.provisioning import Provisioning
from shared.contract import topics
from shared.contract.kommuner import KOMMUNER
from shared.platform import registry
from shared.platform.akasse_register import AkasseEntry, publish_entry
from shared.platform.kafka import client_options, group_id, topic_partitions
from shared.platform.settings import Settings

Json = dict[str, Any]


def infrastructure() -> dict[str, str]:
    """Kafka and the database: those named in the environment, else Docker containers
    (testcontainers) where an engine runs, else the project's own local processes."""
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URL"):
        return {
            k: v for k, v in os.environ.items() if k.startswith(("KAFKA_", "MONGODB_", "JOBLOG_"))
        }
    if shutil.which("docker") and os.environ.get("JOBLOG_TESTCONTAINERS") == "1":
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        kafka = KafkaContainer("apache/kafka:4.1.1").with_kraft().start()
        mongo = MongoDbContainer("mongo:8.0").start()
        return {
            "KAFKA_BOOTSTRAP_SERVERS": kafka.get_bootstrap_server(),
            "MONGODB_URL": mongo.get_connection_url(),
        }
    return local.up(local.PROFILES["test"])


def test_settings(env: dict[str, str], **overrides: Any) -> Settings:
    """Settings of one isolated platform: its own database and consumer groups."""
    run = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        # the local single broker (an external cluster's environment may say otherwise)
        "JOBLOG_REPLICATION_FACTOR": 1,
        "JOBLOG_MIN_INSYNC_REPLICAS": 1,
        **env,
        "MONGODB_DATABASE": f"dfdg_test_{run}",
        "JOBLOG_GROUP_PREFIX": f"test-{run}",
        "JOBLOG_CLOCK": "simulated",
        "JOBLOG_API_PORT": free_port(),
        "JOBLOG_METRICS_PORT_BASE": 0,
        "JOBLOG_API_TOKENS": {
            "jc101": "jobcenter:101",
            "jc147": "jobcenter:147",
            "jobnet": "frontend:jobnet",
            "ak067": "frontend:akasse:067",
            "revisor": "revisor:star",
        },
        **overrides,
    }
    return Settings.model_validate(values)


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands out to outgoing connections (Linux's default if unreadable)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


_handed_out: set[int] = set()


def free_ports(offsets: Iterable[int] = (0,)) -> int:
    """A base port such that every base + offset is free now and lies below the ephemeral range.

    A port is chosen here and bound later by a server: one from the ephemeral range (what binding
    port 0 gives) can meanwhile be taken by any outgoing connection (`address already in use`),
    so the choice is made below that range, where only a server's explicit bind takes a port."""
    wanted = tuple(offsets)
    top = min(ephemeral_range()[0], 65536) - max(wanted) - 1
    rng = random.Random()
    for _ in range(1000):
        base = rng.randrange(20_000, top)
        ports = {base + offset for offset in wanted}
        if not ports & _handed_out and all(port_free(port) for port in ports):
            _handed_out.update(ports)
            return base
    raise RuntimeError("no free block of ports below the ephemeral range")


def free_port() -> int:
    """One free port below the ephemeral range (see `free_ports`)."""
    return free_ports()


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def start_groups_at_end(settings: Settings) -> None:
    """Commit the current end offsets for the platform's consumer groups before its services
    start, so a test platform handles only what its tests send (not earlier runs' messages)."""
    admin = as_principal(settings, ADMIN)
    for service in registry.SERVICES:
        for source in service.consumes:
            consumer = AIOKafkaConsumer(
                **client_options(admin),
                group_id=group_id(settings, service.name, source.name),
                enable_auto_commit=False,
            )
            await consumer.start()
            try:
                parts = (await source_partitions(consumer, [source]))[source]
                if parts:  # (a family of per-party topics may have none yet)
                    consumer.assign(parts)
                    ends = await consumer.end_offsets(parts)
                    await consumer.commit({tp: ends[tp] for tp in parts})
            finally:
                await consumer.stop()


# -- data ----------------------------------------------------------------------------------


_issued: set[str] = set()


def new_cpr(rng: random.Random | None = None) -> str:
    """A valid CPR number (born 1920-1957), without a modulus-11 check digit, never one this
    process handed out before: tests share a platform, and two tests' citizens that happened to
    share a cpr (1 in 20 runs, at a few thousand a run) would see each other's statuses. The
    simulation's citizens (ops/simulation/scenario.py) are born from 1958 on: none is one of
    these either."""
    rng = rng or random.Random()
    while True:
        day = date.fromordinal(date(1920, 1, 1).toordinal() + rng.randrange(365 * 38))
        cpr = f"{day:%d%m%y}{rng.randrange(4)}{rng.randrange(1000):03d}"
        if cpr not in _issued:
            _issued.add(cpr)
            return cpr


def ids() -> str:
    return str(uuid.uuid4())


def iso(moment: datetime) -> str:
    return moment.isoformat()


def application(**fields: Any) -> Json:
    return {
        "type": "ansoegning", "stilling": "Lagermedarbejder", "virksomhed": "Acme A/S",
        "land": "DK", "postnummer": "8000", "by": "Aarhus C", "status": "soegt", **fields,
    }  # fmt: skip


def jobnet(
    handling: str, cpr: str, joblog_id: str, at: datetime, grundversion: int | None = None,
    joblog: Json | None = None, besked_id: str | None = None,
) -> Json:  # fmt: skip
    message: Json = {
        "beskedId": besked_id or ids(), "handling": handling, "joblogId": joblog_id, "cpr": cpr,
        "tidspunkt": iso(at),
    }  # fmt: skip
    if grundversion is not None:
        message["grundversion"] = grundversion
    if handling != "slet":
        message["joblog"] = joblog or application()
    return message


def akasse(
    kind: str, cpr: str, log_id: str, at: datetime, based_on: int | None = None,
    entry: Json | None = None, akasse_nr: str = "067", event_id: str | None = None,
) -> Json:  # fmt: skip
    message: Json = {
        "eventId": event_id or ids(), "type": kind, "akasseNr": akasse_nr, "memberCpr": cpr,
        "logId": log_id, "occurredAt": iso(at),
    }  # fmt: skip
    if based_on is not None:
        message["basedOnVersion"] = based_on
    if kind != "JOBLOG_DELETED":
        message["entry"] = entry or {
            "kind": "APPLICATION", "jobTitle": "Lagermedarbejder",
            "employer": {"name": "Acme A/S", "country": "DK", "postalCode": "8000"},
            "status": "APPLIED",
        }  # fmt: skip
    return message


def status(
    cpr: str, fra: date, maalgruppe: str = "dagpenge", jobcenter: str = "101",
    akasse_nr: str | None = "067", til: date | None = None, at: datetime | None = None,
) -> Json:  # fmt: skip
    return {
        "messageId": ids(), "cpr": cpr, "jobcenter": jobcenter, "akasseNr": akasse_nr,
        "maalgruppe": maalgruppe, "gyldigFra": fra.isoformat(),
        "gyldigTil": til.isoformat() if til else None,
        "tidspunkt": iso(at or datetime.now(UTC)),
    }  # fmt: skip


def exemption(
    cpr: str, fra: date, til: date | None = None, handling: str = "tildel",
    exemption_id: str | None = None, jobcenter: str = "101",
) -> Json:  # fmt: skip
    return {
        "messageId": ids(), "cpr": cpr, "exemptionId": exemption_id or ids(),
        "jobcenter": jobcenter, "handling": handling, "gyldigFra": fra.isoformat(),
        "gyldigTil": til.isoformat() if til else None,
        "begrundelse": "LAS § 75 stk. 5", "alternativDokumentation": "samtaler hver 14. dag",
    }  # fmt: skip


# -- a front end's view ----------------------------------------------------------------------


class FrontEnd:
    """Produces to the platform's topics in the name of the party that writes each (with its
    credentials), and collects what the platform writes to the watched topics from the moment
    they are watched (read as the admin: the tests observe every party's topics)."""

    WATCHED = (
        topics.JOBNET_OUTBOUND, topics.JOBNET_REJECTED, topics.CITIZEN_REJECTED,
        topics.PLATFORM_REJECTED, *topics.notice_topics(),
        *(topics.jobcenter_rejected(kode) for kode in KOMMUNER),
    )  # fmt: skip

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.admin = as_principal(settings, ADMIN)
        self.seen: dict[str, list[Json]] = defaultdict(list)
        self.raw_seen: dict[str, list[bytes]] = defaultdict(list)
        self.parties = PartyProducers(settings, max_request_size=8 * 1024 * 1024)
        self._consumers: list[AIOKafkaConsumer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.lag = PlatformLag(self.admin)
        self.watched_akasser: set[str] = set()
        self.cprs_sent: set[str] = set()  # every cpr in a message sent: what the logs must not show

    async def start(self, watch: bool = True) -> None:
        """`watch=False`: a front end that only sends (nothing collected in memory)."""
        if watch:
            await self.watch(list(self.WATCHED))
        await self.lag.start()

    async def watch(self, names: list[str]) -> None:
        """Collect what is written to `names` from now on."""
        consumer = AIOKafkaConsumer(**client_options(self.admin))
        await consumer.start()
        parts = await topic_partitions(consumer, names)
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        for tp in parts:
            consumer.seek(tp, ends[tp])
        self._consumers.append(consumer)
        self._tasks.append(asyncio.create_task(self._collect(consumer)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.lag.stop()
        for consumer in self._consumers:
            await consumer.stop()
        await self.parties.stop()

    async def _collect(self, consumer: AIOKafkaConsumer) -> None:
        async for record in consumer:
            self.raw_seen[record.topic].append(record.value or b"")
            try:
                self.seen[record.topic].append(json.loads(record.value or b"null"))
            except ValueError:
                self.seen[record.topic].append({"unparsable": True})

    async def send(self, topic: str, message: Json | bytes, key: str | None = None) -> None:
        body = message if isinstance(message, bytes) else json.dumps(message).encode()
        if isinstance(message, dict):
            cprs = {message.get("cpr"), message.get("memberCpr")}
            self.cprs_sent.update(cpr for cpr in cprs if isinstance(cpr, str) and cpr)
        if key is None and isinstance(message, dict):
            key = message.get("cpr") or message.get("memberCpr")
        if key and key.isdigit() and len(key) == 10:
            self.cprs_sent.add(key)
        await self.parties.send_and_wait(topic, key.encode() if key else None, body)

    async def tick(self, now: datetime) -> None:
        await self.send(topics.TIMERS, {"now": iso(now)}, key="clock")

    async def register(self, akasse_nr: str, offers_joblog: bool = True) -> None:
        """Name the a-kasse in the register (as the operator) and watch its topics. Its topics,
        principal and ACLs are made first, as the provisioner service would within seconds."""
        if akasse_nr not in self.watched_akasser:
            await asyncio.to_thread(Provisioning(self.admin).akasse, akasse_nr)
            await self.watch([topics.akasse_outbound(akasse_nr), topics.akasse_rejected(akasse_nr)])
            self.watched_akasser.add(akasse_nr)
        await self.publish_register(akasse_nr, offers_joblog)

    async def publish_register(self, akasse_nr: str, offers_joblog: bool) -> None:
        """Only the register entry, as the operator (the provisioner does the rest)."""
        entry = AkasseEntry(akasseNr=akasse_nr, navn=f"A-kasse {akasse_nr}",
                            tilbyderJoblog=offers_joblog)  # fmt: skip
        await publish_entry(as_principal(self.settings, OPERATOR), entry, akasse_nr)

    async def wait_for(
        self, topic: str, match: Callable[[Json], bool], count: int = 1, timeout: float = 30
    ) -> list[Json]:
        """The first `count` messages on `topic` that match; fails after `timeout` seconds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = [m for m in self.seen[topic] if match(m)]
            if len(found) >= count:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(
                    f"expected {count} matching messages on {topic}, saw {len(found)}: {found}"
                )
            await asyncio.sleep(0.05)

    def matching(self, topic: str, match: Callable[[Json], bool]) -> list[Json]:
        return [m for m in self.seen[topic] if match(m)]

    async def caught_up(self, timeout: float = 60) -> None:
        """Wait until this front end has read every watched topic up to its end offsets as they
        are at the moment of the call. Before asserting that something did not come: `settle`
        waits for the platform's consumers only, not for the background readers here."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        targets = []
        for consumer in self._consumers:
            parts = sorted(consumer.assignment())
            targets.append((consumer, await consumer.end_offsets(parts) if parts else {}))
        for consumer, ends in targets:
            for tp, end in ends.items():
                # aiokafka moves the position as it hands a record to `_collect`, which stores
                # it before its next await: a position at `end` means everything before is seen
                while (position := await consumer.position(tp)) < end:
                    for task in self._tasks:
                        if task.done():
                            task.result()  # a reader that died: its error, not a timeout
                    if loop.time() > deadline:
                        raise AssertionError(
                            f"the front end read {tp.topic}[{tp.partition}] to {position} only, "
                            f"not to its end offset {end}"
                        )
                    await asyncio.sleep(0.02)

    async def settle(self, timeout: float = 60) -> None:
        """Wait until the platform has processed everything sent so far."""
        deadline = asyncio.get_running_loop().time() + timeout
        quiet = 0
        while quiet < 2:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the platform did not catch up in time")
            quiet = quiet + 1 if await self.lag() == 0 else 0
            await asyncio.sleep(0.05)
