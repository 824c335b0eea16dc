"""The drain: the citizens seeded through the platform, the backlog put on the inbound topics, the
services started and timed until every answer is out."""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.throughput.answers import Answers, bars
from bench.throughput.bare_sink import BARE_BATCH, bare_sink
from bench.throughput.messages import AKASSE_INBOUND, OUTBOUND, Record, backlog, unique_cprs
from bench.throughput.profile import Profiler, profile_all, profiles
from bench.throughput.running import Platform, Run, machine_jiffies, settle
from harness import (
    jobnet,
    status,
)
from ops.lag import PlatformLag
from ops.parties import PartyProducers
from services.storage.batch import STEP_METRIC, STEPS
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal
from shared.contract import topics
from shared.platform.kafka import client_options, topic_partitions
from shared.platform.settings import Settings


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


DUTY_BEGAN = timedelta(days=10)
"""How long before the run the citizens' duty began: none of their 30-day timers falls due while
the drain and the steady load are measured, which time the joblog changes. (With 30 days every
citizen fell due at the services' start, and the drain also fired 5,000 timers and sent 10,000
adviseringer; bench.scale measures that herd.)"""


async def seed(run: Run, platform: Platform, answers: Answers, lag: PlatformLag) -> tuple[
    list[str], list[tuple[str, str]]
]:  # fmt: skip
    """The citizens (status: members of 067 since `DUTY_BEGAN` ago) and the joblogs the a-kasse
    will edit, through the running platform; returns the cprs and the (cpr, joblog id) pairs."""
    sizes, parties = run.sizes, PartyProducers(run.settings)
    today = datetime.now(UTC).date()
    cprs = unique_cprs(sizes.citizens)
    try:
        print(f"seeding {sizes.citizens:,} citizens and {sizes.edited_joblogs:,} joblogs")
        statuses = [
            Record(topics.CITIZEN_STATUS, cpr, status(cpr, today - DUTY_BEGAN)) for cpr in cprs
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


async def drain(run: Run, answers: Answers, cprs: list[str], joblogs: list[tuple[str, str]],
                mongo: Any, platform: Platform, profile: bool) -> None:  # fmt: skip
    """Backlog, bare sink, then the services (`platform`, which the caller stops) started and
    timed until every answer is out."""
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
    run.figures |= {
        "bare_sink_per_s": round(bare, 1), "bare_sink_batch": BARE_BATCH,
        "duty_began_days_before": DUTY_BEGAN.days,
    }  # fmt: skip

    profilers: dict[str, Profiler] = {}
    ids = {r.id for r in records}
    busy_start, own_start = machine_jiffies(), time.process_time()
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
    busy_done, own_done = machine_jiffies(), time.process_time()
    spies = sum(profiler.cpu() for profiler in profilers.values())
    steps = platform.sums("storage", STEP_METRIC, "step")
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
        **budget(
            cpu_done,
            cpu_start,
            own_done - own_start + spies,
            python,
            seconds,
            len(records),
            (busy_done[0] - busy_start[0]) / max(1, busy_done[1] - busy_start[1]),
        ),
        "drain_storage_batch_step_s": {step: round(steps.get(step, 0.0), 2) for step in STEPS},
        **profiles(summaries, used, python),
    }


TARGET_PER_S = 2000
"""The drain rate issue #22 asks of this machine."""


def budget(
    cpu_done: dict[str, float], cpu_start: dict[str, float], bench: float, python: list[str],
    seconds: float, changes: int, machine_busy: float,
) -> dict[str, Any]:  # fmt: skip
    """Where the machine's CPU went in the drain, start included: every process of the platform
    from its start (the services from their launch, Kafka and FerretDB from the drain's), this
    bench's reading of the answers (and py-spy's sampling, when profiled); that sum against the
    CPUs times the drain's seconds; the whole machine's busy share (other sessions' processes
    too); and the CPU seconds a drain at `TARGET_PER_S` could spend."""
    cpus = os.cpu_count() or 1
    services = sum(cpu_done[n] for n in cpu_done if n in python)
    infra = sum(cpu_done[n] - cpu_start[n] for n in cpu_done if n not in python)
    platform = services + infra
    return {
        "drain_cpu_s_in_all": round(platform + bench, 2),
        "drain_cpu_s_services_with_start": round(services, 2),
        "drain_cpu_s_bench": round(bench, 2),
        "drain_cpu_share_of_machine": round((platform + bench) / (cpus * seconds), 3),
        "drain_machine_busy_share": round(machine_busy, 3),
        "drain_cpu_s_at_target": round(cpus * changes / TARGET_PER_S, 1),
    }
