"""Storage's batch of joblog commands on the real database (services/storage/batch.py with the
real repository, facts reader and read-model writer): the database commands it sends, counted by
a pymongo command listener, are one read and one write per collection for the whole batch
(against six per record before), whatever the batch's size. The same code runs on MongoDB:
`find` with `_id $in`, `insert` and `update` of many documents, nothing FerretDB's alone."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from pymongo import AsyncMongoClient, monitoring

from services.storage import batch
from services.storage.ports import StoragePorts
from services.storage.repository import Repository
from shared.contract import topics
from shared.contract.events import Handling
from shared.readmodel.facts import FactsReader
from shared.readmodel.joblogs import JoblogReader
from shared.readmodel.writer import ReadModelWriter
from tests.fakes import FakeClock, FakeOutbox
from tests.unit.test_storage_batch import inbound
from tests.unit.test_storage_handlers import CONTENT, FakeRegister, command


class Commands(monitoring.CommandListener):
    """The commands sent, by (command name, collection)."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in ("find", "insert", "update", "delete", "findAndModify"):
            self.sent[f"{name} {event.command[name]}"] += 1

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


async def test_a_batch_is_one_read_and_one_write_per_collection(platform):
    cprs = [await platform.new_member() for _ in range(4)]
    listener = Commands()
    client: AsyncMongoClient[dict] = AsyncMongoClient(
        platform.settings.mongodb_url, tz_aware=True, event_listeners=[listener]
    )
    try:
        db = client[platform.settings.mongodb_database]
        ports = StoragePorts(
            repo=Repository(db), facts=FactsReader(db), writer=ReadModelWriter(db),
            joblogs=JoblogReader(db), register=FakeRegister({"067"}),
            clock=FakeClock(platform.now + timedelta(seconds=1)), outbox=FakeOutbox(),
        )  # fmt: skip
        creates = [
            command().model_copy(update={"cpr": cpr}) for cpr in cprs for _ in range(25)
        ]  # 100 joblogs of 4 citizens
        await batch.handle_commands([inbound(c, i) for i, c in enumerate(creates)], ports)
        assert listener.sent == {
            "find beskeder": 1, "find borgere": 1, "find joblogs": 1,
            "insert joblog_history": 1, "insert joblogs": 1, "insert aktivitet": 1,
            "insert beskeder": 1,
        }  # fmt: skip
        outbox = ports.outbox
        assert isinstance(outbox, FakeOutbox)
        changes = outbox.on(topics.JOBLOG_CHANGES)
        assert len(changes) == 100 and {c.akasseNr for c in changes} == {"067"}

        # edits of those joblogs, based on the current version and on none: the projections
        # replaced in one bulk write
        listener.sent.clear()
        edits = [
            command(Handling.RET, c.joblogId, joblog=CONTENT.model_copy(update={"noter": "x"}),
                    grundversion=1).model_copy(update={"cpr": c.cpr})
            for c in creates[:50]
        ]  # fmt: skip
        await batch.handle_commands([inbound(c, i) for i, c in enumerate(edits)], ports)
        assert listener.sent == {
            "find beskeder": 1, "find borgere": 1, "find joblogs": 1,
            "insert joblog_history": 1, "update joblogs": 1, "insert aktivitet": 1,
            "insert beskeder": 1,
        }  # fmt: skip
        for edit in edits[:3]:
            doc = await platform.db.joblogs.find_one({"_id": str(edit.joblogId)})
            assert (doc["version"], doc["joblog"]["noter"]) == (2, "x")
    finally:
        await client.close()
