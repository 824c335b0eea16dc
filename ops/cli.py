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
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from infra import local
from ops.rebuild import rebuild_command
from ops.simulate import simulate_command
from ops.supervisor import Supervisor
from ops.udsoegning import udsoegning_command
from shared.access import OPERATOR
from shared.akasse_register import AkasseEntry, publish_entry
from shared.credentials import as_principal, for_service
from shared.provisioning import Provisioning
from shared.settings import Settings, get_settings

app = typer.Typer(help="DFDG joblog platform: run it, test it, operate it.", no_args_is_help=True)
infra_app = typer.Typer(help="Local Kafka and database processes.", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
console = Console(stderr=True)
ROOT = local.ROOT

SERVICES = [
    "provisioner", "storage", "jobnet-adapter", "akasse-adapter", "notifier", "jobcenter-api",
]  # fmt: skip
METRICS_OFFSET = {
    "jobnet-adapter": 0, "akasse-adapter": 1, "storage": 2, "notifier": 3, "provisioner": 4,
}  # fmt: skip


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
    settings = Settings.model_validate(env)
    logs = prof.run_dir / "logs"
    children = start_services(env, logs)
    table = Table(title="DFDG joblog platform")
    table.add_column("component")
    table.add_column("where")
    table.add_row("Kafka", env["KAFKA_BOOTSTRAP_SERVERS"])
    table.add_row("MongoDB wire (FerretDB)", local.redacted(env["MONGODB_URL"]))
    table.add_row("Jobcenter HTTP API", f"http://{settings.api_host}:{settings.api_port}/docs")
    for name in SERVICES:
        offset = METRICS_OFFSET.get(name)
        port = (
            f"metrics http://127.0.0.1:{settings.metrics_port_base + offset}/metrics, "
            if (offset is not None)
            else ""
        )
        table.add_row(name, f"{port}log {logs / name}.log")
    Console().print(table)
    if creds := env.get("JOBLOG_KAFKA_CREDENTIALS"):
        console.print(f"Kafka takes SASL SCRAM-SHA-512 only; the parties' credentials: {creds}")
    if creds := env.get("JOBLOG_PLATFORM_CREDENTIALS"):
        console.print(f"The services' and the database's credentials: {creds}")
    if tls := env.get("JOBLOG_KAFKA_TLS_BOOTSTRAP"):
        console.print(f"SASL over TLS on {tls} (CA: {env['JOBLOG_KAFKA_TLS_CAFILE']})")
    console.print("Ctrl-C stops the services and the local infrastructure.")
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    waiting = {
        name: f"http://127.0.0.1:{settings.metrics_port_base + offset}/health/ready"
        for name, offset in METRICS_OFFSET.items()
    } | {"jobcenter-api": f"http://127.0.0.1:{settings.api_port}/openapi.json"}
    started = time.monotonic()
    try:
        while True:  # a service that dies is restarted; Kafka and the database stay up
            children.check()
            if waiting and settings.metrics_port_base:
                waiting = {name: url for name, url in waiting.items() if not _answers(url)}
                if not waiting:
                    console.print(
                        f"[green]platform ready[/green] ({time.monotonic() - started:.0f} s)"
                    )
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        children.stop_all()
        local.down(prof)


def _answers(url: str) -> bool:
    """Whether a service's readiness endpoint says ready (HTTP 200)."""
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:  # refused, 503, timeout
        return False


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def start_services(env: dict[str, str], logs: Path) -> Supervisor:
    """Every service as a supervised process, each with its own log."""
    supervisor = Supervisor(lambda text: console.print(f"[yellow]{text}[/yellow]"))
    for name in SERVICES:
        command = [sys.executable, "-m", "services", name]
        supervisor.start(name, command, service_env(env, name), logs / f"{name}.log")
    return supervisor


def service_env(env: dict[str, str], name: str) -> dict[str, str]:
    """The environment of one service process: its own Kafka principal on the local platform."""
    if env.get("KAFKA_SASL_USERNAME") or not env.get("JOBLOG_PLATFORM_CREDENTIALS"):
        return env
    settings = for_service(Settings.model_validate(env), name)
    return {
        **env,
        "KAFKA_SASL_USERNAME": settings.kafka_sasl_username,
        "KAFKA_SASL_PASSWORD": settings.kafka_sasl_password.get_secret_value(),
    }


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
    """Publish a change of the a-kasse register (the compacted topic dfdg.akasse.register), as
    the operator (KAFKA_SASL_USERNAME/PASSWORD, else the local `dev` profile's credentials). A
    new a-kasse gets its topics, principal and ACLs from the provisioner within seconds."""
    if not (len(akasse_nr) == 3 and akasse_nr.isdigit()):
        raise typer.BadParameter("akasseNr must be 3 digits")
    entry = None if remove else AkasseEntry(akasseNr=akasse_nr, navn=navn, tilbyderJoblog=joblog)
    asyncio.run(publish_entry(operator_settings(), entry, akasse_nr))
    console.print(f"a-kasse {akasse_nr}: {'removed' if remove else entry}")


def operator_settings(profile: str = "dev") -> Settings:
    """Connect as the operator: the environment's credentials, else the local profile's."""
    settings = get_settings()
    if settings.kafka_sasl_username:
        return settings
    prof = _profile(profile)
    local_env = {
        "KAFKA_BOOTSTRAP_SERVERS": prof.kafka_bootstrap,
        "JOBLOG_KAFKA_CREDENTIALS": str(prof.parties_credentials),
    }
    return as_principal(Settings.model_validate({**os.environ, **local_env}), OPERATOR)


@app.command()
def provision() -> None:
    """Create the contract's topics, principals and ACLs on the cluster of
    KAFKA_BOOTSTRAP_SERVERS, as the admin of KAFKA_SASL_USERNAME/PASSWORD (for a production
    cluster; the local platform does it at start). New passwords go to JOBLOG_KAFKA_CREDENTIALS
    and JOBLOG_PLATFORM_CREDENTIALS."""
    Provisioning(get_settings()).platform()
    console.print("provisioned: topics, principals and ACLs")


@app.command()
def replay(
    topic: Annotated[str, typer.Option(help="the producer's rejected topic")],
    reason: Annotated[str | None, typer.Option(help="only this reason (internal_error)")] = None,
    since: Annotated[str | None, typer.Option(help="refused since (ISO 8601, offset)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="count, send nothing")] = False,
) -> None:
    """Send refused messages back to their source topic for another try after a fix (as the
    admin; recorded for the audit). Messages already stored change nothing."""
    from ops.replay import replay as run_replay

    after = datetime.fromisoformat(since) if since else None
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"replaying {topic}", total=None)
        report = asyncio.run(
            run_replay(
                get_settings(), topic, reason, after, dry_run,
                lambda n: bar.update(task, completed=n),
            )
        )  # fmt: skip
    done = report.found if dry_run else report.sent
    verb = "would send" if dry_run else "sent"
    console.print(f"{report.found} refused messages match; {verb} {done}")


app.command("udsoegning")(udsoegning_command)
app.command("rebuild")(rebuild_command)
app.command("simulate")(simulate_command)

if __name__ == "__main__":
    app()
