"""What the benchmarks share: the infrastructure, an in-process platform, and result files."""

from __future__ import annotations

import json
import platform as host
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from services.akasse_adapter.app import AkasseAdapter
from services.jobnet_adapter.app import JobnetAdapter
from services.notifier.app import NotifierService
from services.storage.app import StorageService
from shared.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"


async def start_platform(stack: AsyncExitStack, settings: Settings) -> None:
    for kind in (StorageService, JobnetAdapter, AkasseAdapter, NotifierService):
        await stack.enter_async_context(kind(settings))


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
