"""A py-spy profile of each service during the drain, summarised as the functions and packages
where its samples fall."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench.throughput.answers import Answers
from bench.throughput.running import Platform, cpu_seconds

PY_SPY = Path(sys.executable).parent / "py-spy"
PROFILE_RATE = 20
ROOT = Path(__file__).resolve().parents[2]

# -- the profile -----------------------------------------------------------------------------


class Profiler:
    """py-spy recording one process (collapsed stacks), if py-spy is installed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.process: subprocess.Popen[bytes] | None = None
        self.target: str | None = None

    @staticmethod
    def available() -> bool:
        return PY_SPY.exists() or shutil.which("py-spy") is not None

    def start(self, name: str, pid: int) -> None:
        program = str(PY_SPY) if PY_SPY.exists() else "py-spy"
        self.target = name
        self.process = subprocess.Popen(
            [program, "record", "--pid", str(pid), "--rate", str(PROFILE_RATE), "--nonblocking",
             "--gil", "--format", "raw", "--output", str(self.out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=default_sigint,
        )  # fmt: skip

    def cpu(self) -> float:
        """py-spy's own CPU seconds so far (it shares the machine with what it samples)."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        return cpu_seconds(self.process.pid)

    def stop(self) -> dict[str, Any] | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGINT)
        try:
            _, err = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return {"process": self.target, "error": "py-spy did not stop"}
        if not self.out.exists():
            return {"process": self.target, "error": err.decode(errors="replace")[-500:]}
        return {
            "process": self.target, "rate_hz": PROFILE_RATE, "gil_only": True,
            **summarise(self.out),
        }  # fmt: skip


IDLE = {
    ("selectors", "select"), ("threading", "wait"), ("stdlib:threading", "wait"),
    ("shared.platform.outage", "run"),  # its thread sleeps a second between ticks
}  # fmt: skip
"""Top frames of a thread waiting (the event loop in epoll, a pool's idle worker): not CPU."""


def default_sigint() -> None:
    """py-spy stops (and writes its file) on SIGINT, which a background shell ignores."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


FRAMEWORK = ("asyncio", "<frozen", "stdlib:", "selectors", "services.__main__", "anyio")
"""Left out of the inclusive list: the event loop and the entry point (under every sample)."""
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def where(file: str) -> str:
    """A frame's file as a package: a third-party one, the project's module, or the stdlib's."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    path = Path(file)
    try:
        return ".".join(path.resolve().relative_to(ROOT).with_suffix("").parts)
    except ValueError:
        pass
    if not path.is_absolute():  # py-spy shortens the project's paths
        return ".".join(path.with_suffix("").parts)
    return f"stdlib:{path.stem}"


def summarise(raw: Path, top: int = 15) -> dict[str, Any]:
    """The collapsed stacks as the functions with most samples on top of the stack (self), most
    samples anywhere in the stack (inclusive), and the packages of the top frames."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = []
        for frame in stack.split(";"):
            match = FRAME.match(frame)
            if match is None:  # a thread's or process's name
                continue
            frames.append((match["function"], where(match["file"])))
        if not frames:
            continue
        function, package = frames[-1]
        if (package, function.rsplit(".", 1)[-1]) in IDLE:
            idle += count
            continue
        total += count
        own[f"{package}.{function}"] += count
        packages[package] += count
        for name in {f"{p}.{f}" for f, p in frames if not p.startswith(FRAMEWORK)}:
            inclusive[name] += count

    def shares(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(n / total, 3)] for name, n in counter.most_common(top)]

    if not total:
        return {"samples": 0}
    return {
        "samples": total, "idle_samples_left_out": idle, "top_self": shares(own),
        "top_inclusive": shares(inclusive), "top_packages_self": shares(packages),
    }  # fmt: skip


def profiles(
    summaries: dict[str, dict[str, Any] | None], used: dict[str, float], python: list[str]
) -> dict[str, Any]:
    """The whole summary of the service that used the most CPU in the drain, the top of the
    others'."""
    if not summaries:
        return {"drain_profile": {"error": "no profile (py-spy not installed?)"}}
    busiest = max(python, key=lambda name: used[name])
    others = {
        name: {key: summary.get(key, [])[:5] for key in ("top_self", "top_packages_self")}
        for name, summary in summaries.items()
        if name != busiest and summary is not None
    }
    return {
        "drain_profile": summaries.get(busiest) or {"error": f"no profile of {busiest}"},
        "drain_profile_others": others,
    }


async def profile_all(
    platform: Platform, profilers: dict[str, Profiler], answers: Answers, ids: set[str],
    profile: bool,
) -> None:  # fmt: skip
    """Once answers flow, py-spy every service process for the rest of the drain."""
    if not profile or not Profiler.available():
        return
    while not any(answers.count(ids).values()):
        await asyncio.sleep(0.2)
    print(f"profiling every service (py-spy, {PROFILE_RATE} Hz each, the GIL's holder)")
    pids = platform.pids()
    for instance in platform.instances:
        profiler = Profiler(platform.logs / f"{instance.name}.spy")
        profilers[instance.name] = profiler
        profiler.start(instance.name, pids[instance.name])
