"""What the AsyncAPI documents say a topic carries, without changing how it is read.

Subscribers read raw bytes on purpose: the adapters and storage validate the body themselves, so
a bad message becomes a `*.rejected` record instead of failing in the framework. FastStream
documents a subscriber's payload by the type of its body parameter, so that parameter is
declared as `Annotated[bytes, Expects(Model), Field(title=...)]` (a batch's as
`Annotated[list[bytes], ...]`): it is still validated as the bytes it is, and the JSON schema of
it (which FastStream writes into the AsyncAPI document) is the model's.
"""

from __future__ import annotations

from typing import Any

from pydantic import GetJsonSchemaHandler, TypeAdapter
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


class Expects:
    """Marker in `Annotated[bytes, Expects(Model)]`: validated as bytes, documented as Model (a
    type, or a union such as `Entry | None`)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(TypeAdapter(self.model).core_schema)
