"""`joblog`: the operator's and developer's command line.

joblog run                 local Kafka + database + all services, in the foreground
joblog test                the whole test suite on its own local Kafka and database
joblog infra up|down|status
joblog akasse-register 067 --navn "…" --joblog/--no-joblog
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra import local
from ops.simulate import simulate_command
from ops.udsoegning import udsoegning_command
from shared.akasse_register import AkasseEntry, publish_entry
from shared.settings import get_settings

app = typer.Typer(help="DFDG joblog platform: run it, test it, operate it.", no_args_is_help=True)
infra_app = typer.Typer(help="Local Kafka and database processes.", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
console = Console(stderr=True)
ROOT = local.ROOT

SERVICES = ["storage", "jobnet-adapter", "akasse-adapter", "notifier", "jobcenter-api"]


def _profile(name: str) -> local.Profile:
    if name not in local.PROFILES:
        raise typer.BadParameter(f"profile must be one of {', '.join(local.PROFILES)}")
    return local.PROFILES[name]


@infra_app.command("up")
def infra_up(profile: str = "dev", fresh: bool = False) -> None:
    """Start Kafka and FerretDB (idempotent); print the environment that points at them."""
    try:
        env = local.up(_profile(profile), fresh=fresh)
    except local.InfraError as error:
        console.print(f"[red]infrastructure failed to start:[/red] {error}")
        raise typer.Exit(1) from None
    for key, value in env.items():
        print(f"export {key}={value}")


@infra_app.command("down")
def infra_down(profile: str = "dev") -> None:
    """Stop the Kafka and FerretDB processes this launcher started."""
    local.down(_profile(profile))


@infra_app.command("status")
def infra_status(profile: str = "dev") -> None:
    for name, state in local.status(_profile(profile)).items():
        print(f"{name}: {state}")


@app.command()
def run(profile: str = "dev") -> None:
    """Run the whole platform locally until Ctrl-C: Kafka, FerretDB and the five services."""
    prof = _profile(profile)
    try:
        env = {**os.environ, **local.up(prof)}
    except local.InfraError as error:
        console.print(f"[red]infrastructure failed to start:[/red] {error}")
        raise typer.Exit(1) from None
    settings = get_settings().model_copy(
        update={"kafka_bootstrap_servers": env["KAFKA_BOOTSTRAP_SERVERS"]}
    )
    asyncio.run(_ensure_topics(env))
    logs = prof.run_dir / "logs"
    children = start_services(env, logs)
    table = Table(title="DFDG joblog platform")
    table.add_column("component")
    table.add_column("where")
    table.add_row("Kafka", env["KAFKA_BOOTSTRAP_SERVERS"])
    table.add_row("MongoDB wire (FerretDB)", env["MONGODB_URL"])
    table.add_row("Jobcenter HTTP API", f"http://{settings.api_host}:{settings.api_port}/docs")
    for offset, name in enumerate(SERVICES[:4]):
        port = settings.metrics_port_base + [2, 0, 1, 3][offset]
        table.add_row(name, f"metrics http://127.0.0.1:{port}/metrics, log {logs / name}.log")
    Console().print(table)
    console.print("Ctrl-C stops the services and the local infrastructure.")
    try:
        while all(child.poll() is None for child in children.values()):
            time.sleep(1)
        dead = [name for name, child in children.items() if child.poll() is not None]
        console.print(f"[red]service stopped unexpectedly:[/red] {', '.join(dead)}")
    except KeyboardInterrupt:
        pass
    finally:
        stop_services(children)
        local.down(prof)


def start_services(env: dict[str, str], logs: Path) -> dict[str, subprocess.Popen[bytes]]:
    logs.mkdir(parents=True, exist_ok=True)
    children = {}
    for name in SERVICES:
        out = (logs / f"{name}.log").open("ab")
        children[name] = subprocess.Popen(
            [sys.executable, "-m", "services", name], env=env, cwd=ROOT, stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    return children


def stop_services(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()


async def _ensure_topics(env: dict[str, str]) -> None:
    from shared.kafka import ensure_topics

    settings = get_settings().model_copy(
        update={"kafka_bootstrap_servers": env["KAFKA_BOOTSTRAP_SERVERS"]}
    )
    await ensure_topics(settings)


@app.command()
def test(
    pytest_args: Annotated[
        list[str] | None, typer.Argument(help="extra arguments for pytest")
    ] = None,
    lint: Annotated[bool, typer.Option(help="run ruff and mypy first")] = True,
) -> None:
    """Run the whole suite: lint, unit, integration (real Kafka + database), end-to-end."""
    from ops.testrun import run_suite

    raise typer.Exit(run_suite(list(pytest_args or []), lint=lint))


@app.command()
def asyncapi(out: Path = Path("docs/asyncapi")) -> None:
    """Write each service's AsyncAPI document (its Kafka topics) as YAML."""
    from ops.docs import write_asyncapi

    for path in write_asyncapi(out):
        console.print(f"wrote {path}")


@app.command("akasse-register")
def akasse_register(
    akasse_nr: str,
    navn: str = typer.Option("", help="the a-kasse's name"),
    joblog: bool = typer.Option(True, "--joblog/--no-joblog", help="offers a joblog?"),
    remove: bool = typer.Option(False, help="remove the a-kasse from the register"),
) -> None:
    """Publish a change of the a-kasse register (the compacted topic dfdg.akasse.register)."""
    if not (len(akasse_nr) == 3 and akasse_nr.isdigit()):
        raise typer.BadParameter("akasseNr must be 3 digits")
    entry = None if remove else AkasseEntry(akasseNr=akasse_nr, navn=navn, tilbyderJoblog=joblog)
    asyncio.run(publish_entry(get_settings().kafka_bootstrap_servers, entry, akasse_nr))
    console.print(f"a-kasse {akasse_nr}: {'removed' if remove else entry}")


app.command("udsoegning")(udsoegning_command)
app.command("simulate")(simulate_command)

if __name__ == "__main__":
    app()
