"""What the benchmarks share: writing their figures to result files."""

from __future__ import annotations

import json
import platform as host
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {"benchmark": name, "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "machine": host.node(), **figures}  # fmt: skip
    path.write_text(json.dumps(record, indent=2) + "\n")
    for key, value in figures.items():
        print(f"{key:>40}: {value}")
    print(f"written to {path}")
    return path
