"""What the AsyncAPI documents say a topic carries, without changing how it is read.

Subscribers read raw bytes on purpose: the adapters and storage validate the body themselves, so
a bad message becomes a `*.rejected` record instead of failing in the framework. `Expects`
annotates such a parameter: it is still validated as the bytes it is, and the JSON schema of it
(which FastStream writes into the AsyncAPI document) is the model's.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, GetJsonSchemaHandler, TypeAdapter
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class Expects:
    """Marker in `Annotated[bytes, Expects(Model)]`: validated as bytes, documented as Model."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(TypeAdapter(self.model).core_schema)


def raw_records(model: type) -> Any:
    """The type of a batch subscriber's bodies: a list of raw records, each documented as one
    `model` (a Kafka record carries one message; the batch is our way of reading them)."""
    return Annotated[list[bytes], Expects(model), Field(title=model.__name__)]


def raw_record(model: Any, title: str) -> Any:
    """The type of a single-record subscriber's raw body, documented as `model` (a type, or a
    union such as `Entry | None`) under `title`."""
    return Annotated[bytes, Expects(model), Field(title=title)]
