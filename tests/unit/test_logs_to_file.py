"""Issue 14: commands that show progress (`simulate`, `udsoegning`) send every log line and the
libraries' warnings to their log file, never to the terminal."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging, sys, warnings
from pathlib import Path
from shared.platform.log import logs_to_file
logs_to_file(Path(sys.argv[1]))
logging.getLogger("aiokafka.consumer.group_coordinator").error(
    "Group Coordinator Request failed for 0101901234")
warnings.warn("Unclosed AIOKafkaConsumer", ResourceWarning, stacklevel=1)
print("progress 1/1")
"""


def test_library_lines_go_to_the_log_file_not_the_terminal(tmp_path):
    log = tmp_path / "logs" / "simulate.log"
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", SCRIPT, str(log)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == "progress 1/1\n"
    assert done.stderr == ""
    written = log.read_text()
    assert "Group Coordinator Request failed" in written
    assert "Unclosed AIOKafkaConsumer" in written
    assert "0101901234" not in written  # CPR masked there too
