"""The citizens' activity (`aktivitet`): one document per accepted joblog change, inserted once
and never changed, `_id` "<cpr>:<joblogId>:<version>" (`joblogId`, `version`, `handling`,
`accepteret`).

It was a growing array in the citizen's `borgere` document, and the local FerretDB rewrites a
whole document on every update: that update was a third of its CPU per joblog change. An insert
costs it a tenth of that. A citizen's activity is an `_id` range (his cpr and ':'), a batch of
citizens' an `$or` of their ranges; MongoDB answers both from the `_id` index, and so does the
local FerretDB with the project's build patch (infra/ferretdb/id_pushdown.go), which pushes
down an `$or` of at most `OR_CLAUSES` ranges.

Readers get the citizen's document with the activity put in it (`with_activity`): `aktivitet`
(the entries), `joblogs` (his joblog ids) and `senesteAktivitet` (the latest accepteret), the
fields the document itself held before, so the rules read one shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from shared.readmodel.document import Document

if TYPE_CHECKING:  # the rules import this module: no I/O library loaded with it
    from pymongo.asynchronous.collection import AsyncCollection

OR_CLAUSES = 500
"""Citizens per read (the local FerretDB pushes down an `$or` of at most 500)."""


def activity_id(cpr: str, joblog_id: str, version: int) -> str:
    return f"{cpr}:{joblog_id}:{version}"


def cpr_of(activity_id_: str) -> str:
    return activity_id_.partition(":")[0]


def citizen_range(cpr: str) -> Document:
    """The `_id` filter of one citizen's activity (':' < ';' and cprs are digits)."""
    return {"$gte": f"{cpr}:", "$lt": f"{cpr};"}


def filters(cprs: Sequence[str]) -> Iterator[Document]:
    """The filters of these citizens' activity, `OR_CLAUSES` citizens each."""
    for start in range(0, len(cprs), OR_CLAUSES):
        part = cprs[start : start + OR_CLAUSES]
        if len(part) == 1:
            yield {"_id": citizen_range(part[0])}
        else:
            yield {"$or": [{"_id": citizen_range(cpr)} for cpr in part]}


async def activities_of(
    collection: AsyncCollection[Document], cprs: Iterable[str]
) -> dict[str, list[Document]]:
    """Each citizen's activity entries (a citizen with none is left out), in `_id` order."""
    found: dict[str, list[Document]] = {}
    for where in filters(sorted(set(cprs))):
        async for entry in collection.find(where).sort("_id", 1):
            found.setdefault(cpr_of(entry["_id"]), []).append(entry)
    return found


def with_activity(doc: Document, entries: Sequence[Document]) -> Document:
    """The citizen's document with his activity in it (the module docstring)."""
    accepted = [e["accepteret"] for e in entries if e.get("accepteret") is not None]
    return {
        **doc,
        "aktivitet": list(entries),
        "joblogs": list(dict.fromkeys(e["joblogId"] for e in entries)),
        "senesteAktivitet": max(accepted, default=None),
    }
