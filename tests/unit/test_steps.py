"""A batch handler's step times (shared/platform/steps.py): each lap is the time since the one
before, summed per step, and served on the registry it was given."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from shared.platform import steps
from shared.platform.steps import StepTimes


def test_each_lap_is_the_time_since_the_one_before_summed_per_step(monkeypatch):
    moments = iter([10.0, 10.5, 12.0, 12.25, 13.0, 13.75])
    monkeypatch.setattr(steps.time, "perf_counter", lambda: next(moments))
    times = StepTimes()
    lap = times.lap()  # 10.0
    lap("read")  # 0.5
    lap("write")  # 1.5
    lap("read")  # 0.25
    times.lap()("write")  # a new stopwatch from 13.0: 0.75
    assert times.seconds() == {"read": 0.75, "write": 2.25}


def test_the_steps_are_on_the_service_s_metrics():
    registry = CollectorRegistry()
    StepTimes("dfdg_x_step_seconds", "x", registry).lap()("read")
    text = generate_latest(registry).decode()
    assert 'dfdg_x_step_seconds_count{step="read"} 1.0' in text
