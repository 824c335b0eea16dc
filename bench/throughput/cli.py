"""`python -m bench.throughput`: its options, one whole run, the result written or printed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from pymongo import AsyncMongoClient

from bench.common import RESULTS, write_result
from bench.throughput.answers import Answers
from bench.throughput.drain import drain, seed
from bench.throughput.messages import OUTBOUND, Json, Sizes
from bench.throughput.result import commit, readme_paragraph
from bench.throughput.running import (
    BENCH_PROFILE,
    Platform,
    Run,
    infrastructure_pids,
    process_env,
    register_akasse,
    settle,
)
from bench.throughput.steady import steady
from harness import (
    free_port,
    free_ports,
    infrastructure,
    start_groups_at_end,
    test_settings,
)
from infra import local
from ops.lag import PlatformLag
from ops.launch import METRICS_STRIDE
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal


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
        platform = Platform(run.env, logs, infrastructure_pids(settings))  # drain starts it
        try:
            seeding = Platform(run.env, logs, {})
            seeding.start()
            try:
                await seeding.ready()
                cprs, joblogs = await seed(run, seeding, answers, lag)
            finally:
                seeding.stop()
            print("services stopped")
            await drain(run, answers, cprs, joblogs, mongo, platform, profile)
            # the steady load on a platform at rest: the drain's tail (the notifier's and
            # retention's share of the backlog, which no answer waits for) done first
            settling = time.monotonic()
            await settle(lag, platform)
            run.figures["steady_settled_after_s"] = round(time.monotonic() - settling, 1)
            await steady(run, answers, platform, cprs)
        finally:
            platform.stop()  # whether the drain got as far as starting it or failed after
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


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
