"""Party isolation on the real broker: each party, with its own real credentials, gets exactly
what the contract grants and nothing else; forgeries of another party's messages fail."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka import KafkaError as KafkaErrorCode

from harness import akasse, application, exemption, ids, jobnet, new_cpr, status
from shared.cluster.access import ADMIN
from shared.cluster.credentials import as_principal, load
from shared.cluster.provisioning import admin_config
from shared.contract import topics
from shared.platform.kafka import client_options
from shared.readmodel.facts import FactsReader

pytestmark = pytest.mark.integration

REFUSED = (TopicAuthorizationFailedError, GroupAuthorizationFailedError)


async def can_write(platform, principal: str, topic: str) -> bool:
    producer = AIOKafkaProducer(
        **client_options(as_principal(platform.settings, principal)), request_timeout_ms=5000
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"probe": true}', key=b"0101901234")
        return True
    except REFUSED:
        return False
    finally:
        await producer.stop()


async def can_read(platform, principal: str, topic: str, group: str | None = None) -> bool:
    """Whether `principal` can fetch the records of `topic` (which holds some): True when it
    fetched records, False only when the broker answered with an authorization error (for the
    topic's metadata, a fetch, or the consumer group). Neither (nothing fetched, nothing refused:
    a timeout) fails the test, so a refusal is proven, not presumed from silence."""
    settings = as_principal(platform.settings, principal)
    return await asyncio.to_thread(_fetches, settings, topic, group)


def _fetches(settings, topic: str, group: str | None) -> bool:
    refusals = {KafkaErrorCode.TOPIC_AUTHORIZATION_FAILED}
    if group is not None:  # a probe without a group of its own may be refused a group: ignored
        refusals.add(KafkaErrorCode.GROUP_AUTHORIZATION_FAILED)
    consumer = Consumer(
        admin_config(settings)
        | {
            "group.id": group or f"probe-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        described = consumer.list_topics(topic, timeout=10).topics[topic]
        if described.error is not None and described.error.code() in refusals:
            return False
        assert described.error is None, f"{topic}: {described.error}"
        if group is None:
            consumer.assign(
                [TopicPartition(topic, p, OFFSET_BEGINNING) for p in described.partitions]
            )
        else:
            consumer.subscribe([topic])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            record = consumer.poll(0.5)
            if record is None:
                continue
            if (error := record.error()) is None:
                return True
            if error.code() in refusals:
                return False
        raise AssertionError(
            f"{settings.kafka_sasl_username} on {topic}: neither records nor a refusal"
        )
    finally:
        consumer.close()


async def has_records(platform, topic: str) -> None:
    """A positive control: the admin sees records there, so a refusal is the ACL's doing."""
    assert await can_read(platform, ADMIN, topic), f"{topic} is empty: the check proves nothing"


@pytest.fixture(scope="module")
async def traffic(platform):
    """Records on the topics the parties will try: 096 and 067 joblogs, notices for 101."""
    await platform.front.register("096", True)
    for nr in ("067", "096"):
        cpr = await platform.new_member(nr)
        log_id = ids()
        await platform.front.send(
            topics.akasse_inbound(nr),
            akasse("JOBLOG_CREATED", cpr, log_id, platform.now, akasse_nr=nr),
        )
        await platform.front.wait_for(
            topics.akasse_outbound(nr), lambda m, i=log_id: m.get("logId") == i
        )
    advised = await platform.new_member("067")
    await platform.advance(days=31)
    await platform.front.wait_for(topics.NOTICES_BORGER, lambda m: m["cpr"] == advised)
    await platform.front.wait_for(topics.jobcenter_notices("101"), lambda m: m["cpr"] == advised)
    return advised


async def test_a_client_without_valid_credentials_is_refused(platform):
    plain = dict(bootstrap_servers=platform.settings.kafka_bootstrap_servers)
    producer = AIOKafkaProducer(**plain, request_timeout_ms=3000)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(producer.start(), 15)
    await producer.stop()
    wrong = client_options(as_principal(platform.settings, "jobnet")) | {
        "sasl_plain_password": "not-the-password"
    }
    producer = AIOKafkaProducer(**wrong, request_timeout_ms=3000)
    with pytest.raises((KafkaError, KafkaConnectionError)):
        await asyncio.wait_for(producer.start(), 15)
    await producer.stop()


async def test_an_akasse_reads_only_its_own(platform, traffic):
    forbidden = (
        topics.akasse_outbound("096"), topics.akasse_inbound("096"), topics.JOBNET_OUTBOUND,
        topics.NOTICES_BORGER, topics.jobcenter_notices("101"), topics.JOBLOG_CHANGES,
        topics.JOBLOG_COMMANDS,
    )  # fmt: skip
    await asyncio.gather(*(has_records(platform, topic) for topic in forbidden))
    reads = await asyncio.gather(*(can_read(platform, "akasse-067", t) for t in forbidden))
    assert not any(reads), dict(zip(forbidden, reads, strict=True))
    assert await can_read(platform, "akasse-067", topics.akasse_outbound("067"))
    assert await can_read(platform, "akasse-096", topics.akasse_outbound("096"))


