"""Run one service as a process: `python -m services <name>` (the names:
`shared.platform.registry`)."""

from __future__ import annotations

import asyncio
import gc
import sys

from shared.cluster.credentials import for_service
from shared.platform.log import setup_logging
from shared.platform.registry import BY_NAME
from shared.platform.settings import get_settings

GC_THRESHOLDS = (50_000, 20, 100)
"""The cyclic collector's thresholds: a young collection after 50,000 new objects instead of 700,
fewer older ones. A batch of 200 records makes tens of thousands of short-lived objects (models,
documents, tasks), nearly none in cycles; with the defaults the collector ran many times a batch
and walked the whole heap often."""


def collect_less_often() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in BY_NAME:
        sys.exit(f"usage: python -m services {{{','.join(BY_NAME)}}}")
    spec = BY_NAME[argv[0]]
    settings = for_service(get_settings(), spec.name)
    setup_logging(settings)
    collect_less_often()
    if not spec.kafka:
        spec.serve(settings)
        return
    runtime = spec.build(settings).runtime
    gc.freeze()  # what was imported and built stays: the collector no longer walks it
    asyncio.run(runtime.app(spec.metrics_offset).run())


if __name__ == "__main__":
    main(sys.argv[1:])
