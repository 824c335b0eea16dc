"""MongoDB access through PyMongo's async API (AsyncMongoClient).

Written for what both MongoDB and FerretDB 1.24 offer: no transactions, change streams or TTL
indexes; $group only with $sum/$count. Unique and compound indexes, upserts, find_one_and_update
and bulk writes carry the consistency instead.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.settings import Settings

Document = dict[str, Any]


def connect(settings: Settings) -> tuple[AsyncMongoClient[Document], AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        settings.mongodb_url, tz_aware=True, serverSelectionTimeoutMS=10_000
    )
    return client, client[settings.mongodb_database]
