"""Run one service as a process: `python -m services <name>`."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from importlib import import_module

from faststream import FastStream

from shared.credentials import for_service
from shared.service import setup_logging
from shared.settings import Settings, get_settings

SERVICES = {
    "jobnet-adapter": "services.jobnet_adapter.app",
    "akasse-adapter": "services.akasse_adapter.app",
    "storage": "services.storage.app",
    "notifier": "services.notifier.app",
    "provisioner": "services.provisioner.app",
    "jobcenter-api": "services.jobcenter_api.app",
}


def main(argv: list[str]) -> None:
    if len(argv) != 1 or argv[0] not in SERVICES:
        sys.exit(f"usage: python -m services {{{','.join(SERVICES)}}}")
    settings = for_service(get_settings(), argv[0])
    setup_logging(settings)
    module = import_module(SERVICES[argv[0]])
    if argv[0] == "jobcenter-api":
        module.serve(settings)
        return
    create_app: Callable[[Settings], FastStream] = module.create_app
    asyncio.run(create_app(settings).run())


if __name__ == "__main__":
    main(sys.argv[1:])
