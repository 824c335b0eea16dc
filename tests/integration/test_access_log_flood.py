"""Issue 23 item 7 over real HTTP on the real database: the access log cannot be flooded. A
refusal without a holder (no token, an unknown one, a refused JWT) is counted in the API's
metrics and sampled in bounded space, filed under no citizen, whatever cpr the path names; an
authenticated party's refusal stays in the citizen's log as before."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

import harness
from services.jobcenter_api import access_log
from tests.harness import ApiServer

pytestmark = pytest.mark.integration

CAP = 20


@pytest.fixture
async def api(infra_env: dict[str, str], monkeypatch) -> AsyncIterator[tuple[ApiServer, Any]]:
    monkeypatch.setattr(access_log, "ANONYMOUS_CAP", CAP, raising=False)
    settings = harness.test_settings(infra_env)
    server = ApiServer(settings)
    mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url)
    await server.start()
    try:
        yield server, mongo[settings.mongodb_database]
    finally:
        await server.stop()
        await mongo.drop_database(settings.mongodb_database)
        await mongo.close()


async def test_anonymous_refusals_are_counted_and_sampled_not_filed_under_a_citizen(api):
    server, db = api
    cpr = harness.new_cpr()
    paths = [f"/v1/citizens/{cpr}/access-log", f"/v1/citizens/{cpr}/joblogs", "/v1/nothing"]
    started = time.time()
    sent = 0
    for bearer in (None, "bogus", "a.b.c"):
        async with server.client(bearer) as client:
            for _ in range(25):
                for path in paths:
                    response = await client.get(path, params={"pad": "x" * 1000})
                    assert response.status_code in (401, 404), response.text
                    sent += 1
    windows = int(time.time() // 60) - int(started // 60) + 1

    assert await db.access_log.count_documents({"cpr": cpr}) == 0  # not his access log
    sampled = await db.access_log.find({"hvem": "ukendt"}).to_list()
    assert 0 < len(sampled) <= CAP * windows  # bounded, whatever was sent
    assert all(e["hvad"] == "afvist" and e["cpr"] is None for e in sampled)
    assert await db.access_log.count_documents({}) == len(sampled)
    async with server.client(None) as client:
        metrics = (await client.get("/metrics")).text
    counted = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("dfdg_api_refused_unauthenticated_total{")
    ]
    assert sum(counted) == sent


async def test_an_authenticated_refusal_stays_in_the_citizens_access_log(api):
    server, _ = api
    cpr = harness.new_cpr()
    async with server.client("jobnet") as client:  # a front end may not read access logs
        assert (await client.get(f"/v1/citizens/{cpr}/access-log")).status_code == 403
    async with server.client(None) as client:
        assert (await client.get(f"/v1/citizens/{cpr}/access-log")).status_code == 401
    async with server.client("revisor") as client:
        response = await client.get(f"/v1/citizens/{cpr}/access-log")
    assert response.status_code == 200
    assert [(e["hvem"], e["hvad"], e["status"]) for e in response.json()] == [
        ("frontend:jobnet", "afvist", 403)
    ]
