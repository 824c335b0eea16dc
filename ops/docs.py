"""Generated documentation: the AsyncAPI documents of the Kafka services, with the payload of
every topic each consumes and publishes (`joblog asyncapi` writes them to docs/asyncapi/;
tests/unit/test_asyncapi.py fails when the committed ones are not what the code generates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from shared.platform.registry import KAFKA_SERVICES, SERVICES, ServiceSpec
from shared.platform.settings import Settings

__all__ = ["KAFKA_SERVICES", "asyncapi_yaml", "documented_settings", "write_asyncapi"]

DOCS = Path(__file__).resolve().parents[1] / "docs" / "asyncapi"


class DefaultSettings(Settings):
    """The settings a document describes: the defaults (the real clock, SASL, the development
    server), whatever this process's environment says, so the document is the same anywhere."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def documented_settings() -> Settings:
    return DefaultSettings()


def asyncapi_yaml(spec_of: ServiceSpec) -> str:
    """The service's document as YAML, its channels, operations, messages and schemas in name
    order (FastStream keeps publishers in a WeakSet, whose order changes from run to run)."""
    runtime = spec_of.build(documented_settings()).runtime
    spec: dict[str, Any] = runtime.asyncapi().to_specification().to_jsonable()
    for section in (spec, spec.get("components", {})):
        for name in ("channels", "operations", "messages", "schemas"):
            if name in section:
                section[name] = dict(sorted(section[name].items()))
    return yaml.dump(spec, sort_keys=False, allow_unicode=True)


def document_path(out: Path, service: ServiceSpec) -> Path:
    return out / f"{service.name}.yaml"


def write_asyncapi(out: Path = DOCS) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for service in KAFKA_SERVICES:
        path = document_path(out, service)
        path.write_text(asyncapi_yaml(service))
        written.append(path)
    return written


README = DOCS.parents[1] / "README.md"
TABLE_START = "<!-- services: generated from shared/platform/registry.py by `joblog asyncapi` -->\n"
TABLE_END = "<!-- /services -->"


def readme_services(readme: str) -> str:
    """The README's table of services as it stands."""
    start = readme.index(TABLE_START) + len(TABLE_START)
    return readme[start : readme.index(TABLE_END, start)]


def write_readme_services(path: Path = README) -> None:
    readme = path.read_text()
    path.write_text(readme.replace(readme_services(readme), services_table()))


def readable(address: str) -> str:
    """A topic address as the contract writes it: a pattern's party number as `<nr>`/`<kode>`."""
    if "\\" not in address:
        return address
    party = "<nr>" if address.startswith("akasse") else "<kode>"
    return address.replace("\\d\\d\\d", party).replace("\\.", ".")


def services_table() -> str:
    """The README's table of services, from the registry and each service's AsyncAPI document
    (what it consumes and publishes). tests/unit/test_asyncapi.py holds the README to it."""
    rows = [
        "| service | what it does | composition root | metrics port | consumes | publishes |",
        "|---|---|---|---|---|---|",
    ]
    for service in SERVICES:
        module = f"`{service.module.replace('.', '/')}.py`"
        if not service.kafka:
            rows.append(f"| {service.name} | {service.role} | {module} | its HTTP port | | |")
            continue
        spec = yaml.safe_load(asyncapi_yaml(service))
        port = f"base + {service.metrics_offset}"
        rows.append(
            f"| {service.name} | {service.role} | {module} | {port} "
            f"| {_addresses(spec, 'receive')} | {_addresses(spec, 'send')} |"
        )
    return "\n".join(rows) + "\n"


def _addresses(spec: dict[str, Any], action: str) -> str:
    """The topics of a document's operations doing `action`, as a table cell."""
    found = {
        readable(spec["channels"][op["channel"]["$ref"].split("/")[-1]]["address"])
        for op in spec["operations"].values()
        if op["action"] == action
    }
    return ", ".join(f"`{address}`" for address in sorted(found))
