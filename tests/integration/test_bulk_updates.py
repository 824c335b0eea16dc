"""A bulk of updates is applied as MongoDB applies it, also by the local FerretDB with its patch
0005 (the documents a command's updates changed written in one transaction at its end): a
document updated twice in one bulk has both updates, an upsert of a new document and a later
update of it both, the same `$addToSet` twice one entry, an update by another field sees what the
earlier updates wrote, and one whose filter no longer matches changes nothing."""

from __future__ import annotations

import pytest
from pymongo import ReplaceOne, UpdateOne

pytestmark = pytest.mark.integration


async def test_a_bulk_of_updates_applies_each_as_if_alone(platform):
    collection = platform.db["bulk_updates"]
    await collection.insert_many([{"_id": f"k{i}", "n": 0, "tags": []} for i in range(4)])
    result = await collection.bulk_write(
        [
            UpdateOne({"_id": "k0"}, {"$inc": {"n": 1}}),
            UpdateOne({"_id": "k1"}, {"$inc": {"n": 1}}),
            UpdateOne({"_id": "k0"}, {"$inc": {"n": 1}}),  # the same document again
            UpdateOne({"_id": "new"}, {"$inc": {"n": 1}}, upsert=True),
            UpdateOne({"_id": "new"}, {"$inc": {"n": 5}}, upsert=True),
            UpdateOne({"_id": "k2"}, {"$addToSet": {"tags": "a"}}),
            UpdateOne({"_id": "k2"}, {"$addToSet": {"tags": "a"}}),
            UpdateOne({"_id": "k2"}, {"$addToSet": {"tags": "b"}}),
            UpdateOne({"n": 2}, {"$set": {"seen": True}}),  # not by _id: k0, as updated above
            ReplaceOne({"_id": "k3", "n": {"$lt": 1}}, {"n": 9}),
            ReplaceOne({"_id": "k3", "n": {"$lt": 1}}, {"n": 10}),  # k3 is 9 now: no match
        ],
        ordered=False,
    )
    assert (result.matched_count, result.upserted_count) == (9, 1)
    docs = {doc["_id"]: doc async for doc in collection.find({})}
    assert docs == {
        "k0": {"_id": "k0", "n": 2, "tags": [], "seen": True},
        "k1": {"_id": "k1", "n": 1, "tags": []},
        "k2": {"_id": "k2", "n": 0, "tags": ["a", "b"]},
        "k3": {"_id": "k3", "n": 9},
        "new": {"_id": "new", "n": 6},
    }
