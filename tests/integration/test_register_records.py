"""Register records validated on the real broker: records the operator publishes with its real
credentials on dfdg.akasse.register that name no a-kasse by three ASCII digits (in key and value
alike) provision nothing (no principal `akasse-` / `akasse-06` with a group ACL matching other
a-kasser's groups, no topics), are not taken by the services' registers, and do not stop the
good record behind them."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from confluent_kafka.admin import (
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal, load
from shared.cluster.provisioning import admin_config
from shared.contract import topics

pytestmark = pytest.mark.integration


def runtime_of(platform, name: str):
    [runtime] = [s for s in platform.services if s.runtime.name == name]
    return runtime


def value(nr: str) -> bytes:
    return json.dumps({"akasseNr": nr, "navn": f"A-kasse {nr!r}", "tilbyderJoblog": True}).encode()


def acls_of(platform, principal: str) -> list[object]:
    admin = AdminClient(admin_config(as_principal(platform.settings, ADMIN)))
    wanted = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, f"User:{principal}", None,
        AclOperation.ANY, AclPermissionType.ANY,
    )  # fmt: skip
    return list(admin.describe_acls(wanted, request_timeout=30).result(timeout=30))


async def test_bad_register_records_are_not_provisioned_nor_taken(platform):
    rng = random.Random()
    good = f"{rng.randrange(100, 1000):03d}"
    while good in ("067", "099"):
        good = f"{rng.randrange(100, 1000):03d}"
    four, two = f"{rng.randrange(10_000):04d}", f"{rng.randrange(100):02d}"
    fresh = [four, f"{two}a"]  # (never provisioned by an earlier run, even one without the fix)
    bad = [
        (b"", value("")),
        (b"06", value("06")),
        (four.encode(), value(four)),
        (f"{two}a".encode(), value(f"{two}a")),
        ("٠٦٧".encode(), value("٠٦٧")),
        (good.encode(), value(two)),  # key and value disagree
        (two.encode(), value(good)),
    ]  # (a record without a key the broker itself refuses on the compacted topic)
    for key, body in bad:  # as the operator, with its credentials
        await platform.front.parties.send_and_wait(topics.AKASSE_REGISTER, key, body)
    await platform.front.parties.send_and_wait(topics.AKASSE_REGISTER, good.encode(), value(good))

    provisioned = runtime_of(platform, "provisioner").ports
    deadline = asyncio.get_running_loop().time() + 60
    while good not in provisioned.done:  # the good record behind the bad ones
        assert asyncio.get_running_loop().time() < deadline, "the good record was not provisioned"
        await asyncio.sleep(0.1)
    assert provisioned.done.isdisjoint({"", "06", four, f"{two}a", "٠٦٧", two})
    parties = load(platform.settings.kafka_credentials_file)
    assert f"akasse-{good}" in parties
    for nr in fresh:
        assert f"akasse-{nr}" not in parties
        assert acls_of(platform, f"akasse-{nr}") == []
    assert acls_of(platform, f"akasse-{good}") != []
    existing = await asyncio.to_thread(
        lambda: (
            AdminClient(admin_config(as_principal(platform.settings, ADMIN)))
            .list_topics(timeout=30)
            .topics
        )
    )
    assert topics.akasse_inbound(good) in existing
    assert not any(topics.akasse_inbound(nr) in existing for nr in fresh)

    await platform.settle()
    for name in ("storage", "akasse-adapter"):
        runtime = runtime_of(platform, name)
        register = runtime.ports.register if name == "storage" else None
        if register is None:
            continue
        numbers = {entry.akasseNr for entry in register.entries()}
        assert good in numbers and numbers.isdisjoint({"", "06", four, f"{two}a", "٠٦٧"})
        assert register.get(good).navn == f"A-kasse {good!r}"  # not the mismatching value's

    # the a-kasse adapter follows the new a-kasse's inbound topic by pattern: wait until its
    # consumer group has taken it (the rebalance done), so that no test after this one has its
    # batch's commit refused by a rebalance and the batch delivered again (at-least-once)
    await adapter_follows(platform, topics.akasse_inbound(good))


async def adapter_follows(platform, topic: str, timeout: float = 60) -> None:
    adapter = runtime_of(platform, "akasse-adapter").runtime
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        consumers = [getattr(s, "consumer", None) for s in adapter.broker.subscribers]
        assigned = {tp.topic for c in consumers if c is not None for tp in c.assignment()}
        if topic in assigned:
            return
        assert asyncio.get_running_loop().time() < deadline, f"{topic} not followed"
        await asyncio.sleep(0.2)
