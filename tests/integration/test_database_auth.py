"""The database is the platform's services' alone: a client needs the user and password.

The first test asks the suite's database (the local FerretDB of the `test` profile, or the one
of MONGODB_URL); the second starts a FerretDB of its own through the launcher, to check how the
password is made, kept and renewed."""

from __future__ import annotations

import shutil
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from pymongo import AsyncMongoClient, MongoClient
from pymongo.errors import OperationFailure

from harness import free_port
from infra import ferretdb, local
from infra.processes import InfraError
from shared.cluster import credentials

UNAUTHORIZED, AUTHENTICATION_FAILED = 13, 18


def _with_userinfo(url: str, userinfo: str | None) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}" if userinfo else host))


async def _find(url: str, database: str) -> dict | None:
    client: AsyncMongoClient[dict] = AsyncMongoClient(url, serverSelectionTimeoutMS=5_000)
    try:
        return await client[database].probe.find_one({"_id": "probe"})
    finally:
        await client.close()


async def test_database_refuses_clients_without_the_password(infra_env: dict[str, str]) -> None:
    url = infra_env["MONGODB_URL"]
    parts = urlsplit(url)
    if parts.password is None:
        pytest.skip("the database of MONGODB_URL is used without a user and password")
    database = f"dfdg_test_{uuid.uuid4().hex[:8]}"  # any database, as the tests' own

    with pytest.raises(OperationFailure) as anonymous:
        await _find(_with_userinfo(url, None), database)
    assert anonymous.value.code == UNAUTHORIZED, anonymous.value.details

    with pytest.raises(OperationFailure) as wrong:
        await _find(_with_userinfo(url, f"{parts.username}:not-the-password"), database)
    assert wrong.value.code == AUTHENTICATION_FAILED, wrong.value.details

    client: AsyncMongoClient[dict] = AsyncMongoClient(url, serverSelectionTimeoutMS=5_000)
    try:
        await client[database].probe.insert_one({"_id": "probe", "n": 1})
        assert await client[database].probe.find_one({"_id": "probe"}) == {"_id": "probe", "n": 1}
    finally:
        await client.drop_database(database)
        await client.close()


def _works(url: str) -> bool:
    client: MongoClient[dict] = MongoClient(url, serverSelectionTimeoutMS=5_000)
    try:
        client.dfdg_kept.probe.find_one({})
        return True
    except OperationFailure as error:
        assert error.code == AUTHENTICATION_FAILED, error.details
        return False
    finally:
        client.close()


def test_launcher_makes_keeps_and_renews_the_password() -> None:
    try:
        ferretdb.binary()
    except InfraError as error:
        pytest.skip(f"no FerretDB binary: {error}")
    profile = local.Profile(f"authcheck-{uuid.uuid4().hex[:8]}", 0, 0, free_port())
    try:
        url = local.start_ferretdb(profile)
        password = credentials.load(profile.platform_credentials)[local.MONGODB_CREDENTIAL]
        assert urlsplit(url).username == "dfdg" and urlsplit(url).password == password
        client: MongoClient[dict] = MongoClient(url)
        client.dfdg_kept.probe.insert_one({"_id": "kept"})
        client.close()

        local.down(profile)  # a restart keeps the password (the user is in the data)
        assert local.start_ferretdb(profile) == url and _works(url)

        stored = credentials.load(profile.platform_credentials)  # the password lost:
        del stored[local.MONGODB_CREDENTIAL]
        credentials.save(profile.platform_credentials, stored)
        renewed = local.start_ferretdb(profile)  # a new one, and a new user
        assert renewed != url and _works(renewed) and not _works(url)
        client = MongoClient(renewed)
        assert client.dfdg_kept.probe.find_one() == {"_id": "kept"}  # the data stays
        client.close()

        log = (profile.run_dir / "logs" / "ferretdb.out").read_text()
        assert password not in log and urlsplit(renewed).password not in log
    finally:
        local.down(profile)
        shutil.rmtree(profile.run_dir, ignore_errors=True)
