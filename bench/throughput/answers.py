"""What the platform answers, read from its outbound and rejected topics (as the admin)."""

from __future__ import annotations

import asyncio
import json
import time

from aiokafka import AIOKafkaConsumer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.throughput.messages import OUTBOUND, REJECTED
from bench.throughput.running import Platform
from shared.platform.kafka import client_options, topic_partitions
from shared.platform.settings import Settings

STALL_SECONDS = 180.0
"""A wait with no new answer for this long fails the run (with the services' logs' tails)."""

# -- observing the platform ---------------------------------------------------------------------


class Answers:
    """Reads the outbound and rejected topics from where they end when started (as the admin):
    for each outbound topic, the origin's message ids with the time each was received here."""

    def __init__(self, admin: Settings) -> None:
        self.consumer = AIOKafkaConsumer(**client_options(admin), enable_auto_commit=False)
        self.seen: dict[str, dict[str, float]] = {name: {} for name in OUTBOUND}
        self.rejected: list[tuple[str, bytes]] = []
        self.task: asyncio.Task[None] | None = None
        self.wanted: set[str] = set()
        """The ids a `wait` waits for: counted as they come (`answered`), not by intersecting
        every id seen with them ten times a second (the bench shares the machine's CPUs)."""
        self.answered: dict[str, int] = dict.fromkeys(OUTBOUND, 0)

    async def start(self) -> None:
        await self.consumer.start()
        parts = await topic_partitions(self.consumer, [*OUTBOUND, *REJECTED])
        self.consumer.assign(parts)
        ends = await self.consumer.end_offsets(parts)
        for tp in parts:
            self.consumer.seek(tp, ends[tp])
        self.task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.consumer.stop()

    async def _read(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=100, max_records=5000)
            now = time.time()
            for tp, records in batches.items():
                if tp.topic not in OUTBOUND:
                    self.rejected += [(tp.topic, r.value or b"") for r in records]
                    continue
                seen, id_field = self.seen[tp.topic], OUTBOUND[tp.topic]
                for record in records:
                    answer = str(json.loads(record.value or b"{}").get(id_field))
                    if answer not in seen:
                        seen[answer] = now
                        if answer in self.wanted:
                            self.answered[tp.topic] += 1

    def count(self, ids: set[str]) -> dict[str, int]:
        return {name: len(ids & seen.keys()) for name, seen in self.seen.items()}

    async def wait(
        self,
        ids: set[str],
        what: str,
        health: Platform | None,
        topics_: tuple[str, ...] = (),
        until: float | None = None,
    ) -> float | None:
        """Until every id is answered on each of `topics_` (default both); the time.time() at
        which the last one was seen (None when time.time() passes `until` first). A rejection
        or a dead service fails the run, as does a wait without progress for STALL_SECONDS."""
        names = topics_ or tuple(OUTBOUND)
        last, progress_at = -1, time.monotonic()
        self.wanted, self.answered = ids, self.count(ids)  # (no await between: none missed)
        with bars() as progress:
            tasks = {name: progress.add_task(f"{what}: {name}", total=len(ids)) for name in names}
            while True:
                counts = self.answered
                for name in names:
                    progress.update(tasks[name], completed=counts[name])
                if self.rejected:
                    topic, body = self.rejected[0]
                    raise SystemExit(
                        f"{len(self.rejected)} rejected; the first on {topic}: {body!r}"
                    )
                if health is not None:
                    health.check()
                done = sum(counts[name] for name in names)
                if done == len(ids) * len(names):
                    return max(self.seen[name][i] for name in names for i in ids)
                if until is not None and time.time() > until:
                    return None
                if done > last:
                    last, progress_at = done, time.monotonic()
                elif time.monotonic() - progress_at > STALL_SECONDS:
                    if health is not None:
                        health.show_logs()
                    raise SystemExit(f"{what}: no progress for {STALL_SECONDS:.0f} s at {counts}")
                await asyncio.sleep(0.1)


def bars() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )
