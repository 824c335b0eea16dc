"""MongoDB access through PyMongo's async API (AsyncMongoClient).

Written for what both MongoDB and FerretDB 1.24 offer: no transactions, change streams or TTL
indexes; $group only with $sum/$count. Unique and compound indexes, upserts, find_one_and_update
and bulk writes carry the consistency instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, OperationFailure

from shared.platform.settings import Settings
from shared.readmodel.document import Document

DUPLICATE_KEY = 11000
INDEX_NOT_FOUND = 27
T = TypeVar("T")


def connect(settings: Settings) -> tuple[AsyncMongoClient[Document], AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    return client, client[settings.mongodb_database]


async def drop_indexes(collection: AsyncCollection[Document], names: Iterable[str]) -> None:
    """Drop those of these indexes the collection has (ones no query uses any more: each costs
    every write to the collection, and on FerretDB a JSON expression per document)."""
    have = {index["name"] async for index in await collection.list_indexes()}
    for name in sorted(have & set(names)):
        try:
            await collection.drop_index(name)
        except OperationFailure as error:  # another instance starting dropped it first
            if error.code != INDEX_NOT_FOUND:
                raise


async def batched(items: AsyncIterable[T], size: int) -> AsyncIterator[list[T]]:
    """The items in lists of `size` (the last one shorter), as they stream."""
    batch: list[T] = []
    async for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def insert_new(collection: AsyncCollection[Document], docs: Sequence[Document]) -> set[str]:
    """Insert the documents in one unordered write; returns the `_id`s of those that were there
    already (the others are inserted all the same)."""
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as error:
        errors = error.details["writeErrors"]
        if any(e["code"] != DUPLICATE_KEY for e in errors):
            raise
        return {docs[e["index"]]["_id"] for e in errors}
    return set()