async def test_an_akasse_writes_only_its_own_inbound(platform, traffic):
    forbidden = (
        topics.akasse_inbound("096"), topics.CITIZEN_STATUS, topics.JOBLOG_COMMANDS,
        topics.TIMERS, topics.AKASSE_REGISTER, topics.JOBNET_INBOUND,
        topics.jobcenter_exemption("101"), topics.akasse_outbound("067"),
    )  # fmt: skip
    writes = await asyncio.gather(*(can_write(platform, "akasse-067", t) for t in forbidden))
    assert not any(writes), dict(zip(forbidden, writes, strict=True))
    assert await can_write(platform, "akasse-067", topics.akasse_inbound("067"))


async def test_a_jobcenter_reads_only_its_own_notices(platform, traffic):
    await has_records(platform, topics.jobcenter_notices("101"))
    notices_101 = topics.jobcenter_notices("101")
    tries = {  # (principal, topic, consumer group): may it read?
        ("jobcenter-147", notices_101, None): False,
        ("jobcenter-147", topics.NOTICES_BORGER, None): False,
        # a consumer group named after 101 gives nothing either
        ("jobcenter-147", notices_101, "jobcenter-101-stolen"): False,
        ("digital-post", notices_101, None): False,
        ("jobcenter-101", notices_101, None): True,
        ("jobcenter-101", notices_101, "jobcenter-101-x"): True,
        ("digital-post", topics.NOTICES_BORGER, None): True,
    }
    reads = await asyncio.gather(*(can_read(platform, *attempt) for attempt in tries))
    assert dict(zip(tries, reads, strict=True)) == tries


async def test_only_the_status_feed_and_the_operator_write_theirs(platform):
    tries = [
        *(
            (party, topic)
            for party in ("jobnet", "jobcenter-101", "digital-post", "akasse-067")
            for topic in (topics.CITIZEN_STATUS, topics.TIMERS, topics.AKASSE_REGISTER)
        ),
        ("status-feed", topics.TIMERS),
        ("operator", topics.CITIZEN_STATUS),
    ]
    writes = await asyncio.gather(*(can_write(platform, p, t) for p, t in tries))
    assert not any(writes), dict(zip(tries, writes, strict=True))


async def test_a_forged_internal_command_is_checked_by_storage(platform):
    """Defence in depth: even a record on the internal topic (here written by the admin, as a
    broken adapter might) is held to every field rule before it is stored."""
    cpr = await platform.new_member()
    log_id = ids()
    message = jobnet("opret", cpr, log_id, platform.now)
    message["joblog"] |= {"soegtDato": "2099-12-31", "link": "javascript:alert(1)"}
    command = {
        "beskedId": message["beskedId"], "kilde": "jobnet", "handling": "opret",
        "joblogId": log_id, "cpr": cpr, "tidspunkt": message["tidspunkt"],
        "joblog": message["joblog"], "modtaget": platform.now.isoformat(),
        "raa": json.dumps(message),
    }  # fmt: skip
    admin = AIOKafkaProducer(**client_options(as_principal(platform.settings, ADMIN)))
    await admin.start()
    try:
        await admin.send_and_wait(
            topics.JOBLOG_COMMANDS, json.dumps(command).encode(), key=cpr.encode()
        )
    finally:
        await admin.stop()
    [refused] = await platform.front.wait_for(
        topics.JOBNET_REJECTED, lambda m: m.get("id") == message["beskedId"]
    )
    assert refused["reason"] == "field_invalid"
    assert await platform.db.joblogs.find_one({"_id": log_id}) is None


