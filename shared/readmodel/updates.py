"""DFDG's read models: what the notifier and the udsøgning read, kept by the writers.

The records (`status_messages`, `exemption_messages`, `joblog_history`, `notices`) are the
truth; these collections are derived from them, so `joblog rebuild` (ops/rebuild.py) can make
them anew from the records at any time.

- `borgere`, one document per citizen (`_id` = cpr): `status` (his status messages as sent),
  `fritagelser` (his exemption messages), `modtaget` (messageId -> when the platform received
  that status or exemption message), `jobcentre` (every jobcenter a status message named),
  and `adviseringer` (noticeId -> forfaldt and udstedt of each notice to the citizen).
- `aktivitet`, one document per accepted joblog change (`shared.readmodel.aktivitet`: joblogId,
  version, handling, accepteret), inserted once; readers see it in the citizen's document.
- `jobcenter_borgere`, one document per jobcenter and citizen a status message placed there
  (`_id` = "<kommunekode>:<cpr>", `modtaget`: when the platform first learnt it).

Every read is by `_id`: one citizen, a batch of citizens (`_id` `$in`), one jobcenter's
citizens in cpr order (an `_id` range), and the citizens' activity (an `_id` range each).
MongoDB answers each from the `_id` index, and so does the local FerretDB with the project's
build patch (infra/ferretdb/id_pushdown.go); any other filter would scan the collection there.
Every update is idempotent (`$addToSet` of the same content, `$max`, `$min` of the first time
received, `$setOnInsert` of an activity, which the writer inserts), so a redelivered message
changes nothing, and the updates commute, so they may be applied in any order (which the
rebuild does).

The updates are plain data (`Update`), made by pure functions, and written one at a time by the
services or in bulk by the rebuild and the benchmark's seeding
(`shared.readmodel.writer`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.contract.citizen import ExemptionMessage, StatusMessage
from shared.contract.tid import as_utc, to_millis
from shared.readmodel import collections
from shared.readmodel.aktivitet import activity_id
from shared.readmodel.document import Document

CITIZENS = collections.CITIZENS
MEMBERS = collections.MEMBERS
ACTIVITY = collections.ACTIVITY


@dataclass(frozen=True)
class Update:
    """One idempotent upsert: `update` applied to the document `_id` of `collection`."""

    collection: str
    id: str
    update: Document


def as_content(message: StatusMessage | ExemptionMessage) -> dict[str, Any]:
    """A message as stored in the citizen document: JSON values, the same on every delivery and
    when rebuilt from the stored record (its `tidspunkt` in UTC milliseconds, as stored)."""
    content = message.model_dump(mode="json")
    if isinstance(message, StatusMessage):
        content["tidspunkt"] = to_millis(as_utc(message.tidspunkt)).isoformat()
    return content


def member_id(kommunekode: str, cpr: str) -> str:
    return f"{kommunekode}:{cpr}"


def jobcenter_range(kommunekode: str) -> Document:
    """The `_id` filter of one jobcenter's citizens (':' < ';' and cprs are digits)."""
    return {"$gte": f"{kommunekode}:", "$lt": f"{kommunekode};"}


def status_updates(message: StatusMessage, received: datetime) -> list[Update]:
    """A status message: the jobcenter learns of the citizen, then the citizen's document."""
    member = Update(
        MEMBERS, member_id(message.jobcenter, message.cpr), {"$min": {"modtaget": received}}
    )
    citizen = Update(
        CITIZENS,
        message.cpr,
        {
            "$addToSet": {"status": as_content(message), "jobcentre": message.jobcenter},
            "$min": {f"modtaget.{message.messageId}": received},
        },
    )
    return [member, citizen]


def exemption_update(message: ExemptionMessage, received: datetime) -> Update:
    return Update(
        CITIZENS,
        message.cpr,
        {
            "$addToSet": {"fritagelser": as_content(message)},
            "$min": {f"modtaget.{message.messageId}": received},
        },
    )


def activity_update(
    cpr: str, joblog_id: str, version: int, handling: str, accepted: datetime
) -> Update:
    """An accepted joblog change (its history entry's fields): a document of its own."""
    entry = {"joblogId": joblog_id, "version": version, "handling": handling,
             "accepteret": accepted}  # fmt: skip
    return Update(ACTIVITY, activity_id(cpr, joblog_id, version), {"$setOnInsert": entry})


def inserted(update: Update) -> Document | None:
    """The document an update only inserts (`$setOnInsert` alone), which the writers insert
    instead of upserting: FerretDB's insert costs a fraction of its update."""
    if set(update.update) != {"$setOnInsert"}:
        return None
    return {"_id": update.id, **update.update["$setOnInsert"]}


def history_update(entry: Document) -> Update:
    """The activity of a stored `joblog_history` entry."""
    return activity_update(
        entry["cpr"], entry["joblogId"], entry["version"], entry["handling"], entry["accepteret"]
    )


def notice_update(cpr: str, notice_id: str, forfaldt: datetime, udstedt: datetime) -> Update:
    """A notice to the citizen (the udsøgning counts those); the first issue time is kept."""
    return Update(
        CITIZENS,
        cpr,
        {
            "$set": {f"adviseringer.{notice_id}.forfaldt": forfaldt},
            "$min": {f"adviseringer.{notice_id}.udstedt": udstedt},
        },
    )


def merged(updates: Iterable[Update]) -> list[Update]:
    """The updates of each document as one (one round trip): only for updates whose paths
    differ, as those of different notices do; a path given twice is refused."""
    by_document: dict[tuple[str, str], Document] = {}
    for update in updates:
        operators = by_document.setdefault((update.collection, update.id), {})
        for operator, fields in update.update.items():
            into = operators.setdefault(operator, {})
            if clash := set(into) & set(fields):
                raise ValueError(f"{operator} of {sorted(clash)} twice: not merged")
            into.update(fields)
    return [Update(name, id_, ops) for (name, id_), ops in by_document.items()]


def folded(updates: Iterable[Update]) -> dict[str, dict[str, Document]]:
    """The documents a series of updates makes from nothing, per collection and `_id`, as the
    database would make them (`$set`, `$min`, `$max`, `$addToSet`, `$setOnInsert`, with dotted
    paths): a whole store's read models can then be inserted at once (the benchmark's seeding)
    instead of updated document by document. `tests/integration/test_read_model.py` holds the
    two equal."""
    docs: dict[str, dict[str, Document]] = {}
    for update in updates:
        doc = docs.setdefault(update.collection, {}).setdefault(update.id, {"_id": update.id})
        for operator, fields in update.update.items():
            for path, value in fields.items():
                *parents, name = path.split(".")
                target = doc
                for parent in parents:
                    target = target.setdefault(parent, {})
                _apply(operator, target, name, value)
    return docs


def _apply(operator: str, target: Document, name: str, value: Any) -> None:
    current = target.get(name)
    if operator == "$set" or (current is None and operator in ("$min", "$max", "$setOnInsert")):
        target[name] = value
    elif operator == "$min":
        target[name] = min(current, value)
    elif operator == "$max":
        target[name] = max(current, value)
    elif operator == "$setOnInsert":
        pass  # set when the document was made
    elif operator == "$addToSet":
        items = target.setdefault(name, [])
        if value not in items:
            items.append(value)
    else:
        raise ValueError(f"{operator} is not folded")
