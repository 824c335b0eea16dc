"""Run one service as a process: `python -m services <name>` (the names:
`shared.platform.registry`)."""

from __future__ import annotations

import asyncio
import sys

from shared.cluster.credentials import for_service
from shared.platform.log import setup_logging
from shared.platform.registry import BY_NAME
from shared.platform.settings import get_settings


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in BY_NAME:
        sys.exit(f"usage: python -m services {{{','.join(BY_NAME)}}}")
    spec = BY_NAME[argv[0]]
    settings = for_service(get_settings(), spec.name)
    setup_logging(settings)
    if not spec.kafka:
        spec.serve(settings)
        return
    runtime = spec.build(settings).runtime
    asyncio.run(runtime.app(spec.metrics_offset).run())


if __name__ == "__main__":
    main(sys.argv[1:])