async def test_a_joblog_is_changed_only_under_its_own_citizen(platform):
    """An a-kasse names one of its own members and another citizen's joblog (and Jobnet does the
    same by mistake): each change is refused exactly as one of an unknown id, on the party's own
    rejected topic, and the other citizen's joblog, history and activity stay as they were."""
    front = platform.front
    victim, member = await platform.new_member("068"), await platform.new_member("067")
    theirs = ids()
    await front.send(topics.JOBNET_INBOUND, jobnet("opret", victim, theirs, platform.now))
    await front.wait_for(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == theirs)
    await platform.settle()
    before = await FactsReader(platform.db).document(victim)
    tries = [
        (topics.akasse_inbound("067"), topics.akasse_rejected("067"), "eventId", "logId",
         akasse("JOBLOG_UPDATED", member, theirs, platform.now, 1)),
        (topics.akasse_inbound("067"), topics.akasse_rejected("067"), "eventId", "logId",
         akasse("JOBLOG_DELETED", member, theirs, platform.now, 1)),
        (topics.JOBNET_INBOUND, topics.JOBNET_REJECTED, "beskedId", "joblogId",
         jobnet("ret", member, theirs, platform.now, 2, application(status="samtale"))),
        (topics.JOBNET_INBOUND, topics.JOBNET_REJECTED, "beskedId", "joblogId",
         jobnet("slet", member, theirs, platform.now, 1)),
    ]  # fmt: skip
    for inbound, _, _, _, message in tries:  # the a-kasse's with akasse-067's credentials
        await front.send(inbound, message)
    for inbound, rejected, id_field, log_field, message in tries:
        [refused] = await front.wait_for(rejected, lambda m, i=message[id_field]: m.get("id") == i)
        unknown = {**message, id_field: ids(), log_field: ids()}  # an id nobody has
        await front.send(inbound, unknown)
        [control] = await front.wait_for(rejected, lambda m, i=unknown[id_field]: m.get("id") == i)
        assert (refused["reason"], refused["field"]) == ("unknown_joblog", log_field)
        assert refused["message"] == control["message"].replace(unknown[log_field], theirs)
        assert victim not in json.dumps(refused) and "version" not in refused["message"]
    await platform.settle()
    await front.caught_up()
    stored = await platform.db.joblogs.find_one({"_id": theirs})
    assert (stored["cpr"], stored["version"], stored["slettet"], stored["kilde"]) == (
        victim, 1, False, "jobnet",
    )  # fmt: skip
    assert await platform.db.joblog_history.count_documents({"joblogId": theirs}) == 1
    after = await FactsReader(platform.db).document(victim)
    assert after == before, "the other citizen's activity (his 30-day clock) was changed"
    assert theirs not in await FactsReader(platform.db).joblog_ids(member)
    assert not front.matching(
        topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == theirs and m["version"] > 1
    )
    assert not front.matching(topics.akasse_outbound("067"), lambda m: m.get("logId") == theirs)


async def test_an_exemption_binds_its_jobcenter(platform):
    cpr = new_cpr()
    day = platform.now.date() - timedelta(days=1)
    message = status(cpr, day, jobcenter="101", akasse_nr=None)
    await platform.front.send(topics.CITIZEN_STATUS, message)
    await platform.status_stored(message)
    not_its_own = exemption(cpr, day, jobcenter="101")
    await platform.front.send(topics.jobcenter_exemption("147"), not_its_own)
    not_its_citizen = exemption(cpr, day, jobcenter="147")
    await platform.front.send(topics.jobcenter_exemption("147"), not_its_citizen)
    for sent, field in ((not_its_own, "jobcenter"), (not_its_citizen, "cpr")):
        [refused] = await platform.front.wait_for(
            topics.jobcenter_rejected("147"), lambda m, s=sent: m.get("id") == s["messageId"]
        )
        assert (refused["reason"], refused["field"]) == ("jobcenter_mismatch", field)
    own = exemption(cpr, day, jobcenter="101")
    await platform.front.send(topics.jobcenter_exemption("101"), own)
    await platform.settle()
    await platform.front.caught_up()
    assert not platform.front.matching(
        topics.jobcenter_rejected("101"), lambda m: m.get("id") == own["messageId"]
    )


async def test_a_new_akasse_is_provisioned_within_10_seconds(platform):
    """The register names an a-kasse the cluster has never seen: the provisioner service makes
    its topics, principal and ACLs, and the adapter follows its inbound topic by pattern."""
    parties = platform.settings.kafka_credentials_file
    known = set(load(parties))
    nr = next(f"{n:03d}" for n in range(123, 1000) if f"akasse-{n:03d}" not in known)
    named = time.monotonic()
    await platform.front.publish_register(nr, True)
    while f"akasse-{nr}" not in load(parties):
        assert time.monotonic() - named < 10, "no principal within 10 s"
        await asyncio.sleep(0.2)
    cpr = await platform.new_member(nr)
    message = akasse("JOBLOG_CREATED", cpr, ids(), platform.now, akasse_nr=nr)
    while not await can_write(platform, f"akasse-{nr}", topics.akasse_inbound(nr)):
        assert time.monotonic() - named < 10, "cannot write its inbound within 10 s"
        await asyncio.sleep(0.2)
    provisioned = time.monotonic() - named
    await platform.front.watch([topics.akasse_outbound(nr)])
    await platform.front.send(topics.akasse_inbound(nr), message)
    await platform.front.wait_for(
        topics.akasse_outbound(nr), lambda m: m.get("logId") == message["logId"], timeout=20
    )
    assert not await can_read(platform, f"akasse-{nr}", topics.akasse_outbound("067"))
    print(f"a-kasse {nr} provisioned {provisioned:.1f} s after the register named it")
