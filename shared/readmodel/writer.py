"""Writes the read models' updates (`shared.readmodel.updates`) to the database."""

from __future__ import annotations

from collections.abc import Iterable

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.platform.db import insert_new
from shared.readmodel.document import Document
from shared.readmodel.updates import Update, folded, inserted

BULK = 1000
"""Updates per bulk write (bounds the memory of one request)."""
BEFORE = ReturnDocument.BEFORE
AFTER = ReturnDocument.AFTER


class ReadModelWriter:
    """Applies updates one at a time (the services) or in bulk (rebuild, seeding)."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def apply(self, update: Update, returning: bool | None = None) -> Document | None:
        """One round trip; with `returning` (ReturnDocument.BEFORE/AFTER) it answers with the
        document. Two first writes for a new citizen (his status and a fritagelse, handled in
        parallel) can both try to insert: the loser's DuplicateKeyError means the document
        exists now, so the update is made again."""
        collection: AsyncCollection[Document] = self.db[update.collection]
        if returning is None and (doc := inserted(update)) is not None:
            await insert_new(collection, [doc])
            return None
        for attempt in (1, 2):
            try:
                if returning is None:
                    await collection.update_one({"_id": update.id}, update.update, upsert=True)
                    return None
                return await collection.find_one_and_update(
                    {"_id": update.id}, update.update, upsert=True, return_document=returning
                )
            except DuplicateKeyError:
                if attempt == 2:
                    raise
        return None  # not reached

    async def apply_all(self, updates: Iterable[Update]) -> None:
        for update in updates:
            await self.apply(update)

    async def insert_folded(self, updates: Iterable[Update]) -> int:
        """Insert the documents the updates make (`folded`): for documents that do not exist
        yet, as when seeding a new store. Returns how many documents were inserted."""
        inserted = 0
        for name, docs in folded(updates).items():
            await self.db[name].insert_many(list(docs.values()), ordered=False)
            inserted += len(docs)
        return inserted

    async def apply_bulk(self, updates: Iterable[Update]) -> int:
        """Unordered bulk writes per collection (the documents only inserted, `inserted`, in
        one `insert_many`, those there already left as they are); returns how many updates
        were applied."""
        by_collection: dict[str, list[UpdateOne]] = {}
        inserts: dict[str, list[Document]] = {}
        for update in updates:
            if (doc := inserted(update)) is not None:
                inserts.setdefault(update.collection, []).append(doc)
                continue
            by_collection.setdefault(update.collection, []).append(
                UpdateOne({"_id": update.id}, update.update, upsert=True)
            )
        done = 0
        for name, docs in inserts.items():
            for start in range(0, len(docs), BULK):
                await insert_new(self.db[name], docs[start : start + BULK])
            done += len(docs)
        for name, operations in by_collection.items():
            for start in range(0, len(operations), BULK):
                await _bulk(self.db[name], operations[start : start + BULK])
            done += len(operations)
        return done


async def _bulk(collection: AsyncCollection[Document], operations: list[UpdateOne]) -> None:
    """One unordered bulk of upserts. As in `apply`, an upsert that lost the insert of a new
    document to another writer (a duplicate key) is made again: the document exists now."""
    for attempt in (1, 2):
        try:
            await collection.bulk_write(operations, ordered=False)
            return
        except BulkWriteError as error:
            errors = error.details.get("writeErrors", [])
            if (
                attempt == 2
                or error.details.get("writeConcernErrors")
                or any(e.get("code") != 11000 for e in errors)
            ):
                raise
            operations = [operations[e["index"]] for e in errors]
