"""Joblog capacity: a backlog drained by the real service processes, beside a bare sink of the
same records, then a steady offered load with its latency, and the CPU each process spends.

In one run on the same Kafka and database:

1. Drain. With the services stopped, the citizens are seeded through the platform (status
   messages: members of a-kasse 067, registered as offering a joblog; and one Jobnet-created
   joblog for each joblog the a-kasse will edit), the services are stopped, and a backlog of
   `--changes` changes is put on the inbound topics, each with its party's credentials: 70 %
   Jobnet creates on jobnet.joblog.inbound, 30 % a-kasse edits (JOBLOG_UPDATED) of the seeded
   joblogs on akasse.067.joblog.inbound, each joblog edited twice, both edits based on version
   1, so the second is merged three-way against the first. Then the services are started as
   `joblog run` starts them (`ops.launch.start_services`: one process each, supervised), and
   the time runs from their start until both outbound topics (jobnet.joblog.outbound and
   akasse.067.joblog.outbound) hold an answer for every change (counted by the origin's message
   id): `drain_changes_per_s`. A rejection of any of them stops the run.
2. The bare sink of the same records (the backlog on the inbound topics), before the services
   start: consume in batches of up to 500, one `insert_many` per batch, commit:
   `bare_sink_per_s`, and the platform's share of it, `drain_vs_bare_sink`.
3. Steady load: Jobnet creates offered at `--steady-rate` a second for `--steady-seconds`, paced
   by absolute deadlines (each send queued at its time, not awaited before the next); the
   latency of each from the moment it was handed to the producer to the moment the a-kasse's
   outbound answer was received here: `latency_p50_ms`, `latency_p90_ms`, `latency_p99_ms`.
4. CPU: utime + stime (/proc/<pid>/stat) of each service process, of Kafka and of FerretDB
   (when their pid files are found), per 1,000 changes, during the drain (from the moment every
   service is ready; what starting cost is `startup_cpu_s`) and during the steady load; and a
   py-spy profile (when `py-spy` is installed next to this Python, e.g. `.venv/bin/pip install
   py-spy`) of the service that is busiest in the first seconds of the drain, for the rest of
   the drain, summarised as the functions and packages where its samples fall.

    .venv/bin/python -m bench.throughput                       (the issue's size: 25 minutes
                                                               on today's code here)
    .venv/bin/python -m bench.throughput --changes 2000 --citizens 500 --steady-seconds 10

It writes bench/results/throughput.json (`--no-write`: print only). It uses the Kafka and
database of KAFKA_BOOTSTRAP_SERVERS / MONGODB_URL when both are set (the environment
`joblog infra up --profile NAME --kafka-port P --mongo-port Q` prints), else it starts its own
`bench` profile and stops it at the end.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.common import RESULTS, write_result
from harness import (
    FrontEnd,
    free_port,
    free_ports,
    infrastructure,
    jobnet,
    new_cpr,
    start_groups_at_end,
    status,
    test_settings,
)
from infra import local, processes
from ops.lag import PlatformLag
from ops.launch import METRICS_STRIDE, Instance
from ops.launch import start_services as start_processes
from ops.parties import PartyProducers
from ops.supervisor import Supervisor
from services.in_process import start_services
from shared.cluster.access import ADMIN, OPERATOR, writer_of
from shared.cluster.credentials import as_principal
from shared.cluster.provisioning import Provisioning
from shared.contract import topics
from shared.platform.akasse_register import AkasseEntry, publish_entry
from shared.platform.kafka import client_options, topic_partitions
from shared.platform.settings import Settings

Json = dict[str, Any]
AKASSE = "067"
AKASSE_INBOUND = topics.akasse_inbound(AKASSE)
AKASSE_OUTBOUND = topics.akasse_outbound(AKASSE)
OUTBOUND = {topics.JOBNET_OUTBOUND: "beskedId", AKASSE_OUTBOUND: "eventId"}
"""Each outbound topic and its field holding the origin's message id."""
REJECTED = (
    topics.JOBNET_REJECTED, topics.akasse_rejected(AKASSE), topics.CITIZEN_REJECTED,
    topics.PLATFORM_REJECTED,
)  # fmt: skip
BARE_BATCH = 500
STALL_SECONDS = 180.0
"""A wait with no new answer for this long fails the run (with the services' logs' tails)."""
PY_SPY = Path(sys.executable).parent / "py-spy"
PROFILE_RATE = 20
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sizes:
    changes: int
    citizens: int
    akasse_share: float
    steady_rate: float
    steady_seconds: float
    steady_wait: float

    @property
    def edits(self) -> int:
        return round(self.changes * self.akasse_share) // 2 * 2  # each joblog edited twice

    @property
    def creates(self) -> int:
        return self.changes - self.edits

    @property
    def edited_joblogs(self) -> int:
        return self.edits // 2


