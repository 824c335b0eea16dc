"""`joblog`: the operator's and developer's command line.

joblog run                 local Kafka + database + all services, in the foreground
joblog test                the whole test suite on its own local Kafka and database
joblog infra up|down|status
joblog akasse-register 067 --navn "…" --joblog/--no-joblog
joblog retention [--dry-run]   delete what is due (the retention service's daily run, now)
"""

from __future__ import annotations

import asyncio
import os
import signal
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
from infra.processes import InfraError
from ops.launch import start_services, watch_infrastructure
from ops.rebuild import rebuild_command
from ops.retention import retention_command
from ops.simulation.command import simulate_command
from ops.supervisor import Supervisor
from ops.udsoegning import udsoegning_command
from shared.cluster.access import OPERATOR
from shared.cluster.credentials import as_principal
from shared.cluster.provisioning import Provisioning
from shared.platform.akasse_register import AkasseEntry, publish_entry
from shared.platform.settings import Settings, get_settings

app = typer.Typer(help="DFDG joblog platform: run it, test it, operate it.", no_args_is_help=True)
infra_app = typer.Typer(help="Local Kafka and database processes.", no_args_is_help=True)
app.add_typer(infra_app, name="infra")
console = Console(stderr=True)
ROOT = local.ROOT

KafkaPort = Annotated[
    int | None, typer.Option(help="a profile of your own: Kafka's port (and the two after it)")
]
MongoPort = Annotated[int | None, typer.Option(help="a profile of your own: the database's port")]


def _profile(
    name: str, kafka_port: int | None = None, mongo_port: int | None = None
) -> local.Profile:
    try:
        return local.profile_named(name, kafka_port, mongo_port)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


@infra_app.command("up")
def infra_up(
    profile: str = "dev", fresh: bool = False, kafka_port: KafkaPort = None,
    mongo_port: MongoPort = None,
) -> None:  # fmt: skip
    """Start Kafka and FerretDB (idempotent); print the environment that points at them."""
    try:
        env = local.up(_profile(profile, kafka_port, mongo_port), fresh=fresh)
    except InfraError as error:
        console.print(f"[red]infrastructure failed to start:[/red] {error}")
        raise typer.Exit(1) from None
    for key, value in env.items():
        print(f"export {key}={value}")


@infra_app.command("down")
def infra_down(
    profile: str = "dev", kafka_port: KafkaPort = None, mongo_port: MongoPort = None
) -> None:
    """Stop the Kafka and FerretDB processes this launcher started."""
    local.down(_profile(profile, kafka_port, mongo_port))


@infra_app.command("status")
def infra_status(
    profile: str = "dev", kafka_port: KafkaPort = None, mongo_port: MongoPort = None
) -> None:
    for name, state in local.status(_profile(profile, kafka_port, mongo_port)).items():
        print(f"{name}: {state}")


@app.command()
def run(
    profile: str = "dev",
    kafka_port: KafkaPort = None,
    mongo_port: MongoPort = None,
    instances: Annotated[int, typer.Option(min=1, help="processes of each service")] = 1,
) -> None:
    """Run the whole platform locally until Ctrl-C: Kafka, FerretDB and the seven services (each
    `--instances` times: consumer groups share the partitions, the notifier's timers are
    leased, each API instance has its own port). A service, Kafka or the database that dies is
    reported and restarted. Ports: JOBLOG_API_PORT and JOBLOG_METRICS_PORT_BASE (instance i
    adds i, and i * 6, one per Kafka service, to the metrics ports)."""
    prof = _profile(profile, kafka_port, mongo_port)
    try:
        env = {**os.environ, **local.up(prof)}
    except InfraError as error:
        console.print(f"[red]infrastructure failed to start:[/red] {error}")
        raise typer.Exit(1) from None
    logs = prof.run_dir / "logs"
    children = Supervisor(lambda text: console.print(f"[yellow]{text}[/yellow]"))
    started = start_services(children, env, logs, instances)
    watch_infrastructure(children, prof)
    table = Table(title="DFDG joblog platform")
    table.add_column("component")
    table.add_column("where")
    table.add_row("Kafka", env["KAFKA_BOOTSTRAP_SERVERS"])
    table.add_row("MongoDB wire (FerretDB)", local.redacted(env["MONGODB_URL"]))
    for instance in started:
        table.add_row(instance.name, instance.where(env, logs))
    Console().print(table)
    if creds := env.get("JOBLOG_KAFKA_CREDENTIALS"):
        console.print(f"Kafka takes SASL SCRAM-SHA-512 only; the parties' credentials: {creds}")
    if creds := env.get("JOBLOG_PLATFORM_CREDENTIALS"):
        console.print(f"The services' and the database's credentials: {creds}")
    if tls := env.get("JOBLOG_KAFKA_TLS_BOOTSTRAP"):
        console.print(f"SASL over TLS on {tls} (CA: {env['JOBLOG_KAFKA_TLS_CAFILE']})")
    console.print("Ctrl-C stops the services and the local infrastructure.")
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as cleanly as Ctrl-C
    waiting = {i.name: url for i in started if (url := i.ready_url(env))}
    began = time.monotonic()
    try:
        while True:  # what dies is restarted; nothing else is stopped because of it
            children.check()
            if waiting:
                waiting = {name: url for name, url in waiting.items() if not _answers(url)}
                if not waiting:
                    console.print(
                        f"[green]platform ready[/green] ({time.monotonic() - began:.0f} s)"
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
    """Write each service's AsyncAPI document (its Kafka topics) as YAML, and the README's
    table of services."""
    from ops.docs import README, write_asyncapi, write_readme_services

    for path in write_asyncapi(out):
        console.print(f"wrote {path}")
    write_readme_services()
    console.print(f"wrote the table of services in {README}")


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
    if not (len(akasse_nr) == 3 and akasse_nr.isascii() and akasse_nr.isdigit()):
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
app.command("retention")(retention_command)
app.command("simulate")(simulate_command)

if __name__ == "__main__":
    app()
