"""Generated documentation: the AsyncAPI documents of the four Kafka services."""

from __future__ import annotations

from pathlib import Path

from services.in_process import KAFKA_SERVICES
from shared.service import Service
from shared.settings import get_settings

__all__ = ["KAFKA_SERVICES", "asyncapi_yaml", "write_asyncapi"]


def asyncapi_yaml(kind: type[Service]) -> str:
    service = kind(get_settings())
    text: str = service.asyncapi().to_specification().to_yaml()
    return text


def write_asyncapi(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KAFKA_SERVICES:
        path = out / f"{kind.name}.yaml"
        path.write_text(asyncapi_yaml(kind))
        written.append(path)
    return written
