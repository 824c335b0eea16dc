"""A citizen's current joblogs, as storage keeps them (the `joblogs` projection of the history):
read by storage for an a-kasse's snapshot and by the API for a front end."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from shared.contract.events import StoredJoblog
from shared.readmodel import collections
from shared.readmodel.document import Document
from shared.readmodel.facts import FactsReader

STORED_FIELDS = (
    "joblogId", "cpr", "version", "slettet", "joblog", "oprettet", "senestAendret", "kilde",
    "kildeBeskedId",
)  # fmt: skip


def stored_from(doc: Document) -> StoredJoblog:
    """The stored joblog of a history entry or projection document."""
    return StoredJoblog.model_validate({k: doc[k] for k in STORED_FIELDS})


class JoblogReader:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.joblogs = db[collections.JOBLOGS]
        self.facts = FactsReader(db)

    async def current_of(self, cpr: str) -> list[StoredJoblog]:
        """The citizen's current, not deleted, joblogs, oldest first (one read by `_id` `$in`,
        an index search on MongoDB and on the patched FerretDB)."""
        ids = await self.facts.joblog_ids(cpr)
        if not ids:
            return []
        docs = self.joblogs.find({"_id": {"$in": ids}})
        alive = [doc async for doc in docs if not doc["slettet"]]
        return [stored_from(doc) for doc in sorted(alive, key=lambda doc: doc["oprettet"])]
