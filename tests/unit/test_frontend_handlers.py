"""The adapters' handlers (`shared.frontends.handlers`) with fake ports: what each decides for a
message, without Kafka. The real-broker tests (tests/integration/test_joblog_sync.py,
test_rejections.py) stay beside these."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.akasse_adapter.app import front_end
from services.jobnet_adapter.app import JOBNET
from shared.contract import topics
from shared.contract.events import Handling, Joblog, JoblogChange, JoblogType, StoredJoblog
from shared.contract.inbound import Inbound
from shared.contract.rejections import Reason
from shared.frontends import handlers as frontend
from shared.platform.akasse_register import AkasseRegister
from tests.fakes import FakeClock, FakeOutbox

CPR = "0101901234"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ENTRY = {
    "kind": "APPLICATION", "jobTitle": "Lagermedarbejder", "status": "APPLIED",
    "employer": {"name": "Acme A/S", "country": "DK", "postalCode": "8000"},
}  # fmt: skip


def register(*offering: str, without_joblog: tuple[str, ...] = ()) -> AkasseRegister:
    made = AkasseRegister()
    for nr in offering:
        made.apply(nr.encode(), json.dumps({"akasseNr": nr, "tilbyderJoblog": True}).encode())
    for nr in without_joblog:
        made.apply(nr.encode(), json.dumps({"akasseNr": nr, "tilbyderJoblog": False}).encode())
    return made


def ports(front: frontend.FrontEnd) -> tuple[frontend.AdapterPorts, FakeOutbox]:
    outbox = FakeOutbox()
    return frontend.AdapterPorts(front, FakeClock(NOW), outbox, 1_048_576), outbox


def jobnet_message(**fields: Any) -> dict[str, Any]:
    joblog = {
        "type": "ansoegning", "stilling": "Lagermedarbejder", "virksomhed": "Acme A/S",
        "land": "DK", "postnummer": "8000", "by": "Aarhus C", "status": "soegt",
    }  # fmt: skip
    message = {
        "beskedId": str(uuid.uuid4()), "handling": "opret", "joblogId": str(uuid.uuid4()),
        "cpr": CPR, "tidspunkt": NOW.isoformat(), "joblog": joblog,
    }  # fmt: skip
    return {**message, **fields}


def akasse_message(akasse_nr: str = "067", **fields: Any) -> dict[str, Any]:
    message = {
        "eventId": str(uuid.uuid4()), "type": "JOBLOG_CREATED", "akasseNr": akasse_nr,
        "memberCpr": CPR, "logId": str(uuid.uuid4()), "occurredAt": NOW.isoformat(),
        "entry": ENTRY,
    }  # fmt: skip
    return {**message, **fields}


def inbound(topic: str, message: dict[str, Any], key: str = CPR, offset: int = 7) -> Inbound:
    return Inbound(topic, 2, offset, key, json.dumps(message).encode())


def change(akasse_nr: str | None = None, snapshot: bool = False) -> JoblogChange:
    activity = Joblog(
        type=JoblogType.ANDEN_AKTIVITET, aktivitet="Møde", aktivitetsdato="2026-11-18"
    )
    entry = StoredJoblog(
        joblogId=uuid.uuid4(), cpr=CPR, version=1, joblog=activity,
        oprettet=NOW, senestAendret=NOW, kilde="jobnet", kildeBeskedId=uuid.uuid4(),
    )  # fmt: skip
    return JoblogChange(handling=Handling.OPRET, entry=entry, akasseNr=akasse_nr, snapshot=snapshot)


def change_record(made: JoblogChange) -> Inbound:
    return Inbound(topics.JOBLOG_CHANGES, 0, 1, CPR, made.model_dump_json().encode())


async def test_a_valid_message_goes_to_storage_canonical_with_where_it_came_from():
    made, outbox = ports(JOBNET)
    message = jobnet_message()
    await frontend.handle_inbound(inbound(topics.JOBNET_INBOUND, message, offset=41), made)
    assert outbox.rejected == []
    [sent] = outbox.published
    assert (sent.topic, sent.key) == (topics.JOBLOG_COMMANDS, CPR)
    assert str(sent.payload.beskedId) == message["beskedId"]
    assert (sent.payload.raaPartition, sent.payload.raaOffset) == (2, 41)
    assert sent.payload.modtaget == NOW  # received by the platform clock


async def test_a_refused_message_goes_to_the_producers_rejected_topic_in_its_terms():
    made, outbox = ports(front_end(register("067")))
    message = akasse_message(logId="not-a-uuid")
    await frontend.handle_inbound(inbound(topics.akasse_inbound("067"), message), made)
    assert outbox.published == []
    [refused] = outbox.rejected
    assert refused.topic == topics.akasse_rejected("067")
    assert refused.refusal.reason is Reason.FIELD_INVALID
    assert refused.refusal.field == "logId"  # the a-kasse's name, not "joblogId"
    assert refused.message_id == message["eventId"]


@pytest.mark.parametrize(
    ("topic_nr", "offering", "reason"),
    [
        ("096", ("067", "096"), Reason.AKASSE_MISMATCH),  # the body names another a-kasse
        ("067", (), Reason.AKASSE_WITHOUT_JOBLOG),  # not in the register
    ],
)
async def test_an_akasse_writes_only_as_itself_and_only_with_a_joblog(topic_nr, offering, reason):
    made, outbox = ports(front_end(register(*offering)))
    await frontend.handle_inbound(inbound(topics.akasse_inbound(topic_nr), akasse_message()), made)
    assert outbox.published == []
    [refused] = outbox.rejected
    assert (refused.refusal.reason, refused.refusal.field) == (reason, "akasseNr")


async def test_an_akasse_registered_without_joblog_is_refused_as_such():
    made, outbox = ports(front_end(register(without_joblog=("067",))))
    await frontend.handle_inbound(inbound(topics.akasse_inbound("067"), akasse_message()), made)
    [refused] = outbox.rejected
    assert refused.refusal.message == "akasseNr: a-kasse 067 does not offer a joblog"


async def test_jobnet_gets_every_change_but_snapshots():
    made, outbox = ports(JOBNET)
    await frontend.handle_change(change_record(change("067")), made)
    await frontend.handle_change(change_record(change("067", snapshot=True)), made)
    [sent] = outbox.published
    assert sent.topic == topics.JOBNET_OUTBOUND
    assert sent.payload["cpr"] == CPR


async def test_an_akasse_gets_the_changes_storage_names_it_for():
    made, outbox = ports(front_end(register("067")))
    await frontend.handle_change(change_record(change("067", snapshot=True)), made)
    await frontend.handle_change(change_record(change(None)), made)  # no a-kasse with joblog
    [sent] = outbox.published
    assert sent.topic == topics.akasse_outbound("067")
    assert sent.payload["memberCpr"] == CPR


# -- a batch at a time -----------------------------------------------------------------------


class OrderedOutbox(FakeOutbox):
    """An outbox whose sends finish in the reverse order they began (each waits for the next to
    begin): the batch's sends are awaited together, yet one citizen's stay in his order."""

    async def publish(self, topic: str, key: str, payload: Any) -> None:
        await asyncio.sleep(0.01 if key == CPR else 0)
        await super().publish(topic, key, payload)


async def test_a_batch_sends_each_messages_command_or_refusal_a_citizens_in_order():
    p, outbox = ports(JOBNET)
    other = "0202902345"
    first, refused, second = jobnet_message(), jobnet_message(cpr="123"), jobnet_message()
    theirs = jobnet_message(cpr=other)
    batch = [
        inbound(topics.JOBNET_INBOUND, first, offset=1),
        inbound(topics.JOBNET_INBOUND, refused, key="123", offset=2),
        inbound(topics.JOBNET_INBOUND, second, offset=3),
        inbound(topics.JOBNET_INBOUND, theirs, key=other, offset=4),
    ]
    await frontend.handle_inbounds(batch, p)
    commands = outbox.on(topics.JOBLOG_COMMANDS)
    assert [(str(c.beskedId), c.raaOffset) for c in commands if c.cpr == CPR] == [
        (first["beskedId"], 1), (second["beskedId"], 3)
    ]  # fmt: skip
    assert {str(c.beskedId) for c in commands} == {
        first["beskedId"], second["beskedId"], theirs["beskedId"]
    }  # fmt: skip
    [rejected] = outbox.rejected
    assert rejected.refusal.reason == Reason.INVALID_CPR and rejected.inbound.offset == 2


async def test_a_batch_of_changes_is_translated_and_sent_together_a_citizens_in_order():
    outbox = OrderedOutbox()
    p = frontend.AdapterPorts(JOBNET, FakeClock(NOW), outbox, 1_048_576)
    changes = [change(), change(snapshot=True), change()]
    other = change().model_copy()
    other = other.model_copy(update={"entry": other.entry.model_copy(update={"cpr": "0202902345"})})
    batch = [
        Inbound(topics.JOBLOG_CHANGES, 0, i, c.entry.cpr, c.model_dump_json().encode())
        for i, c in enumerate([*changes, other])
    ]
    await frontend.handle_changes(batch, p)
    sent = outbox.on(topics.JOBNET_OUTBOUND)
    assert sent[0]["joblogId"] == str(other.entry.joblogId)  # not held back by the other
    assert [m["joblogId"] for m in sent[1:]] == [str(changes[0].entry.joblogId),
                                                 str(changes[2].entry.joblogId)]  # fmt: skip


async def test_a_batch_is_one_handler_a_record_is_a_batch_of_one():
    p, outbox = ports(JOBNET)
    message = jobnet_message()
    await frontend.handle_inbound(inbound(topics.JOBNET_INBOUND, message), p)
    [command] = outbox.on(topics.JOBLOG_COMMANDS)
    assert str(command.beskedId) == message["beskedId"]
