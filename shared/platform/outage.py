"""An outage of Kafka or the database in a service's log: one line when it starts, a summary at
intervals ("Kafka unreachable for 60 s, 412 retries"), one line when it ends; not the client
libraries' line per retry (aiokafka logs every failed connect, metadata update, fetch and
coordinator lookup: about 130 lines a second per service while a broker is down).

`OutageFilter` sits on the log handler of every service process
(`shared.platform.log.setup_logging`) and of the commands that log to a file. What belongs to
an outage:

- aiokafka's warnings and errors about connections, metadata, coordinators and heartbeats
  (the loggers `aiokafka`, `aiokafka.conn`, `aiokafka.consumer.*`, ...);
- a record carrying `extra={"outage": "Kafka" | "the database"}`: our delivery's "transient
  failure, will retry" (`shared.platform.kafka.deliver`);
- PyMongo's warnings and errors (it logs little by default).

An outage ends when none of its lines came for `quiet_after` seconds (the clients retry every
fraction of a second while it lasts, and say nothing once they are connected again).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

KAFKA = "Kafka"
DATABASE = "the database"
SUMMARY_EVERY = 30.0
QUIET_AFTER = 10.0
_KAFKA_TROUBLE = re.compile(
    r"unable (to )?connect|connect call failed|unable to update metadata|node ?not ?ready"
    r"|connection|coordinator|heartbeat|request ?timed ?out|timeout|not available|broker",
    re.IGNORECASE,
)

_NORMAL = re.compile(r"rebalanc", re.IGNORECASE)
"""A group rebalancing (a member came or went) is no outage."""


def outage_of(record: logging.LogRecord) -> str | None:
    """Which outage a log record is a symptom of, if any."""
    marked = getattr(record, "outage", None)
    if isinstance(marked, str):
        return marked
    if record.levelno < logging.WARNING:
        return None
    text = record.getMessage()
    if (
        record.name.startswith("aiokafka")
        and _KAFKA_TROUBLE.search(text)
        and not _NORMAL.search(text)
    ):
        return KAFKA
    if record.name.startswith("pymongo"):
        return DATABASE
    return None


@dataclass
class _Outage:
    started: float
    last_seen: float
    last_summary: float
    retries: int = 0


class OutageFilter(logging.Filter):
    """Lets the first line of an outage through (marked as such), drops and counts the rest;
    `tick` (every second, from `watch`'s thread) writes the summaries and the end."""

    def __init__(
        self,
        summary_every: float = SUMMARY_EVERY,
        quiet_after: float = QUIET_AFTER,
        clock: Callable[[], float] = time.monotonic,
        log: logging.Logger | None = None,
    ) -> None:
        super().__init__()
        self.summary_every = summary_every
        self.quiet_after = quiet_after
        self.clock = clock
        self.log = log or logging.getLogger("dfdg.outage")
        self.outages: dict[str, _Outage] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = outage_of(record)
        if kind is None:
            return True
        now = self.clock()
        with self._lock:
            outage = self.outages.get(kind)
            if outage is None:
                self.outages[kind] = _Outage(now, now, now)
                record.msg = (
                    f"{kind} unreachable: {record.getMessage()} (further such lines are counted "
                    f"and summed up every {self.summary_every:.0f} s until it is back)"
                )
                record.args = ()
                return True
            outage.last_seen = now
            outage.retries += 1
        self.tick(now)
        return False

    def tick(self, now: float | None = None) -> None:
        """Write what is due: a summary of each outage going on, the end of one that is over."""
        now = self.clock() if now is None else now
        lines: list[tuple[int, str]] = []
        with self._lock:
            for kind, outage in list(self.outages.items()):
                lasted = now - outage.started
                if now - outage.last_seen >= self.quiet_after:
                    del self.outages[kind]
                    lines.append((logging.WARNING, (
                        f"{kind} reachable again: unreachable for "
                        f"{outage.last_seen - outage.started:.0f} s, {outage.retries} retries"
                    )))  # fmt: skip
                elif now - outage.last_summary >= self.summary_every:
                    outage.last_summary = now
                    lines.append(
                        (logging.WARNING, f"{kind} unreachable for {lasted:.0f} s, "
                         f"{outage.retries} retries")
                    )  # fmt: skip
        for level, text in lines:
            self.log.log(level, text)

    def watch(self, every: float = 1.0) -> threading.Thread:
        """Tick in a daemon thread (an outage's end is the absence of lines)."""

        def run() -> None:
            while True:
                time.sleep(every)
                self.tick()

        thread = threading.Thread(target=run, name="outage-log", daemon=True)
        thread.start()
        return thread


def collapse_outages(handler: logging.Handler) -> OutageFilter:
    """Put an `OutageFilter` on `handler` and start its ticking."""
    outage_filter = OutageFilter()
    handler.addFilter(outage_filter)
    outage_filter.watch()
    return outage_filter
