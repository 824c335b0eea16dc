"""A front end's message format as a pydantic model, for the AsyncAPI documents only.

The formats are read by table (`shared.frontends.common.Format`): strictly, with refusals in
the producer's terms. These models are built from the same tables (the envelope's names, the
entry's paths, each enum's values in the producer's words), so the document follows the code;
they never parse a message.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, create_model

from shared.contract.events import Handling, Sletning
from shared.frontends.akasse import AKASSE
from shared.frontends.common import DATE, ENTRY_KINDS, TEXT, Format
from shared.frontends.jobnet import JOBNET

STRICT = ConfigDict(extra="forbid")
Fields = dict[str, Any]

CPR = Field(pattern=r"^[0-9]{10}$", description="10 digits, no dash")
AKASSE_NR = Field(pattern=r"^[0-9]{3}$")


def _values(fmt: Format, enum: type) -> Any:
    """The enum's values as the producer writes them."""
    return Literal.__getitem__(tuple(fmt.values[enum]))


def _leaf(fmt: Format, canonical: str) -> Any:
    kind = ENTRY_KINDS[canonical]
    if kind == TEXT:
        return str
    if kind == DATE:
        return date
    assert isinstance(kind, type), kind
    return _values(fmt, kind)


def _object(fmt: Format, name: str, path: str) -> type[BaseModel]:
    """The producer's object at `path` in the entry ("" is the entry itself)."""
    fields: Fields = {}
    for child in fmt.children.get(path, ()):
        child_path = f"{path}.{child}" if path else child
        if child_path in fmt.objects:
            nested = _object(fmt, name + child[:1].upper() + child[1:], child_path)
            fields[child] = (nested | None, None)
        elif fmt.leaves[child_path] == "type":
            fields[child] = (_leaf(fmt, "type"), ...)
        else:
            fields[child] = (_leaf(fmt, fmt.leaves[child_path]) | None, None)
    model: type[BaseModel] = create_model(name, __config__=STRICT, **fields)
    return model


def _envelope(fmt: Format, entry: type[BaseModel], outbound: bool) -> Fields:
    """The message's own fields, canonical name -> (type, default)."""
    inbound_fields: Fields = {
        "beskedId": (UUID, ...),
        "handling": (_values(fmt, Handling), ...),
        "akasseNr": (str, AKASSE_NR),
        "joblogId": (UUID, ...),
        "cpr": (str, CPR),
        "tidspunkt": (datetime, ...),
        "grundversion": (int | None, Field(None, ge=1, description="required for ret and slet")),
        "joblog": (entry | None, Field(None, description="required for opret and ret")),
    }
    if not outbound:
        return inbound_fields
    del inbound_fields["grundversion"]
    return inbound_fields | {
        "akasseNr": (str | None, None),
        "joblog": (entry, ...),
        "version": (int, Field(ge=1)),
        "oprettet": (datetime, ...),
        "senestAendret": (datetime, ...),
        "kilde": (str, Field(description='"jobnet", "akasse:<nr>", or "dfdg" (retention)')),
        "kildeBeskedId": (UUID, ...),
        "slettet": (bool, ...),
        "sletning": (
            _values(fmt, Sletning) | None,
            Field(None, description="only on a retention change: what the platform deleted"),
        ),
    }


def message_model(fmt: Format, name: str, outbound: bool) -> type[BaseModel]:
    """The inbound or outbound message of `fmt`, in its producer's names and values."""
    entry = _object(fmt, f"{name}Joblog", "")
    canonical = _envelope(fmt, entry, outbound)
    fields = {fmt.envelope[field]: canonical[field] for field in fmt.envelope if field in canonical}
    if outbound:
        fields["snapshot"] = (bool | None, Field(None, description="only in a new a-kasse's copy"))
    direction = "Outbound" if outbound else "Inbound"
    model: type[BaseModel] = create_model(f"{name}{direction}", __config__=STRICT, **fields)
    return model


@cache
def jobnet_inbound() -> type[BaseModel]:
    return message_model(JOBNET, "Jobnet", outbound=False)


@cache
def jobnet_outbound() -> type[BaseModel]:
    return message_model(JOBNET, "Jobnet", outbound=True)


@cache
def akasse_inbound() -> type[BaseModel]:
    return message_model(AKASSE, "Akasse", outbound=False)


@cache
def akasse_outbound() -> type[BaseModel]:
    return message_model(AKASSE, "Akasse", outbound=True)
