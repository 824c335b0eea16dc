"""The steady load: Jobnet creates offered at a fixed rate, their latency to the a-kasse's
answer."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from datetime import UTC, datetime

from bench.throughput import hops
from bench.throughput.answers import Answers
from bench.throughput.messages import AKASSE_OUTBOUND
from bench.throughput.running import Platform, Run
from harness import (
    jobnet,
)
from ops.parties import PartyProducers
from shared.cluster.access import ADMIN, writer_of
from shared.cluster.credentials import as_principal
from shared.contract import topics


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


async def steady(run: Run, answers: Answers, platform: Platform, cprs: list[str]) -> None:
    """Jobnet creates offered at a fixed rate, paced by absolute deadlines; the latency from each
    send to its answer on the a-kasse's outbound topic."""
    sizes = run.sizes
    n = round(sizes.steady_rate * sizes.steady_seconds)
    if n == 0:
        return
    parties = PartyProducers(run.settings)
    sent: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    deliveries = []
    admin = as_principal(run.settings, ADMIN)
    hop_starts = await hops.starts(admin)
    cpu_before = platform.cpu()
    print(f"steady load: {sizes.steady_rate:g}/s for {sizes.steady_seconds:g} s ({n:,} creates)")
    try:
        producer = await parties.producer(writer_of(topics.JOBNET_INBOUND))
        t0 = loop.time()
        for i in range(n):
            delay = t0 + i / sizes.steady_rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            cpr = cprs[i % len(cprs)]
            message = jobnet("opret", cpr, str(uuid.uuid4()), datetime.now(UTC))
            sent[message["beskedId"]] = time.time()
            deliveries.append(
                await producer.send(
                    topics.JOBNET_INBOUND, json.dumps(message).encode(), key=cpr.encode()
                )
            )
        offered_seconds = loop.time() - t0
        await asyncio.gather(*deliveries)
        until = time.time() + sizes.steady_wait
        last = await answers.wait(set(sent), "steady", platform, (AKASSE_OUTBOUND,), until)
    finally:
        await parties.stop()
    cpu_after = platform.cpu()
    stopped = time.time()
    seen = answers.seen[AKASSE_OUTBOUND]
    answered = sum(1 for i in sent if i in seen)
    # an answer not seen when the wait ended counts as that late (its latency a lower bound)
    latencies = [1000 * (seen.get(i, stopped) - t) for i, t in sent.items()]
    stretches = await hops.stretches(admin, hop_starts, sent, seen)
    first = min(sent.values())
    done = answered if last is None else n
    run.figures |= {
        "steady_offered_per_s": sizes.steady_rate,
        "steady_seconds": sizes.steady_seconds,
        "steady_changes": n,
        "steady_achieved_per_s": round(n / offered_seconds, 1) if offered_seconds else None,
        "steady_answered": answered,
        "steady_answered_per_s": round(done / ((last or stopped) - first), 1),
        "latency_lower_bounds": answered < n,
        "latency_p50_ms": round(percentile(latencies, 0.5), 1),
        "latency_p90_ms": round(percentile(latencies, 0.9), 1),
        "latency_p99_ms": round(percentile(latencies, 0.99), 1),
        "latency_max_ms": round(max(latencies), 1),
        "latency_hops_ms": {
            hop: {"p50": round(percentile(ms, 0.5), 1), "p99": round(percentile(ms, 0.99), 1)}
            for hop, ms in stretches.items()
            if ms
        },
        "steady_cpu_s_per_1000_changes": {
            name: round(1000 * (cpu_after[name] - cpu_before[name]) / done, 3) for name in cpu_after
        },
    }
