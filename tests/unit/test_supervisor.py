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


def test_a_watched_component_that_dies_is_reported_and_revived_with_growing_pauses(tmp_path):
    """Kafka or the database under `joblog run`: not a child of the supervisor, but asked."""
    said: list[str] = []
    up = {"kafka": True}
    revived: list[float] = []

    def revive() -> None:
        revived.append(time.monotonic())
        if len(revived) == 1:
            raise RuntimeError("kafka exited with 1\nits log")  # the first try fails
        up["kafka"] = True

    supervisor = Supervisor(said.append, first_pause=0.05, max_pause=1.0)
    supervisor.watch("kafka", lambda: up["kafka"], revive, tmp_path / "kafka.out")
    supervisor.check()
    assert said == [] and revived == []
    up["kafka"] = False
    deadline = time.monotonic() + 10
    while not any("restarted" in line for line in said):
        assert time.monotonic() < deadline, said
        supervisor.check()
        time.sleep(0.01)
    assert said == [
        "kafka is down; restarting in 0.1 s",
        "kafka did not start again (kafka exited with 1); restarting in 0.1 s",
        "kafka restarted (restart 2)",
    ]
    supervisor.check()
    assert len(revived) == 2 and said[-1] == "kafka restarted (restart 2)"