# -- messages ------------------------------------------------------------------------------------


def entry(status_value: str, notes: str | None = None) -> Json:
    """An a-kasse entry equal to `harness.application()` but for `status` and the notes."""
    body: Json = {
        "kind": "APPLICATION", "jobTitle": "Lagermedarbejder",
        "employer": {"name": "Acme A/S", "country": "DK", "postalCode": "8000",
                     "city": "Aarhus C"},
        "status": status_value,
    }  # fmt: skip
    if notes:
        body["notes"] = notes
    return body


def edit(cpr: str, log_id: str, at: datetime, second: bool) -> Json:
    """An a-kasse JOBLOG_UPDATED based on version 1: the first moves the status to INTERVIEW,
    the second (also based on 1, when the first has made 2) adds notes: merged three-way."""
    return {
        "eventId": str(uuid.uuid4()), "type": "JOBLOG_UPDATED", "akasseNr": AKASSE,
        "memberCpr": cpr, "logId": log_id, "occurredAt": at.isoformat(), "basedOnVersion": 1,
        "entry": entry("APPLIED", "Ringede til virksomheden") if second else entry("INTERVIEW"),
    }  # fmt: skip


@dataclass
class Record:
    topic: str
    key: str
    body: Json

    @property
    def id(self) -> str:
        return str(self.body.get("beskedId") or self.body["eventId"])


def backlog(sizes: Sizes, cprs: list[str], joblogs: list[tuple[str, str]]) -> list[Record]:
    now = datetime.now(UTC)
    records = [
        Record(topics.JOBNET_INBOUND, cpr, jobnet("opret", cpr, str(uuid.uuid4()), now))
        for i in range(sizes.creates)
        for cpr in [cprs[i % len(cprs)]]
    ]
    for second in (False, True):
        records += [
            Record(AKASSE_INBOUND, cpr, edit(cpr, log_id, now, second)) for cpr, log_id in joblogs
        ]
    return records


# -- observing the platform ---------------------------------------------------------------------


class Answers:
    """Reads the outbound and rejected topics from where they end when started (as the admin):
    for each outbound topic, the origin's message ids with the time each was received here."""

    def __init__(self, admin: Settings) -> None:
        self.consumer = AIOKafkaConsumer(**client_options(admin), enable_auto_commit=False)
        self.seen: dict[str, dict[str, float]] = {name: {} for name in OUTBOUND}
        self.rejected: list[tuple[str, bytes]] = []
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        parts = await topic_partitions(self.consumer, [*OUTBOUND, *REJECTED])
        self.consumer.assign(parts)
        ends = await self.consumer.end_offsets(parts)
        for tp in parts:
            self.consumer.seek(tp, ends[tp])
        self.task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.consumer.stop()

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=100, max_records=5000)
            now = time.time()
            for tp, records in batches.items():
                if tp.topic not in OUTBOUND:
                    self.rejected += [(tp.topic, r.value or b"") for r in records]
                    continue
                seen, id_field = self.seen[tp.topic], OUTBOUND[tp.topic]
                for record in records:
                    seen.setdefault(str(json.loads(record.value or b"{}").get(id_field)), now)

    def count(self, ids: set[str]) -> dict[str, int]:
        return {name: len(ids & seen.keys()) for name, seen in self.seen.items()}

    async def wait(
        self,
        ids: set[str],
        what: str,
        health: Platform | None,
        topics_: tuple[str, ...] = (),
        until: float | None = None,
    ) -> float | None:
        """Until every id is answered on each of `topics_` (default both); the time.time() at
        which the last one was seen (None when time.time() passes `until` first). A rejection
        or a dead service fails the run, as does a wait without progress for STALL_SECONDS."""
        names = topics_ or tuple(OUTBOUND)
        last, progress_at = -1, time.monotonic()
        with bars() as progress:
            tasks = {name: progress.add_task(f"{what}: {name}", total=len(ids)) for name in names}
            while True:
                counts = self.count(ids)
                for name in names:
                    progress.update(tasks[name], completed=counts[name])
                if self.rejected:
                    topic, body = self.rejected[0]
                    raise SystemExit(
                        f"{len(self.rejected)} rejected; the first on {topic}: {body!r}"
                    )
                if health is not None:
                    health.check()
                done = sum(counts[name] for name in names)
                if done == len(ids) * len(names):
                    return max(self.seen[name][i] for name in names for i in ids)
                if until is not None and time.time() > until:
                    return None
                if done > last:
                    last, progress_at = done, time.monotonic()
                elif time.monotonic() - progress_at > STALL_SECONDS:
                    if health is not None:
                        health.show_logs()
                    raise SystemExit(f"{what}: no progress for {STALL_SECONDS:.0f} s at {counts}")
                await asyncio.sleep(0.1)


