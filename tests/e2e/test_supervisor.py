"""`joblog run`'s supervisor restarts a real service process killed with kill -9."""

from __future__ import annotations

import os
import signal
import sys
import time

from ops.launch import service_env
from ops.supervisor import Supervisor


def test_kill_9_of_a_service_restarts_it(processes, tmp_path):
    said: list[str] = []
    supervisor = Supervisor(said.append, first_pause=0.5)
    command = [sys.executable, "-m", "services", "jobnet-adapter"]
    # a second instance beside the running stack's (its metrics port is taken)
    env = service_env({**processes.env, "JOBLOG_METRICS_PORT_BASE": "0"}, "jobnet-adapter")
    supervisor.start("jobnet-adapter", command, env, tmp_path / "jobnet-adapter.log")
    try:
        time.sleep(3)
        supervisor.check()
        first = supervisor.services["jobnet-adapter"].pid
        log = (tmp_path / "jobnet-adapter.log").read_text(errors="replace")
        assert first is not None and not said, (said, log[-2000:])  # it runs
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while supervisor.services["jobnet-adapter"].restarts < 1:
            assert time.monotonic() < deadline, said
            supervisor.check()
            time.sleep(0.1)
        service = supervisor.services["jobnet-adapter"]
        assert service.pid != first and service.process and service.process.poll() is None
        assert said[0] == "jobnet-adapter exited with -9; restarting in 0.5 s", said
        assert said[1] == "jobnet-adapter restarted (restart 1)"
    finally:
        supervisor.stop_all()
