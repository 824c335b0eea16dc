"""What a simulation found (`SimulationReport`), and its table for the terminal."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from ops.simulation.scenario import Scenario
from shared.contract.kommuner import KOMMUNER
from shared.contract.tid import day_of


@dataclass
class SimulationReport:
    scenario: Scenario
    notices: list[dict[str, Any]]
    """The adviseringer this platform sent on dfdg.notices for the scenario's citizens."""
    stored: int
    """Adviseringer in db.notices for the scenario's citizens."""
    elapsed: float
    activity_mismatches: list[str]
    """Citizens whose last activity as stored is not the tick of their last activity day."""
    clock_ahead: list[datetime]
    """Ticks after which the platform's clock was ahead of them (another platform on the same
    Kafka sent a later tick): the run is then not reproducible."""
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent: `start` (caught up, first tick), `statuses` (day 0), `days`, `count`."""
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Every message sent to the platform (topic, message), in the order sent: what a test's
    oracle computes from, rather than from the scenario's own model of it."""
    monthly: list[dict[str, Any]] = field(default_factory=list)
    """The monthly notices (lov 371: reminders, months without registration) this platform sent
    for the scenario's citizens; `notices` are the adviseringer alone."""
    stored_monthly: int = 0
    """Monthly notices in db.notices for the scenario's citizens (`stored`: the adviseringer)."""
    sent_days: list[int] = field(default_factory=list)
    """The day each message of `sent` was sent on (0 for the start): it is known to the
    platform from the next day's tick on."""

    @property
    def count(self) -> int:
        return len(self.notices)

    @property
    def distinct(self) -> int:
        return len({n["noticeId"] for n in self.notices})

    def per_jobcenter(self) -> dict[str, Counter[str]]:
        result: dict[str, Counter[str]] = {}
        for notice in self.notices:
            result.setdefault(notice["jobcenter"], Counter())[notice["modtager"]] += 1
        return dict(sorted(result.items()))


def print_report(console: Console, result: SimulationReport, infra: float, total: float) -> None:
    scenario = result.scenario
    table = Table(
        title=f"Adviseringer, {len(scenario.citizens)} citizens, "
        f"{day_of(scenario.start)} to {day_of(scenario.end)}"
    )
    for column in ("jobcenter", "kommune", "borger", "jobcenter notices", "total"):
        table.add_column(column, justify="left" if column == "kommune" else "right")
    for code, counts in result.per_jobcenter().items():
        table.add_row(
            code, KOMMUNER.get(code, "?"), str(counts["borger"]), str(counts["jobcenter"]),
            str(sum(counts.values())),
        )  # fmt: skip
    table.add_row("all", "", "", "", str(result.count), style="bold")
    console.print(table)
    console.print(
        f"notices sent {result.count} (distinct ids {result.distinct}), stored {result.stored}; "
        f"simulation {result.elapsed:.1f} s, infrastructure {infra:.1f} s, total {total:.1f} s"
    )
    kinds = Counter(n["noticeType"] for n in result.monthly)
    console.print(
        f"monthly notices (lov 371) sent {len(result.monthly)}: "
        f"{kinds['maanedlig_paamindelse']} reminders, {kinds['maaned_uden_registrering']} months "
        f"without registration; stored {result.stored_monthly}"
    )
    console.print(", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.phases.items()))
    if result.activity_mismatches or result.clock_ahead:
        console.print(
            f"[yellow]{len(result.activity_mismatches)} citizens' activity not as sent; "
            f"clock ahead of {len(result.clock_ahead)} ticks[/yellow]"
        )
