"""`joblog retention [--dry-run]`: the retention job run now, by the operator, with the same
rules and the same bulk deletion as the service's daily run (`services/retention/job.py`), on the
platform's clock (the simulated one when `JOBLOG_CLOCK=simulated`), as the retention service's
Kafka principal. `--dry-run` reads what is due and says what would go, changing nothing. A run
holds the job's lease: while the service runs it, the command waits for nothing and says so.
"""

from __future__ import annotations

import asyncio
import getpass
from datetime import datetime
from typing import Annotated

import typer
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from infra import local
from services.retention.app import SPEC, periods_of
from services.retention.job import Busy, Job, Progressed, Report
from services.retention.store import RetentionStore
from shared.cluster.credentials import for_service
from shared.platform.akasse_register import AkasseRegister
from shared.platform.clock import PlatformClock
from shared.platform.db import connect
from shared.platform.kafka import client_options
from shared.platform.log import logs_to_file
from shared.platform.settings import Settings
from shared.readmodel.facts import FactsReader


async def retention(
    settings: Settings,
    dry_run: bool = False,
    now: datetime | None = None,
    progressed: Progressed | None = None,
) -> Report:
    """One run of the job at `now` (default: the platform's time)."""
    service = for_service(settings, SPEC.name)
    client, db = connect(settings)
    register = AkasseRegister()
    producer = AIOKafkaProducer(**client_options(service), acks="all", enable_idempotence=True)
    try:
        await register.load(service)
        await producer.start()

        async def publish(topic: str, key: str, payload: BaseModel) -> None:
            await producer.send_and_wait(
                topic, payload.model_dump_json().encode(), key=key.encode(),
                headers=[("content-type", b"application/json")],
            )  # fmt: skip

        job = Job(
            RetentionStore(db), FactsReader(db), publish, register, periods_of(settings),
            owner=f"operator:{getpass.getuser()}", dry_run=dry_run,
            progressed=progressed,
        )  # fmt: skip
        at = now or await PlatformClock(settings.clock, db).now()
        return await job.run(at)
    finally:
        await producer.stop()
        await client.close()


def retention_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say what is due, delete nothing")
    ] = False,
) -> None:
    """Delete what is due now: joblogs' optional fields (4 years), joblogs and their history
    (5 years), message ids (30 days), the access log (5 years); each deletion recorded in
    `sletninger`, the front ends told. The same job as the retention service's daily run."""
    console = Console(stderr=True)
    logs_to_file(local.ROOT / ".local" / "retention.log")
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed}"),
        TimeElapsedColumn(), console=console, transient=True,
    ) as progress:  # fmt: skip
        tasks: dict[str, object] = {}

        def progressed(what: str, count: int) -> None:
            if what not in tasks:
                tasks[what] = progress.add_task(what, total=None)
            progress.advance(tasks[what], count)  # type: ignore[arg-type]

        try:
            report = asyncio.run(retention(Settings(), dry_run, progressed=progressed))
        except Busy as busy:
            console.print(f"[yellow]{busy}[/yellow]: try again later")
            raise typer.Exit(1) from None
    verb = "due (dry run, nothing deleted)" if dry_run else "deleted"
    for art in ("valgfrie_felter", "joblog", "beskeder", "adgangslog"):
        print(f"{art}: {report.deleted.get(art, 0)} {verb}")
    print(f"stale queue entries: {report.stale}")
