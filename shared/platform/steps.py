"""Where a batch handler's time goes: the seconds of each of its steps, as a Prometheus histogram
`<name>{step}` on the service's metrics (its `_sum` by step is the split an operator, or
bench.throughput, reads to see which step limits the rate)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Histogram

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class StepTimes:
    """The histogram of a handler's steps (unregistered unless given a registry: a test's)."""

    def __init__(
        self, name: str = "steps", description: str = "", registry: CollectorRegistry | None = None
    ) -> None:
        self.histogram = Histogram(
            name, description or name, ["step"], buckets=BUCKETS, registry=registry
        )

    def lap(self) -> Lap:
        """A stopwatch from now: each call records the time since the previous one."""
        return Lap(self.histogram)

    def seconds(self) -> dict[str, float]:
        """The seconds spent in each step so far."""
        return {
            sample.labels["step"]: sample.value
            for metric in self.histogram.collect()
            for sample in metric.samples
            if sample.name.endswith("_sum")
        }


class Lap:
    def __init__(self, histogram: Histogram) -> None:
        self.histogram = histogram
        self.last = time.perf_counter()

    def __call__(self, step: str) -> None:
        """`step` has just finished: it took the time since the previous step (or the start)."""
        now = time.perf_counter()
        self.histogram.labels(step=step).observe(now - self.last)
        self.last = now
