"""`joblog udsoegning`: an operator writes a jobcenter's udsøgning to a CSV file.

The same code as the HTTP endpoint (services.jobcenter_api.extraction): the same criteria and
validation, the same rows, the same access-log entries (holder `operator:<user>`). Connects to
the database named by MONGODB_URL / MONGODB_DATABASE and follows JOBLOG_CLOCK like the API.
"""

from __future__ import annotations

import asyncio
import getpass
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from infra import local
from services.jobcenter_api import extraction
from services.jobcenter_api.access_log import AccessLog
from services.jobcenter_api.udsoegning import CriteriaError
from shared.platform.clock import PlatformClock
from shared.platform.db import connect
from shared.platform.log import logs_to_file
from shared.platform.settings import Settings


def operator() -> str:
    """The access log's holder for the operator running the command."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = os.environ.get("USER") or "ukendt"
    return f"operator:{user}"


def udsoegning_command(
    kommunekode: Annotated[str, typer.Argument(help="the jobcenter's kommunekode, e.g. 101")],
    fra: Annotated[str, typer.Argument(help="first day, YYYY-MM-DD")],
    til: Annotated[str, typer.Argument(help="last day (included), YYYY-MM-DD")],
    maalgruppe: Annotated[str | None, typer.Option(help="only this målgruppe")] = None,
    kun_adviserede: Annotated[
        bool, typer.Option("--kun-adviserede", help="only citizens advised in the period")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="the extraction as made on this day (audit)")
    ] = None,
    maanedlig: Annotated[
        bool, typer.Option("--maanedlig", help="add the months without registration (lov 371)")
    ] = False,
    *,
    output: Annotated[Path, typer.Option("--output", "-o", help="the CSV file to write")],
) -> None:
    """Write a jobcenter's udsøgning (CSV, as the HTTP API gives it) to a file."""
    console = Console(stderr=True)
    logs_to_file(local.ROOT / ".local" / "udsoegning.log")  # the terminal: progress and result
    try:
        count = asyncio.run(
            run_udsoegning(
                Settings(), kommunekode, fra, til, maalgruppe, kun_adviserede, as_of, output,
                console, maanedlig,
            )
        )  # fmt: skip
    except CriteriaError as error:
        console.print(f"[red]refused:[/red] {error}")
        raise typer.Exit(2) from None
    print(f"{count} rows written to {output}")


async def run_udsoegning(
    settings: Settings,
    kommunekode: str,
    fra: str,
    til: str,
    maalgruppe: str | None,
    kun_adviserede: bool,
    as_of: str | None,
    output: Path,
    console: Console | None = None,
    maanedlig: bool = False,
) -> int:
    """The extraction into `output` (written to a temporary file, renamed when complete);
    returns the number of rows."""
    client, db = connect(settings)
    try:
        clock = PlatformClock(settings.clock, db)
        now = await clock.now()
        asked = extraction.order(
            kommunekode, fra, til, maalgruppe, kun_adviserede, as_of, now,
            settings.udsoegning_max_days, maanedlig,
        )  # fmt: skip
        access = AccessLog(db, simulated_clock=clock.simulated)
        await access.create_indexes()
        started = await extraction.start(db, access, asked, operator(), now, fil=str(output))
        total = await started.candidates()
        partial = output.with_name(output.name + ".part")
        with (
            Progress(
                TextColumn("udsøgning {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("citizens, {task.fields[rows]} rows"),
                TimeElapsedColumn(),
                console=console or Console(stderr=True),
            ) as progress,
            partial.open("w", encoding="utf-8", newline="") as out,
        ):
            task = progress.add_task(kommunekode, total=total, rows=0)
            async for text in started.csv():
                out.write(text)
                progress.update(task, completed=started.citizens, rows=started.rows)
        partial.replace(output)
        return started.rows
    finally:
        await client.close()
