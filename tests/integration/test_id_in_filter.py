"""A filter of `_id` `$in` a list answers as MongoDB answers it, also by the local FerretDB with
its patch 0007 (such a filter of strings alone matched by a set lookup): exactly the documents
whose `_id` is one of the strings, none whose `_id` is another type, and every other form of
filter (another condition beside it, a non-string in the list, `$nin`) as before."""

from __future__ import annotations

import pytest
from bson import ObjectId

pytestmark = pytest.mark.integration

OID = ObjectId("0123456789abcdef01234567")


async def test_id_in_a_list_finds_exactly_its_documents(platform):
    collection = platform.db["id_in_filter"]
    await collection.insert_many(
        [{"_id": f"k{i}", "n": i} for i in range(600)]
        + [{"_id": OID, "n": -1}, {"_id": 7, "n": -2}, {"_id": "7", "n": -3}]
    )

    async def ids(query: dict) -> list:
        return sorted([d["_id"] async for d in collection.find(query, {"_id": 1})], key=str)

    wanted = [f"k{i}" for i in range(0, 600, 3)] + ["k9999", "7"]
    assert await ids({"_id": {"$in": wanted}}) == sorted([*wanted[:-2], "7"], key=str)
    assert await ids({"_id": {"$in": ["k1", "k1", "k2"]}}) == ["k1", "k2"]
    assert await ids({"_id": {"$in": ["k1", OID, 7]}}) == [OID, 7, "k1"]
    assert await ids({"_id": {"$in": ["k1", "k2", "k3"]}, "n": {"$gte": 2}}) == ["k2", "k3"]
    assert await ids({"_id": {"$in": ["k1", "k2"], "$nin": ["k2"]}}) == ["k1"]
    assert await collection.count_documents({"_id": {"$in": wanted}}) == len(wanted) - 1
