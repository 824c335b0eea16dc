"""What the benchmarks share: writing their figures to result files (committed: docs/design.md
quotes them), each with the machine, its CPUs and load, and the date (UTC)."""

from __future__ import annotations

import json
import os
import platform as host
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {
        "benchmark": name, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": host.node(), "platform": host.platform(), "cpus": os.cpu_count(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2), "python": host.python_version(),
        **figures,
    }  # fmt: skip
    path.write_text(json.dumps(record, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key:>40}: {value}")
    print(f"written to {path}")
    return path