def bars() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (its threads included), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()  # after the command's name: field 3 (state) on
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def infrastructure_pids(settings: Settings) -> dict[str, int]:
    """Kafka's and FerretDB's pids when a local profile of this checkout runs them (its folder
    holds the platform credentials file and the pid files)."""
    found: dict[str, int] = {}
    credentials = settings.platform_credentials_file
    if credentials is None:
        return found
    run_dir = Path(credentials).parent
    for name in local.COMPONENTS:
        if (pid := processes.read_pid(run_dir / f"{name}.pid", run_dir)) is not None:
            found[name] = pid
    return found


class Platform:
    """The service processes, as `joblog run` starts them, on `env`."""

    def __init__(self, env: dict[str, str], logs: Path, infra: dict[str, int]) -> None:
        self.env, self.logs, self.infra = env, logs, infra
        self.supervisor = Supervisor(lambda text: print(f"supervisor: {text}", flush=True))
        self.instances: list[Instance] = []

    def start(self) -> None:
        self.instances = start_processes(self.supervisor, self.env, self.logs)

    def pids(self) -> dict[str, int]:
        services = {
            name: pid for name, s in self.supervisor.services.items() if (pid := s.pid) is not None
        }
        return {**services, **self.infra}

    def cpu(self) -> dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids().items()}

    async def ready(self) -> dict[str, tuple[float, float]]:
        """Wait until every service answers its readiness URL; for each, the time
        (perf_counter) it was first seen ready and its CPU seconds then."""
        waiting = {i.name: url for i in self.instances if (url := i.ready_url(self.env))}
        pids = self.pids()
        seen: dict[str, tuple[float, float]] = {}
        while waiting:
            self.check()
            answers = await asyncio.gather(
                *(asyncio.to_thread(_ready, u) for u in waiting.values())
            )
            for (name, _), ok in zip(list(waiting.items()), answers, strict=True):
                if ok:
                    seen[name] = (time.perf_counter(), cpu_seconds(pids[name]))
                    del waiting[name]
            await asyncio.sleep(0.05)
        return seen

    def check(self) -> None:
        for name, service in self.supervisor.services.items():
            if service.process is not None and service.process.poll() is not None:
                self.show_logs()
                raise SystemExit(f"{name} died (exit {service.process.returncode})")

    def show_logs(self, last: int = 15) -> None:
        for log in sorted(self.logs.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()
            print(f"--- {log}: the last {last} of {len(lines)} lines")
            print("\n".join(line[:300] for line in lines[-last:]))

    def stop(self) -> None:
        self.supervisor.stop_all()


def _ready(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


# -- the profile -----------------------------------------------------------------------------


class Profiler:
    """py-spy recording one process (collapsed stacks), if py-spy is installed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.process: subprocess.Popen[bytes] | None = None
        self.target: str | None = None

    @staticmethod
    def available() -> bool:
        return PY_SPY.exists() or shutil.which("py-spy") is not None

    def start(self, name: str, pid: int) -> None:
        program = str(PY_SPY) if PY_SPY.exists() else "py-spy"
        self.target = name
        self.process = subprocess.Popen(
            [program, "record", "--pid", str(pid), "--rate", str(PROFILE_RATE), "--nonblocking",
             "--format", "raw", "--output", str(self.out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=default_sigint,
        )  # fmt: skip

    def stop(self) -> dict[str, Any] | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return {"process": self.target, "error": "py-spy did not stop"}
        if not self.out.exists():
            return {"process": self.target, "error": err.decode(errors="replace")[-500:]}
        return {"process": self.target, "rate_hz": PROFILE_RATE, **summarise(self.out)}


IDLE = {
    ("selectors", "select"), ("threading", "wait"), ("stdlib:threading", "wait"),
    ("shared.platform.outage", "run"),  # its thread sleeps a second between ticks
}  # fmt: skip
"""Top frames of a thread waiting (the event loop in epoll, a pool's idle worker): not CPU."""


def default_sigint() -> None:
    """py-spy stops (and writes its file) on SIGINT, which a background shell ignores."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


FRAMEWORK = ("asyncio", "<frozen", "stdlib:", "selectors", "services.__main__", "anyio")
"""Left out of the inclusive list: the event loop and the entry point (under every sample)."""
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def where(file: str) -> str:
    """A frame's file as a package: a third-party one, the project's module, or the stdlib's."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    path = Path(file)
    try:
        return ".".join(path.resolve().relative_to(ROOT).with_suffix("").parts)
    except ValueError:
        pass
    if not path.is_absolute():  # py-spy shortens the project's paths
        return ".".join(path.with_suffix("").parts)
    return f"stdlib:{path.stem}"


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    """The collapsed stacks as the functions with most samples on top of the stack (self), most
    samples anywhere in the stack (inclusive), and the packages of the top frames."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = []
        for frame in stack.split(";"):
            match = FRAME.match(frame)
            if match is None:  # a thread's or process's name
                continue
            frames.append((match["function"], where(match["file"])))
        if not frames:
            continue
        function, package = frames[-1]
        if (package, function.rsplit(".", 1)[-1]) in IDLE:
            idle += count
            continue
        total += count
        own[f"{package}.{function}"] += count
        packages[package] += count
        for name in {f"{p}.{f}" for f, p in frames if not p.startswith(FRAMEWORK)}:
            inclusive[name] += count

    def shares(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(n / total, 3)] for name, n in counter.most_common(top)]

    if not total:
        return {"samples": 0}
    return {
        "samples": total, "idle_samples_left_out": idle, "top_self": shares(own),
        "top_inclusive": shares(inclusive), "top_packages_self": shares(packages),
    }  # fmt: skip


# -- the phases ---------------------------------------------------------------------------------


def profiles(
    summaries: dict[str, dict[str, Any] | None], used: dict[str, float], python: list[str]
) -> dict[str, Any]:
    """The whole summary of the service that used the most CPU in the drain, the top of the
    others'."""
    if not summaries:
        return {"drain_profile": {"error": "no profile (py-spy not installed?)"}}
    busiest = max(python, key=lambda name: used[name])
    others = {
        name: {key: summary.get(key, [])[:5] for key in ("top_self", "top_packages_self")}
        for name, summary in summaries.items()
        if name != busiest and summary is not None
    }
    return {
        "drain_profile": summaries.get(busiest) or {"error": f"no profile of {busiest}"},
        "drain_profile_others": others,
    }


def process_env(settings: Settings, env: dict[str, str]) -> dict[str, str]:
    """The service processes' environment: the infrastructure, this run's database and groups,
    the real clock, free API and metrics ports."""
    return {
        **os.environ,
        **env,
        "MONGODB_DATABASE": settings.mongodb_database,
        "JOBLOG_GROUP_PREFIX": settings.group_prefix,
        "JOBLOG_CLOCK": "real",
        "JOBLOG_API_PORT": str(settings.api_port),
        "JOBLOG_API_TOKENS": json.dumps(settings.api_tokens),
        "JOBLOG_METRICS_PORT_BASE": str(settings.metrics_port_base),
    }


async def send_all(parties: PartyProducers, records: list[Record]) -> None:
    with bars() as progress:
        task = progress.add_task("sending", total=len(records))
        for i, record in enumerate(records):
            await parties.send(record.topic, record.key.encode(), json.dumps(record.body).encode())
            if i % 500 == 0:
                progress.update(task, completed=i)
        await parties.flush()
        progress.update(task, completed=len(records))


async def offsets(settings: Settings, names: list[str]) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(**client_options(settings))
    await consumer.start()
    try:
        parts = await topic_partitions(consumer, names)
        return dict(await consumer.end_offsets(parts))
    finally:
        await consumer.stop()


async def bare_sink(
    admin: Settings, db: Any, start: dict[TopicPartition, int], end: dict[TopicPartition, int]
) -> tuple[float, int]:
    """The same records consumed in batches of up to 500, one insert_many each, a commit each:
    (records a second, records)."""
    consumer = AIOKafkaConsumer(
        **client_options(admin), group_id=f"bench-bare-sink-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False, max_partition_fetch_bytes=8 * 1024 * 1024,
    )  # fmt: skip
    collection = db["bench_bare_sink"]
    await consumer.start()
    wanted = sum(end[tp] - start[tp] for tp in end)
    try:
        consumer.assign(list(end))
        for tp, offset in start.items():
            consumer.seek(tp, offset)
        done = 0
        started = time.perf_counter()
        with bars() as progress:
            task = progress.add_task("bare sink", total=wanted)
            while done < wanted:
                batches = await consumer.getmany(timeout_ms=500, max_records=BARE_BATCH)
                docs = [
                    {"_id": f"{tp.topic}:{tp.partition}:{r.offset}", "key": r.key, "raw": r.value}
                    for tp, records in batches.items()
                    for r in records
                    if r.offset < end[tp]
                ]
                if docs:
                    await collection.insert_many(docs, ordered=False)
                    await consumer.commit()
                    done += len(docs)
                    progress.update(task, completed=done)
        seconds = time.perf_counter() - started
    finally:
        await consumer.stop()
        await collection.drop()
    return done / seconds, done


async def settle(lag: PlatformLag, platform: Platform, timeout: float = 1800) -> None:
    """Until the services' consumer groups have no lag (twice in a row)."""
    deadline, quiet = time.monotonic() + timeout, 0
    while quiet < 2:
        platform.check()
        if time.monotonic() > deadline:
            raise SystemExit("the platform did not catch up")
        quiet = quiet + 1 if await lag() == 0 else 0
        await asyncio.sleep(0.2)


async def register_akasse(settings: Settings) -> None:
    admin = as_principal(settings, ADMIN)
    await asyncio.to_thread(Provisioning(admin).akasse, AKASSE)
    entry_ = AkasseEntry(akasseNr=AKASSE, navn=f"A-kasse {AKASSE}", tilbyderJoblog=True)
    await publish_entry(as_principal(settings, OPERATOR), entry_, AKASSE)


@dataclass
class Run:
    sizes: Sizes
    settings: Settings
    env: dict[str, str]
    logs: Path
    figures: dict[str, Any] = field(default_factory=dict)


async def seed(run: Run, platform: Platform, answers: Answers, lag: PlatformLag) -> tuple[
    list[str], list[tuple[str, str]]
]:  # fmt: skip
    """The citizens (status: members of 067) and the joblogs the a-kasse will edit, through the
    running platform; returns the cprs and the (cpr, joblog id) pairs."""
    sizes, parties = run.sizes, PartyProducers(run.settings)
    today = datetime.now(UTC).date()
    cprs = unique_cprs(sizes.citizens)
    try:
        print(f"seeding {sizes.citizens:,} citizens and {sizes.edited_joblogs:,} joblogs")
        statuses = [
            Record(topics.CITIZEN_STATUS, cpr, status(cpr, today - timedelta(days=30)))
            for cpr in cprs
        ]
        await send_all(parties, statuses)
        await settle(lag, platform)
        now = datetime.now(UTC)
        joblogs = [(cprs[i % len(cprs)], str(uuid.uuid4())) for i in range(sizes.edited_joblogs)]
        creates = [
            Record(topics.JOBNET_INBOUND, cpr, jobnet("opret", cpr, log_id, now))
            for cpr, log_id in joblogs
        ]
        await send_all(parties, creates)
        await answers.wait({r.id for r in creates}, "seed joblogs", platform)
        await settle(lag, platform)
    finally:
        await parties.stop()
    return cprs, joblogs


def unique_cprs(n: int) -> list[str]:
    seen: set[str] = set()
    while len(seen) < n:
        seen.add(new_cpr())
    return sorted(seen)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


async def drain(run: Run, answers: Answers, cprs: list[str], joblogs: list[tuple[str, str]],
                mongo: Any, profile: bool) -> Platform:  # fmt: skip
    """Backlog, bare sink, then the services started and timed until every answer is out."""
    sizes, admin = run.sizes, as_principal(run.settings, ADMIN)
    records = backlog(sizes, cprs, joblogs)
    inbound = [topics.JOBNET_INBOUND, AKASSE_INBOUND]
    before = await offsets(admin, inbound)
    parties = PartyProducers(run.settings, linger_ms=5, max_batch_size=256 * 1024)
    print(f"backlog: {sizes.creates:,} Jobnet creates, {sizes.edits:,} a-kasse edits")
    try:
        await send_all(parties, records)
    finally:
        await parties.stop()
    after = await offsets(admin, inbound)
    bare, sunk = await bare_sink(admin, mongo[run.settings.mongodb_database], before, after)
    if sunk != len(records):
        raise SystemExit(f"the bare sink read {sunk} records of {len(records)}")
    run.figures |= {"bare_sink_per_s": round(bare, 1), "bare_sink_batch": BARE_BATCH}

    platform = Platform(run.env, run.logs, infrastructure_pids(run.settings))
    profilers: dict[str, Profiler] = {}
    ids = {r.id for r in records}
    started, started_wall = time.perf_counter(), time.time()
    platform.start()
    print("services started (processes, as `joblog run` starts them)")
    cpu_start = platform.cpu()  # Kafka's and FerretDB's; the services' are ~0 here
    readiness = asyncio.create_task(platform.ready())
    choose = asyncio.create_task(profile_all(platform, profilers, answers, ids, profile))
    try:
        last = await answers.wait(ids, "drain", platform)
        assert last is not None
        ready = await readiness
    finally:
        for task in (choose, readiness):
            if not task.done():
                task.cancel()
    cpu_done = platform.cpu()
    summaries = {name: profiler.stop() for name, profiler in profilers.items()}
    seconds = last - started_wall
    first = min(answers.seen[name][i] for name in OUTBOUND for i in ids)
    python = [i.name for i in platform.instances]
    # a service's CPU from the moment it was ready (what it spent starting: `startup_cpu_s`)
    base = {**cpu_start, **{n: cpu for n, (_, cpu) in ready.items()}}
    used = {n: cpu_done[n] - base[n] for n in cpu_done}
    per_1000 = {n: round(1000 * s / len(records), 3) for n, s in used.items()}
    run.figures |= {
        "drain_changes": len(records),
        "drain_seconds": round(seconds, 2),
        "drain_changes_per_s": round(len(records) / seconds, 1),
        "drain_vs_bare_sink": round(len(records) / seconds / bare, 4),
        "drain_seconds_to_ready": round(max(at for at, _ in ready.values()) - started, 2),
        "drain_seconds_to_first_answer": round(first - started_wall, 2),
        "drain_changes_per_s_after_first_answer": round(len(records) / (last - first), 1),
        "startup_cpu_s": {n: round(ready[n][1], 2) for n in python},
        "drain_cpu_s": {n: round(s, 2) for n, s in used.items()},
        "drain_cpu_s_per_1000_changes": per_1000,
        "drain_services_cpu_s_per_1000_changes": round(sum(per_1000[n] for n in python), 3),
        **profiles(summaries, used, python),
    }
    return platform


async def profile_all(
    platform: Platform, profilers: dict[str, Profiler], answers: Answers, ids: set[str],
    profile: bool,
) -> None:  # fmt: skip
    """Once answers flow, py-spy every service process for the rest of the drain."""
    if not profile or not Profiler.available():
        return
    while not any(answers.count(ids).values()):
        await asyncio.sleep(0.2)
    print(f"profiling every service (py-spy, {PROFILE_RATE} Hz each, nonblocking)")
    pids = platform.pids()
    for instance in platform.instances:
        profiler = Profiler(platform.logs / f"{instance.name}.spy")
        profilers[instance.name] = profiler
        profiler.start(instance.name, pids[instance.name])


async def steady(run: Run, answers: Answers, platform: Platform, cprs: list[str]) -> None:
    """Jobnet creates offered at a fixed rate, paced by absolute deadlines; the latency from each
    send to its answer on the a-kasse's outbound topic."""
    sizes = run.sizes
    n = round(sizes.steady_rate * sizes.steady_seconds)
    if n == 0:
        return
    parties = PartyProducers(run.settings)
    sent: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    deliveries = []
    cpu_before = platform.cpu()
    print(f"steady load: {sizes.steady_rate:g}/s for {sizes.steady_seconds:g} s ({n:,} creates)")
    try:
        producer = await parties.producer(writer_of(topics.JOBNET_INBOUND))
        t0 = loop.time()
        for i in range(n):
            delay = t0 + i / sizes.steady_rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            cpr = cprs[i % len(cprs)]
            message = jobnet("opret", cpr, str(uuid.uuid4()), datetime.now(UTC))
            sent[message["beskedId"]] = time.time()
            deliveries.append(
                await producer.send(
                    topics.JOBNET_INBOUND, json.dumps(message).encode(), key=cpr.encode()
                )
            )
        offered_seconds = loop.time() - t0
        await asyncio.gather(*deliveries)
        until = time.time() + sizes.steady_wait
        last = await answers.wait(set(sent), "steady", platform, (AKASSE_OUTBOUND,), until)
    finally:
        await parties.stop()
    cpu_after = platform.cpu()
    stopped = time.time()
    seen = answers.seen[AKASSE_OUTBOUND]
    answered = sum(1 for i in sent if i in seen)
    # an answer not seen when the wait ended counts as that late (its latency a lower bound)
    latencies = [1000 * (seen.get(i, stopped) - t) for i, t in sent.items()]
    first = min(sent.values())
    done = answered if last is None else n
    run.figures |= {
        "steady_offered_per_s": sizes.steady_rate,
        "steady_seconds": sizes.steady_seconds,
        "steady_changes": n,
        "steady_achieved_per_s": round(n / offered_seconds, 1) if offered_seconds else None,
        "steady_answered": answered,
        "steady_answered_per_s": round(done / ((last or stopped) - first), 1),
        "latency_lower_bounds": answered < n,
        "latency_p50_ms": round(percentile(latencies, 0.5), 1),
        "latency_p90_ms": round(percentile(latencies, 0.9), 1),
        "latency_p99_ms": round(percentile(latencies, 0.99), 1),
        "latency_max_ms": round(max(latencies), 1),
        "steady_cpu_s_per_1000_changes": {
            name: round(1000 * (cpu_after[name] - cpu_before[name]) / done, 3) for name in cpu_after
        },
    }


async def measure(sizes: Sizes, profile: bool) -> dict[str, Any]:
    measured = commit()  # the code as it is at the start
    own = not (os.environ.get("KAFKA_BOOTSTRAP_SERVERS") and os.environ.get("MONGODB_URL"))
    env = local.up(BENCH_PROFILE, fresh=True) if own else infrastructure()
    try:
        metrics = free_ports(range(METRICS_STRIDE))
        settings = test_settings(
            env, JOBLOG_CLOCK="real", JOBLOG_METRICS_PORT_BASE=metrics, JOBLOG_API_PORT=free_port()
        )
        logs = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
        run = Run(sizes, settings, process_env(settings, env), logs)
        print(f"database {settings.mongodb_database}; the services' logs in {logs}")
        await register_akasse(settings)
        await start_groups_at_end(settings)
        admin = as_principal(settings, ADMIN)
        answers, lag = Answers(admin), PlatformLag(admin)
        mongo: AsyncMongoClient[Json] = AsyncMongoClient(settings.mongodb_url)
        await answers.start()
        await lag.start()
        platform: Platform | None = None
        try:
            seeding = Platform(run.env, logs, {})
            seeding.start()
            try:
                await seeding.ready()
                cprs, joblogs = await seed(run, seeding, answers, lag)
            finally:
                seeding.stop()
            print("services stopped")
            platform = await drain(run, answers, cprs, joblogs, mongo, profile)
            await steady(run, answers, platform, cprs)
        finally:
            if platform is not None:
                platform.stop()
            await answers.stop()
            await lag.stop()
            await mongo.drop_database(settings.mongodb_database)
            await mongo.close()
    finally:
        if own:
            local.down(BENCH_PROFILE)
    return {
        "changes": sizes.changes, "citizens": sizes.citizens, "jobnet_creates": sizes.creates,
        "akasse_edits": sizes.edits, "akasse_edits_merged": sizes.edited_joblogs,
        "services": "processes, as `joblog run` starts them (one of each)",
        "commit": measured, "awaited_outbound": list(OUTBOUND), **run.figures,
        "note": "the machine is shared: other test runs may use its 2 CPUs at the same time",
    }  # fmt: skip


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, check=True).stdout.strip()  # fmt: skip
        return out.stdout.decode().strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


app = typer.Typer(add_completion=False)


@app.command()
def main(
    changes: Annotated[int, typer.Option(min=2, help="the backlog's changes")] = 20_000,
    citizens: Annotated[int, typer.Option(min=1, help="citizens seeded")] = 5_000,
    akasse_share: Annotated[float, typer.Option(help="share of a-kasse edits")] = 0.3,
    steady_rate: Annotated[float, typer.Option(help="offered changes a second")] = 200.0,
    steady_seconds: Annotated[float, typer.Option(help="how long the load is offered")] = 60.0,
    steady_wait: Annotated[
        float, typer.Option(help="how long to wait for the answers after the load")
    ] = 120.0,
    profile: Annotated[bool, typer.Option(help="py-spy the busiest service in the drain")] = True,
    write: Annotated[bool, typer.Option(help="write bench/results/throughput.json")] = True,
    paragraph: Annotated[
        bool, typer.Option(help="only print docs/design.md's paragraph of the result file")
    ] = False,
) -> None:
    """Drain a backlog through the service processes, beside a bare sink; then a steady load."""
    if paragraph:
        print(readme_paragraph(json.loads((RESULTS / "throughput.json").read_text())))
        return
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the services too
    sizes = Sizes(changes, citizens, akasse_share, steady_rate, steady_seconds, steady_wait)
    figures = asyncio.run(measure(sizes, profile))
    if write:
        write_result("throughput", figures)
    else:
        print(json.dumps(figures, indent=2))
    print(readme_paragraph({"at": time.strftime("%Y-%m-%d"), "load_average_1min_at_end":
                            round(os.getloadavg()[0], 2), **figures}))  # fmt: skip


def readme_paragraph(r: dict[str, Any]) -> str:
    """docs/design.md's paragraph of a result (tests/unit/test_bench_results.py holds its
    figures equal to the file's)."""
    prof = r["drain_profile"]
    packages = ", ".join(f"{n} {round(100 * v)}%" for n, v in prof.get("top_packages_self", [])[:6])
    tops = ", ".join(f"`{n}` {round(100 * v)}%" for n, v in prof.get("top_self", [])[:4])
    inclusive = ", ".join(f"`{n}` {round(100 * v)}%" for n, v in prof.get("top_inclusive", [])[:4])
    cpu = r["drain_cpu_s_per_1000_changes"]
    services = ", ".join(
        f"{n} {cpu[n]}" for n in ("storage", "notifier", "jobnet-adapter", "akasse-adapter")
    )
    bounds = ""
    if r.get("latency_lower_bounds"):
        bounds = (
            f" (lower bounds: {r['steady_answered']:,} of {r['steady_changes']:,} were answered "
            "within the wait after the load, the rest count as late as the wait's end)"
        )
    text = (
        f"Capacity (`bench/results/throughput.json`, {r['at'][:10]}, commit {r['commit']}, 2 CPUs "
        f"shared with other sessions' test runs, load average {r['load_average_1min_at_end']} at "
        f"the end): {r['changes']:,} changes for {r['citizens']:,} citizens "
        f"({r['jobnet_creates']:,} Jobnet creates, {r['akasse_edits']:,} a-kasse edits, "
        f"{r['akasse_edits_merged']:,} of them merged against an older version) drained by the "
        f"service processes at {r['drain_changes_per_s']} changes/s ({r['drain_seconds']} s from "
        "their start until both outbound topics had every answer; "
        f"{r['drain_changes_per_s_after_first_answer']}/s from the first answer on), against a "
        f"bare sink of the same records at {r['bare_sink_per_s']}/s in the same run: "
        f"{r['drain_vs_bare_sink']} of it. Jobnet creates offered at "
        f"{r['steady_offered_per_s']}/s (sent at {r['steady_achieved_per_s']}/s) for "
        f"{r['steady_seconds']} s: latency from the send to the a-kasse's outbound answer p50 "
        f"{r['latency_p50_ms']} ms, p90 {r['latency_p90_ms']} ms, p99 {r['latency_p99_ms']} ms"
        f"{bounds}; the platform answered {r['steady_answered_per_s']}/s. CPU in the drain: "
        f"{r['drain_services_cpu_s_per_1000_changes']} s per 1,000 changes in the services "
        f"({services}), Kafka {cpu['kafka']} and FerretDB {cpu['ferretdb']} besides. The "
        f"busiest service, {prof.get('process')}, had its samples (py-spy, idle threads left "
        f"out) in {packages}; on top of the stack {tops}; inclusive {inclusive}."
    )
    return textwrap.fill(
        text, 96, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False
    )


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


# -- the in-process driver bench.scale measures writes with -------------------------------------


async def platform_run(
    settings: Settings, messages: list[dict[str, Any]], cprs: list[str]
) -> float:
    """Jobnet creates a second through the services in-process, each send awaited (bench.scale:
    writes on an empty and on a seeded store)."""
    front = FrontEnd(settings)
    await front.start()
    await start_groups_at_end(settings)
    await front.register("067", True)
    async with AsyncExitStack() as stack:
        await start_services(stack, settings)
        await front.tick(datetime.now(UTC))
        for cpr in cprs:
            await front.send(topics.CITIZEN_STATUS, status(cpr, datetime.now(UTC).date()))
        await front.settle()
        wanted = {m["joblogId"] for m in messages}
        started = time.perf_counter()
        for message in messages:
            await front.send(topics.JOBNET_INBOUND, message)
        await front.wait_for(
            topics.akasse_outbound("067"), lambda m: m.get("logId") in wanted, len(messages), 600
        )
        await front.wait_for(
            topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") in wanted, len(messages), 600
        )
        elapsed = time.perf_counter() - started
    await front.stop()
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url)
    await mongo.drop_database(settings.mongodb_database)
    await mongo.close()
    return len(messages) / elapsed


BENCH_PROFILE = local.Profile("bench", 39192, 39193, 27517, unauthenticated_port=39194)


if __name__ == "__main__":
    app()
