"""Issue 23 item 2 on the real broker and database: no message stops the ones behind it.

Every topic the platform consumes gets bad records (nested deeper than any parser goes, larger
than the limits, in other encodings than UTF-8, of the wrong JSON types, empty, a tombstone;
hand-made ones and hypothesis's), each with the key of the valid message sent after them, so
they are before it in its partition. The valid message must be processed, and each bad record
kept on the rejected topic the contract names for it (for the operator's ticks and the
platform's own topics: dfdg.platform.rejected). The parties' topics are written with the
parties' own credentials, the platform's internal ones as the admin (nobody else may)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import akasse, exemption, ids, jobnet, status
from ops.replay import replay
from shared.cluster.access import writer_of
from shared.contract import topics
from shared.platform.kafka import client_options
from shared.readmodel import collections

pytestmark = pytest.mark.integration

Json = dict[str, Any]
Sent = tuple[int, int]  # partition, offset


def nested(depth: int, inner: bytes = b"1") -> bytes:
    return b'{"a": ' * depth + inner + b"}" * depth


def crafted(id_field: str, valid: Json) -> list[bytes | None]:
    """Hand-made poison for a topic whose messages carry their id in `id_field` and look like
    `valid` (a valid message of the topic, given other ids so it never counts as one)."""
    text = json.dumps(valid)
    other_ids = {**valid, id_field: ids()} if id_field in valid else valid
    return [
        b"[" * 100_000 + b"]" * 100_000,  # nested deeper than any parser reads
        nested(50_000),
        f'{{"{id_field}": '.encode() + b"[" * 50_000 + b"]" * 50_000 + b"}",
        json.dumps({**other_ids, "cpr": {"a": None}}).encode()[:-1] + b', "x": ' + nested(5000)
        + b"}",
        b'{"x": "' + b"a" * 2_000_000 + b'"}',  # 2 MB, over the 1 MB the contract allows
        json.dumps({id_field: "x" * 100_000}).encode(),
        json.dumps(other_ids).encode("utf-16"),  # another encoding
        json.dumps(other_ids).encode("utf-32"),
        b"\xef\xbb\xbf" + b'{"' + id_field.encode() + b'": "bom"}',
        text.replace('"', "'").encode(),
        b'{"' + id_field.encode() + b'": "\xff\xfe\xfd"}',  # not UTF-8
        '{"cpr": "æøå"}'.encode("latin-1"),
        b'{"' + id_field.encode() + b'": 1' + b"0" * 5000 + b"}",  # an int past Python's limit
        b'{"' + id_field.encode() + b'": NaN, "cpr": Infinity, "x": 1e999999}',
        b'{"' + id_field.encode() + b'": {"$gt": ""}, "cpr": {"$ne": null}}',
        b"\x00" * 64,
        b"", None,  # empty, a tombstone
        b"[]", b'"text"', b"null", b"true", b"12",
        text[: len(text) // 2].encode(),  # cut off
    ]  # fmt: skip


def generated(fields: list[str], count: int = 25) -> list[bytes]:
    """Hypothesis's bodies, the same every run: bytes, text in several encodings, JSON of any
    type, and the topic's own fields with values of the wrong types (never numbers or strings,
    which some field could read as a valid time)."""
    wrong = st.recursive(
        st.none() | st.booleans(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=12,
    )
    json_any = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner),
        max_leaves=20,
    )
    bodies = st.one_of(
        st.binary(max_size=300),
        st.tuples(st.text(max_size=80), st.sampled_from(["utf-16", "utf-32", "utf-7"])).map(
            lambda pair: pair[0].encode(pair[1])
        ),
        json_any.map(lambda value: json.dumps(value).encode()),
        st.fixed_dictionaries({name: wrong for name in fields}).map(
            lambda value: json.dumps(value).encode()
        ),
    )
    found: list[bytes] = []

    @settings(
        max_examples=count, database=None, derandomize=True, deadline=None,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(bodies)
    def collect(body: bytes) -> None:
        found.append(body)

    collect()
    return found[:count]


class Sender:
    """Records sent with offsets: as the party that writes the topic, or as the admin."""

    def __init__(self, platform: Any) -> None:
        self.platform = platform
        self.admin: AIOKafkaProducer | None = None

    async def send(self, topic: str, key: str, value: bytes | None) -> Sent:
        try:
            producer = await self.platform.front.parties.producer(writer_of(topic))
        except KeyError:  # an internal topic: only the platform's services (and the admin)
            if self.admin is None:
                self.admin = AIOKafkaProducer(
                    **client_options(self.platform.front.admin), acks="all",
                    max_request_size=8 * 1024 * 1024,
                )  # fmt: skip
                await self.admin.start()
            producer = self.admin
        sent = await producer.send_and_wait(topic, value, key=key.encode())
        return sent.partition, sent.offset

    async def all(self, topic: str, key: str, bodies: list[bytes | None]) -> list[Sent]:
        return [await self.send(topic, key, body) for body in bodies]

    async def stop(self) -> None:
        if self.admin is not None:
            await self.admin.stop()


async def all_kept(platform: Any, source: str, sent: list[Sent], timeout: float = 60) -> None:
    """Each bad record of `source` is on the rejected topic the contract names for it."""
    kept_on = topics.rejected_topic_for(source)

    def kept(record: Json, where: Sent) -> bool:
        return (
            record.get("sourceTopic") == source
            and (record.get("sourcePartition"), record.get("sourceOffset")) == where
        )

    for where in sent:
        [record, *_] = await platform.front.wait_for(
            kept_on, lambda m, w=where: kept(m, w), timeout=timeout
        )
        assert record["reason"] in ("malformed", "invalid_cpr", "field_invalid", "internal_error")


@pytest.fixture
async def sender(platform):
    sender = Sender(platform)
    yield sender
    await sender.stop()


async def test_a_poison_status_message_does_not_stop_the_next(platform, sender):
    cpr = await platform.new_member()
    good = status(cpr, platform.now.date() - timedelta(days=3), akasse_nr=None)
    fields = list(good)
    bad = await sender.all(topics.CITIZEN_STATUS, cpr, [*crafted("messageId", good),
                                                       *generated(fields)])  # fmt: skip
    await platform.front.send(topics.CITIZEN_STATUS, good)
    await platform.status_stored(good, timeout=60)
    await all_kept(platform, topics.CITIZEN_STATUS, bad)


async def test_a_poison_exemption_does_not_stop_the_next(platform, sender):
    cpr = await platform.new_member()
    good = exemption(cpr, platform.now.date())
    source = topics.jobcenter_exemption("101")
    bad = await sender.all(source, cpr, [*crafted("messageId", good), *generated(list(good))])
    await platform.front.send(source, good)
    await _stored(platform, collections.EXEMPTION_MESSAGES, good["messageId"])
    await all_kept(platform, source, bad)


@pytest.mark.parametrize("front_end", ["jobnet", "akasse"])
async def test_a_poison_joblog_change_does_not_stop_the_next(platform, sender, front_end):
    cpr, log_id = await platform.new_member(), ids()
    if front_end == "jobnet":
        source, good, id_field = (
            topics.JOBNET_INBOUND,
            jobnet("opret", cpr, log_id, platform.now),
            "beskedId",
        )
    else:
        source, id_field = topics.akasse_inbound("067"), "eventId"
        good = akasse("JOBLOG_CREATED", cpr, log_id, platform.now)
    bad = await sender.all(source, cpr, [*crafted(id_field, good), *generated(list(good))])
    await platform.front.send(source, good)
    await _published(platform, log_id)
    await all_kept(platform, source, bad)


async def test_a_poison_tick_does_not_stop_the_next(platform, sender):
    bad = await sender.all(
        topics.TIMERS, "clock", [*crafted("now", {"now": "x"}), *generated(["now"])]
    )
    await platform.advance(seconds=1)  # waits until the notifier fired this tick
    await all_kept(platform, topics.TIMERS, bad)


async def test_poison_on_the_internal_topics_does_not_stop_the_next(platform, sender):
    """dfdg.joblog.commands (storage), dfdg.joblog.changes (both adapters) and
    dfdg.citizen.changes (the notifier): a valid change from Jobnet behind the bad records of
    each goes out to both front ends, and a status message behind them moves the citizen's
    timer (a joblog activity alone does not: it never brings the due time forward)."""
    cpr, log_id = await platform.new_member(), ids()
    timer = await _timer(platform, cpr)
    sent: dict[str, list[Sent]] = {}
    for source, fields in (
        (topics.JOBLOG_COMMANDS, ["beskedId", "handling", "joblogId", "cpr", "kilde", "raa"]),
        (topics.JOBLOG_CHANGES, ["handling", "entry", "akasseNr", "snapshot"]),
        (topics.CITIZEN_CHANGES, ["cpr", "aarsag", "tidspunkt"]),
    ):
        sent[source] = await sender.all(
            source, cpr, [*crafted("beskedId", {"cpr": cpr}), *generated(fields, 15)]
        )
    await platform.front.send(topics.JOBNET_INBOUND, jobnet("opret", cpr, log_id, platform.now))
    await _published(platform, log_id)
    no_duty = status(cpr, platform.now.date() - timedelta(days=1), maalgruppe="ingen")
    await platform.front.send(topics.CITIZEN_STATUS, no_duty)
    await _moved(platform, cpr, timer)
    for source, bad in sent.items():
        await all_kept(platform, source, bad)
    # where `joblog replay` finds them (a dry run: sending them again would only refuse again)
    found = await replay(platform.settings, topics.PLATFORM_REJECTED, "internal_error", None, True)
    assert found.found >= sum(map(len, sent.values()))


# -- waiting ----------------------------------------------------------------------------------


async def _stored(platform: Any, collection: str, message_id: str, timeout: float = 60) -> None:
    await _until(
        lambda: platform.db[collection].find_one({"_id": message_id}),
        f"{message_id} stored",
        timeout,
    )


async def _published(platform: Any, log_id: str) -> None:
    """The joblog went out to Jobnet and to the citizen's a-kasse."""
    front = platform.front
    await front.wait_for(topics.JOBNET_OUTBOUND, lambda m: m.get("joblogId") == log_id, timeout=60)
    await front.wait_for(
        topics.akasse_outbound("067"), lambda m: m.get("logId") == log_id, timeout=60
    )


async def _timer(platform: Any, cpr: str) -> Json:
    await _until(lambda: platform.db.timers.find_one({"_id": cpr}), "the timer", 60)
    found: Json = await platform.db.timers.find_one({"_id": cpr})
    return found


async def _moved(platform: Any, cpr: str, before: Json) -> None:
    async def moved() -> bool:
        now = await platform.db.timers.find_one({"_id": cpr})
        return now is not None and now.get("due") != before.get("due")

    await _until(moved, "the notifier recomputed the timer", 60)


async def _until(check: Callable[[], Any], what: str, timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"not in time: {what}"
        await asyncio.sleep(0.1)
