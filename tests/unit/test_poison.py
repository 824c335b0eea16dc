"""Issue 23 item 2, without Kafka: a body nested too deeply for the parsers breaks neither a
handler's refusal nor its fallback, and what cannot be read or translated is kept on
dfdg.platform.rejected (where `joblog replay` finds it), not dropped with a log line."""

from __future__ import annotations

import pytest

from services.storage import citizens, handlers
from shared.contract import topics
from shared.contract.inbound import Inbound
from shared.contract.rejections import Reason
from shared.frontends import handlers as frontend
from shared.platform.akasse_register import AkasseRegister
from shared.platform.ports import keep_unexpected
from tests.fakes import FakeOutbox
from tests.unit.test_storage_handlers import world

DEEP = b"[" * 100_000 + b"]" * 100_000
DEEP_ID = b'{"messageId": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001


@pytest.mark.parametrize("body", [DEEP, DEEP_ID, b'{"messageId": {"$gt": ""}}', b"\xff", b""])
def test_a_message_id_is_read_from_any_body_or_none(body):
    assert citizens.message_id(body) is None


@pytest.mark.parametrize("source", [topics.CITIZEN_STATUS, topics.jobcenter_exemption("101")])
async def test_a_deeply_nested_citizen_message_is_refused(source):
    w = world()
    inbound = Inbound(source, 0, 7, "k", DEEP)
    status = source == topics.CITIZEN_STATUS
    handle = citizens.handle_status if status else citizens.handle_exemption
    await handle(inbound, w.ports)
    [refused] = w.outbox.rejected
    assert refused.topic == topics.rejected_topic_for(source)
    assert refused.refusal.reason == Reason.MALFORMED and refused.message_id is None
    # and the fallback, as app.py wires it, keeps it too
    await keep_unexpected(w.ports.outbox, citizens.message_id)(inbound, RecursionError())
    assert w.outbox.rejected[1].refusal.reason == Reason.INTERNAL_ERROR


async def test_an_unreadable_command_is_kept_on_the_platforms_rejected_topic():
    w = world()
    inbound = Inbound(topics.JOBLOG_COMMANDS, 1, 9, "k", b'{"beskedId": 1')
    await handlers.keep_command(inbound, ValueError("x"), w.ports)
    [kept] = w.outbox.rejected
    assert kept.topic == topics.PLATFORM_REJECTED and kept.inbound == inbound
    assert kept.refusal.reason == Reason.INTERNAL_ERROR and kept.message_id is None


async def test_a_change_that_cannot_be_sent_out_is_kept_on_the_platforms_rejected_topic():
    outbox = FakeOutbox()
    inbound = Inbound(topics.JOBLOG_CHANGES, 3, 5, "k", b'{"handling": "opret"}')
    await frontend.keep_change(inbound, KeyError("entry"), outbox)
    [kept] = outbox.rejected
    assert kept.topic == topics.PLATFORM_REJECTED and kept.inbound == inbound
    assert kept.refusal.reason == Reason.INTERNAL_ERROR


def test_a_deeply_nested_register_record_is_skipped():
    register = AkasseRegister()
    register.apply(b"071", DEEP)
    register.apply(b"071", b'{"akasseNr": "071", "tilbyderJoblog": true}')
    assert register.offers_joblog("071")
