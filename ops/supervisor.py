"""Keeps the local platform's service processes running (`joblog run`): a service that dies is
started again after a pause that doubles while it keeps dying (up to `max_pause`), each restart
said and counted; one that keeps dying is reported with the tail of its log. Nothing else is
stopped because a service died.

Kafka and the database are watched the same way (`watch`): they are not this supervisor's
children (the launcher in `infra.local` starts them, with their pid files), so a watched
component is a question (`alive`) and an action (`revive`, which may take a while: it runs in a
thread while the services go on being supervised)."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from infra.processes import log_tail


@dataclass
class Supervised:
    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    deaths: deque[float] = field(default_factory=deque)
    restart_at: float | None = None
    reported: bool = False
    alive: Callable[[], bool] | None = None
    """A watched component (Kafka, the database): whether it runs; None for a service."""
    revive: Callable[[], None] | None = None
    reviving: threading.Thread | None = None
    failure: str | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


class Supervisor:
    def __init__(
        self,
        say: Callable[[str], None],
        first_pause: float = 1.0,
        max_pause: float = 30.0,
        window: float = 60.0,
        keeps_dying: int = 5,
    ) -> None:
        self.say = say
        self.first_pause = first_pause
        self.max_pause = max_pause
        self.window = window
        self.keeps_dying = keeps_dying
        self.services: dict[str, Supervised] = {}

    def start(self, name: str, command: list[str], env: dict[str, str], log: Path) -> None:
        self.services[name] = service = Supervised(name, command, env, log)
        self._spawn(service)

    def watch(
        self, name: str, alive: Callable[[], bool], revive: Callable[[], None], log: Path
    ) -> None:
        """Watch a component started elsewhere: when `alive` says no, it is reported and
        `revive` is called (in a thread) after the same growing pause as a service's restart."""
        self.services[name] = Supervised(name, [], {}, log, alive=alive, revive=revive)

    def _spawn(self, service: Supervised) -> None:
        service.log.parent.mkdir(parents=True, exist_ok=True)
        with service.log.open("ab") as out:
            service.process = subprocess.Popen(
                service.command, env=service.env, stdout=out, stderr=subprocess.STDOUT
            )
        service.restart_at = None

    def check(self, now: float | None = None) -> None:
        """Notice deaths, restart what is due; call it every fraction of a second."""
        now = time.monotonic() if now is None else now
        for service in self.services.values():
            if service.alive is not None:
                self._check_watched(service, now)
                continue
            process = service.process
            if service.restart_at is None and process is not None and process.poll() is not None:
                self._died(service, f"exited with {process.returncode}", now)
            elif service.restart_at is not None and now >= service.restart_at:
                service.restarts += 1
                self._spawn(service)
                self.say(f"{service.name} restarted (restart {service.restarts})")

    def _check_watched(self, service: Supervised, now: float) -> None:
        assert service.alive is not None and service.revive is not None
        if service.reviving is not None:
            if service.reviving.is_alive():
                return
            service.reviving = None
            if service.failure is None:
                self.say(f"{service.name} restarted (restart {service.restarts})")
            else:
                self._died(service, f"did not start again ({service.failure})", now)
        elif service.restart_at is None and not service.alive():
            self._died(service, "is down", now)
        elif service.restart_at is not None and now >= service.restart_at:
            service.restarts += 1
            service.restart_at = None
            service.failure = None
            service.reviving = threading.Thread(
                target=self._revive, args=(service,), name=f"revive-{service.name}", daemon=True
            )
            service.reviving.start()

    @staticmethod
    def _revive(service: Supervised) -> None:
        assert service.revive is not None
        try:
            service.revive()
        except Exception as error:  # reported by `check`, and tried again after a pause
            service.failure = str(error).splitlines()[0] if str(error) else type(error).__name__

    def _died(self, service: Supervised, how: str, now: float) -> None:
        service.deaths.append(now)
        while service.deaths and service.deaths[0] < now - self.window:
            service.deaths.popleft()
        recent = len(service.deaths)
        pause = min(self.max_pause, self.first_pause * 2 ** (recent - 1))
        service.restart_at = now + pause
        self.say(f"{service.name} {how}; restarting in {pause:.1f} s")
        if recent >= self.keeps_dying and not service.reported:
            service.reported = True
            self.say(
                f"{service.name} keeps dying ({recent} times in {self.window:.0f} s); "
                f"the end of {service.log}:\n{log_tail(service.log, 20)}"
            )
        elif recent < self.keeps_dying:
            service.reported = False

    def stop_all(self, grace: float = 20.0) -> None:
        """Stop the services (not the watched components: their launcher does), after any
        restart of a watched one under way has finished (its pid file is then written)."""
        for service in self.services.values():
            if service.reviving is not None:
                service.reviving.join(timeout=grace)
        running = [s.process for s in self.services.values() if s.process is not None]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.kill()
