"""`joblog simulate`: a municipality's month on the real platform, with the simulated clock.

`simulate_command` is the operator's command: a fresh, isolated local Kafka and FerretDB (profile
`sim`, its own ports, removed afterwards) or the `dev`/`test` infrastructure with a database and
consumer groups of its own, the four services in-process, a progress bar, a table of the notices
per jobcenter and the time it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time as wallclock
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from infra import local
from ops.simulation.driver import simulate
from ops.simulation.report import SimulationReport, print_report
from ops.simulation.scenario import AKASSE, MIN_DAYS
from shared.cluster.access import OPERATOR
from shared.cluster.credentials import as_principal
from shared.platform.akasse_register import AkasseEntry, publish_entry
from shared.platform.db import connect
from shared.platform.log import logs_to_file
from shared.platform.settings import Settings

SIM_PROFILE = local.Profile("sim", 29092, 29093, 27217)
"""The simulation's own local Kafka and FerretDB (a profile of its own, not in local.PROFILES:
fresh on every run, so nothing of earlier runs is replayed into the new consumer groups)."""


@contextlib.contextmanager
def _without(*names: str) -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@contextlib.asynccontextmanager
async def _platform(settings: Settings) -> AsyncIterator[None]:
    from services.in_process import start_services

    async with contextlib.AsyncExitStack() as stack:
        await start_services(stack, settings)
        yield


async def _run(
    settings: Settings, citizens: int, seed: int, days: int, keep_data: bool, console: Console
) -> SimulationReport:
    columns = (
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(),
    )  # fmt: skip
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("starting the platform", total=days + 2)

        def progress(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=what)

        await publish_entry(
            as_principal(settings, OPERATOR),
            AkasseEntry(akasseNr=AKASSE, navn="Simulationens a-kasse", tilbyderJoblog=True),
            AKASSE,
        )
        try:
            async with _platform(settings):
                bar.update(task, description="simulating")
                return await simulate(settings, citizens, seed, datetime.now(UTC), progress, days)
        finally:
            if not keep_data:
                mongo, _ = connect(settings)
                await mongo.drop_database(settings.mongodb_database)
                await mongo.close()


def simulate_command(
    citizens: int = typer.Option(1000, help="how many citizens"),
    seed: int = typer.Option(1, help="seed of the scenario"),
    days: int = typer.Option(31, min=MIN_DAYS, help="how many days to simulate"),
    profile: str = typer.Option(
        "sim",
        help="'sim': a fresh Kafka and FerretDB of its own, removed afterwards; 'dev' or 'test': "
        "that infrastructure (or KAFKA_BOOTSTRAP_SERVERS/MONGODB_URL), with a database and "
        "consumer groups of the run's own",
    ),
    keep: bool = typer.Option(False, help="keep the sim infrastructure / the run's database"),
) -> None:
    """Simulate a municipality's month on the real platform with the simulated clock and report
    the adviseringer sent."""
    console = Console()
    began = wallclock.monotonic()
    log = (SIM_PROFILE if profile == "sim" else local.Profile(profile, 0, 0, 0)).run_dir
    logs_to_file(log / "logs" / "simulate.log")  # the terminal: progress and the report only
    console.print(f"log: {log / 'logs' / 'simulate.log'}")
    if profile == "sim":
        with _without("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URL"):
            env = local.up(SIM_PROFILE, fresh=True)
    elif profile in local.PROFILES:
        env = local.up(local.PROFILES[profile])
    else:
        raise typer.BadParameter("profile must be sim, " + ", ".join(local.PROFILES))
    run = uuid.uuid4().hex[:8]
    settings = Settings.model_validate(
        {
            **env,
            "MONGODB_DATABASE": f"dfdg_sim_{run}",
            "JOBLOG_GROUP_PREFIX": f"sim-{run}",
            "JOBLOG_CLOCK": "simulated",
            "JOBLOG_METRICS_PORT_BASE": 0,
            "JOBLOG_LOG_LEVEL": "WARNING",
            "JOBLOG_CONSUMER_WORKERS": int(os.environ.get("JOBLOG_CONSUMER_WORKERS", "8")),
        }
    )
    infra_seconds = wallclock.monotonic() - began
    try:
        result = asyncio.run(_run(settings, citizens, seed, days, keep, console))
    finally:
        if profile == "sim" and not keep:
            local.down(SIM_PROFILE)
    print_report(console, result, infra_seconds, wallclock.monotonic() - began)
