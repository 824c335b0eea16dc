"""Storage and the notifier drop at start the secondary indexes earlier versions made (no query
uses them; each cost every insert), and leave every other index, and the `_id` one, alone."""

from __future__ import annotations

import pytest
from pymongo import ASCENDING, DESCENDING

from services.notifier.store import NotifierStore
from services.storage.repository import Repository
from shared.platform.db import drop_indexes
from shared.readmodel import collections

pytestmark = pytest.mark.integration


async def names(collection) -> set[str]:
    return {index["name"] async for index in await collection.list_indexes()}


async def test_the_old_indexes_are_dropped_and_others_kept(platform):
    db = platform.db
    history = db[collections.JOBLOG_HISTORY]
    await history.create_index([("joblogId", ASCENDING), ("version", DESCENDING)])
    await history.create_index([("cpr", ASCENDING), ("accepteret", DESCENDING)])
    await history.create_index([("beskedId", ASCENDING)])  # not ours to drop
    await db[collections.JOBLOGS].create_index([("cpr", ASCENDING)])
    await db[collections.NOTICES].create_index([("published", ASCENDING)])

    for _ in range(2):  # a second start finds nothing to drop
        await Repository(db).drop_unused_indexes()
        await NotifierStore(db).drop_unused_indexes()

    assert await names(history) == {"_id_", "beskedId_1"}
    assert await names(db[collections.JOBLOGS]) == {"_id_"}
    assert await names(db[collections.NOTICES]) == {"_id_"}


class OtherInstanceDropsFirst:
    """The real collection, but the other instance drops the index between our list and drop."""

    def __init__(self, collection) -> None:
        self.collection = collection

    async def list_indexes(self):
        listed = await self.collection.list_indexes()
        await self.collection.drop_index("cpr_1")
        return listed

    async def drop_index(self, name: str) -> None:
        await self.collection.drop_index(name)


async def test_an_index_another_instance_dropped_first_is_no_error(platform):
    joblogs = platform.db[collections.JOBLOGS]
    await joblogs.create_index([("cpr", ASCENDING)])
    await drop_indexes(OtherInstanceDropsFirst(joblogs), ["cpr_1"])  # type: ignore[arg-type]
    assert await names(joblogs) == {"_id_"}
