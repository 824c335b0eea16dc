"""A citizen's facts as the rules need them, read from his `borgere` document and his activity
by `_id` (the read models described, and kept, in shared/readmodel/updates.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from uuid import UUID

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from shared.contract.citizen import (
    ExemptionMessage,
    ExemptionPeriod,
    Period,
    StatusMessage,
    exemption_periods,
    status_on,
    timeline,
    within_stays,
)
from shared.contract.tid import as_utc, day_of
from shared.readmodel import collections
from shared.readmodel.aktivitet import activities_of, with_activity
from shared.readmodel.document import Document


@dataclass(frozen=True)
class Facts:
    """What the duty and advisering rules need about one citizen."""

    cpr: str
    periods: list[Period] = field(default_factory=list)
    exemptions: list[ExemptionPeriod] = field(default_factory=list)
    last_activity: datetime | None = None
    activities: list[datetime] = field(default_factory=list)
    """When each accepted joblog change was accepted (`aktivitet`), sorted."""
    oprettet: list[datetime] = field(default_factory=list)
    """When each accepted creation (`opret`) was accepted, sorted (the monthly duty's)."""


class FactsReader:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.citizens: AsyncCollection[Document] = db[collections.CITIZENS]
        self.activity: AsyncCollection[Document] = db[collections.ACTIVITY]

    async def document(self, cpr: str) -> Document:
        return (await self.documents([cpr]))[cpr]

    async def documents(self, cprs: Sequence[str]) -> dict[str, Document]:
        """Each citizen's document with his activity in it (`with_activity`): one read of
        `borgere` (`_id` `$in`) and one of `aktivitet` (an `_id` range each)."""
        wanted = sorted(set(cprs))
        if not wanted:
            return {}
        found = {doc["_id"]: doc async for doc in self.citizens.find({"_id": {"$in": wanted}})}
        activity = await activities_of(self.activity, wanted)
        return {
            cpr: with_activity(found.get(cpr) or {"_id": cpr}, activity.get(cpr, []))
            for cpr in wanted
        }

    async def facts(self, cpr: str) -> Facts:
        return facts_of(await self.document(cpr))

    async def facts_many(self, cprs: Sequence[str]) -> dict[str, Facts]:
        """The facts of each of `cprs` (`documents`; a citizen not stored has none)."""
        found = await self.documents(cprs)
        return {cpr: facts_of(found[cpr]) for cpr in cprs}

    async def status_on(self, cpr: str, day: date) -> Period | None:
        """The citizen's status (målgruppe, jobcenter, a-kasse) on a day."""
        doc = await self.citizens.find_one({"_id": cpr}, {"status": 1})
        return status_on(timeline(status_messages(doc)), day)

    async def statuses_of(self, cprs: Iterable[str]) -> dict[str, list[StatusMessage]]:
        """The status messages of each of these citizens (one `_id $in`, the `status` field
        alone, not the whole growing document); a citizen with none is left out."""
        wanted = sorted(set(cprs))
        if not wanted:
            return {}
        docs = await self.citizens.find({"_id": {"$in": wanted}}, {"status": 1}).to_list()
        return {doc["_id"]: status_messages(doc) for doc in docs}

    async def joblog_ids(self, cpr: str) -> list[str]:
        """The citizen's joblog ids, from his activity alone."""
        entries = (await activities_of(self.activity, [cpr])).get(cpr, [])
        return list(dict.fromkeys(entry["joblogId"] for entry in entries))


def facts_of(doc: Document) -> Facts:
    """A citizen's facts from his `borgere` document.

    Once the retention job erased joblogs of his (`slettetTil`: the last change of the latest
    of them), his activity before that moment is no longer known: the facts then begin there,
    with an activity at that moment and his status timeline cut to start on its day, so the
    advisering rule, which walks the activity history, owes no notice for a gap the erasure
    left (it had none: the platform would have sent it then)."""
    cpr = doc["_id"]
    last = doc.get("senesteAktivitet")
    periods = timeline(status_messages(doc))
    exemptions = within_stays(
        exemption_periods(ExemptionMessage.model_validate(m) for m in doc.get("fritagelser", [])),
        periods,
    )
    accepted = [a for a in doc.get("aktivitet", []) if a.get("accepteret")]
    activities = [as_utc(a["accepteret"]) for a in accepted]
    oprettet = [as_utc(a["accepteret"]) for a in accepted if a.get("handling") == "opret"]
    if (floor := doc.get("slettetTil")) is not None:
        floor = as_utc(floor)
        periods = from_day(periods, day_of(floor))
        activities = [a for a in activities if a >= floor] + [floor]
        oprettet = [a for a in oprettet if a >= floor]
        last = max(as_utc(last), floor) if last else floor
    return Facts(
        cpr, periods, exemptions, as_utc(last) if last else None, sorted(activities),
        sorted(oprettet),
    )  # fmt: skip


def from_day(periods: list[Period], day: date) -> list[Period]:
    """The timeline from `day` on (a period reaching back before it begins on it)."""
    return [replace(p, fra=max(p.fra, day)) for p in periods if p.til is None or p.til > day]


def status_messages(doc: Document | None, without: UUID | None = None) -> list[StatusMessage]:
    """The status messages in a citizen document; `without` leaves one out."""
    messages = (StatusMessage.model_validate(m) for m in (doc or {}).get("status", []))
    return [m for m in messages if m.messageId != without]
