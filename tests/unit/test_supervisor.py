"""The supervisor of `joblog run` with real (tiny) processes: restart with a growing pause, and a
service that keeps dying reported with the tail of its log."""

from __future__ import annotations

import sys
import time

from ops.supervisor import Supervisor


def test_a_service_that_keeps_dying_is_restarted_with_growing_pauses_and_reported(tmp_path):
    said: list[str] = []
    supervisor = Supervisor(said.append, first_pause=0.05, max_pause=0.2, keeps_dying=3)
    command = [sys.executable, "-c", "print('boom: no database', flush=True); raise SystemExit(3)"]
    supervisor.start("storage", command, {}, tmp_path / "storage.log")
    deadline = time.monotonic() + 20
    while not any("keeps dying" in line for line in said):
        assert time.monotonic() < deadline, said
        supervisor.check()
        time.sleep(0.02)
    service = supervisor.services["storage"]
    assert service.restarts >= 2
    restarts = [line for line in said if "restarting in" in line]
    pauses = [float(line.split("restarting in ")[1].split(" s")[0]) for line in restarts]
    assert pauses == sorted(pauses)  # never shorter while it keeps dying
    report = next(line for line in said if "keeps dying" in line)
    assert "boom: no database" in report  # the tail of its log
    assert "exited with 3" in said[0]
    supervisor.stop_all()
