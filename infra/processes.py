"""The local components as processes: each started in its own session with a pid file and a log
in its run folder, waited for until ready, recognised again by pid, and stopped by pid alone.

A pid counts only while that process runs and is ours: its command line names the run folder
(a pid file outlives its process, and the pid may since belong to anything else). What the
launcher's steps share is here too: the error they raise, their progress line, running a
command to its end, and the cache of what they fetch and build.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


class InfraError(RuntimeError):
    pass


def say(text: str) -> None:
    print(f"[infra] {text}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    """Jars and the FerretDB binary, kept across profiles so that a second start needs no
    network (JOBLOG_CACHE_DIR, or `~/.cache/joblog-platform`)."""
    path = Path(os.environ.get("JOBLOG_CACHE_DIR", Path.home() / ".cache" / "joblog-platform"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(cmd: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    """Run a command to its end; on failure, raise with the tail of its output."""
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise InfraError(f"{what} failed ({' '.join(cmd[:3])} …):\n{tail}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    """Whether the process runs. A child of ours that has exited is reaped, and a zombie that
    is not ours (a launcher that has not reaped its killed child yet) counts as dead: either
    would otherwise look alive, and `up` or `down` would wait out a whole grace period."""
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return proc_state(pid) not in ("Z", "X")


def proc_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat (R, S, Z, ...); None where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def ours(pid: int, run_dir: Path) -> bool:
    """Whether `pid` is a process this launcher started in `run_dir`: its command line names
    the run folder (Kafka's configuration, FerretDB's data). A pid file outlives its process
    and the pid may since belong to anything else. True where there is no /proc."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return False
    return str(run_dir).encode() in cmdline


def read_pid(pidfile: Path, run_dir: Path) -> int | None:
    """The pid in `pidfile` if that process runs and is the one we started, else None."""
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if alive(pid) and ours(pid, run_dir) else None


def log_tail(log: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def start(
    name: str,
    cmd: list[str],
    run_dir: Path,
    port: int,
    ready: Callable[[], bool],
    timeout: float,
    env: dict[str, str] | None = None,
) -> None:
    """Start `name` unless ours already serves `port`: `run_dir/<name>.pid`, its output in
    `run_dir/logs/<name>.out`; wait until `ready`, or raise with the log's tail."""
    pidfile = run_dir / f"{name}.pid"
    log = run_dir / "logs" / f"{name}.out"
    current = read_pid(pidfile, run_dir)
    if current is not None and port_open(port):  # `ready` passed when it started
        say(f"{name} already running on 127.0.0.1:{port}")
        return
    if current is not None:  # ours, but not serving: a start that never finished
        stop_pid(current)
    if port_open(port):
        raise InfraError(
            f"port {port} for {name} is taken by a process this launcher did not start; "
            f"stop it, or point the platform at it with the matching environment variable"
        )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=run_dir,
            start_new_session=True,
            env=env,
        )
    pidfile.write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pidfile.unlink(missing_ok=True)
            raise InfraError(f"{name} exited with {process.returncode}; {log}:\n{log_tail(log)}")
        if port_open(port) and ready():
            say(f"{name} ready on 127.0.0.1:{port} (log: {log})")
            return
        time.sleep(0.3)
    stop_pid(process.pid)
    pidfile.unlink(missing_ok=True)
    raise InfraError(f"{name} not ready after {timeout:.0f}s; {log}:\n{log_tail(log)}")


def stop_pid(pid: int, grace: float = 15.0) -> None:
    """SIGTERM to the process's group, SIGKILL after `grace` seconds."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.2)
    if alive(pid):
        os.killpg(pid, signal.SIGKILL)


def stop(name: str, run_dir: Path) -> None:
    """Stop `name` if ours runs (by its pid file), and remove the pid file."""
    pidfile = run_dir / f"{name}.pid"
    pid = read_pid(pidfile, run_dir)
    if pid is not None:
        say(f"stopping {name} (pid {pid})")
        stop_pid(pid)
    pidfile.unlink(missing_ok=True)
