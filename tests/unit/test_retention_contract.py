"""Issue 21 B, what the retention job's work means to the rest of the platform, on fakes: storage
refuses every change of an erased joblog's id (the tombstone), both front ends' outbound
messages say a change is the platform's retention change, and the advisering rule owes nothing
for the activity an erasure took away."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import uuid4

import pytest

from services.notifier.advisering import next_due
from services.storage import handlers, merge
from services.storage.records import HistoryEntry
from shared.contract import topics
from shared.contract.events import Handling, Joblog, JoblogChange, JoblogType, Sletning
from shared.contract.rejections import Reason, Refusal
from shared.contract.retention import KILDE, is_erased
from shared.contract.tid import start_of_day
from shared.frontends import models
from shared.frontends.akasse import akasse_outbound
from shared.frontends.jobnet import jobnet_outbound
from shared.readmodel.facts import facts_of
from tests.unit.format_cases import JOBNET_JOBLOG, stored
from tests.unit.test_storage_handlers import NOW, command, handle, inbound_of, world

TOMBSTONE = stored(Joblog(type=JoblogType.ANSOEGNING), cpr="", slettet=True, kilde=KILDE, version=5)


@pytest.mark.parametrize("handling", list(Handling))
def test_every_change_of_an_erased_joblogs_id_is_refused_as_erased(handling):
    assert is_erased(TOMBSTONE)
    cmd = command(handling, TOMBSTONE.joblogId, grundversion=None if handling == "opret" else 4)
    with pytest.raises(Refusal) as refused:
        merge.decide(cmd, TOMBSTONE, None, NOW, NOW)
    assert refused.value.reason is Reason.JOBLOG_ERASED and refused.value.field == "joblogId"


async def test_storage_refuses_a_redelivered_create_of_an_erased_joblog():
    """The create's id left `beskeder` long ago: without the tombstone it would be made again."""
    w = world()
    cmd = command()
    await handle(w, cmd)
    tombstone = TOMBSTONE.model_copy(update={"joblogId": cmd.joblogId, "version": 2})
    w.repo.current[cmd.joblogId] = HistoryEntry(tombstone, Handling.SLET, uuid4(), NOW, NOW)
    w.repo.history = {}  # the erasure deleted the history
    w.repo.finished_ids.discard(cmd.beskedId)  # and the message id left `beskeder`
    await handlers.handle_command(inbound_of(cmd, topics.JOBLOG_COMMANDS), w.ports)
    [refusal] = w.ports.outbox.rejected
    assert refusal.refusal.reason is Reason.JOBLOG_ERASED
    assert w.repo.history == {} and len(w.changes()) == 1  # the create's, once: nothing new


def test_a_retention_change_says_so_in_both_formats_and_an_ordinary_one_does_not():
    entry = stored(JOBNET_JOBLOG, kilde=KILDE)
    for sletning, jobnet_word, akasse_word in (
        (Sletning.VALGFRIE_FELTER, "valgfrie_felter", "OPTIONAL_FIELDS"),
        (Sletning.JOBLOG, "joblog", "WHOLE_LOG"),
    ):
        change = JoblogChange(
            handling=Handling.SLET, entry=entry, akasseNr="067", sletning=sletning
        )
        jobnet, akasse = jobnet_outbound(change), akasse_outbound(change)
        assert jobnet["sletning"] == jobnet_word and jobnet["kilde"] == "dfdg"
        assert akasse["retentionDeletion"] == akasse_word and akasse["type"] == "JOBLOG_DELETED"
        models.jobnet_outbound().model_validate(jobnet)  # the AsyncAPI document's models
        models.akasse_outbound().model_validate(akasse)
    ordinary = JoblogChange(handling=Handling.RET, entry=stored(JOBNET_JOBLOG), akasseNr="067")
    assert "sletning" not in jobnet_outbound(ordinary)
    assert "retentionDeletion" not in akasse_outbound(ordinary)


def at(day: date, hour: int = 10) -> datetime:
    return start_of_day(day) + timedelta(hours=hour)


def citizen(activity: list[datetime], floor: datetime | None) -> dict:
    doc: dict = {
        "_id": "0101901234",
        "status": [
            {
                "messageId": str(uuid4()), "cpr": "0101901234", "jobcenter": "101",
                "akasseNr": None, "maalgruppe": "jobparat_kontanthjaelp",
                "gyldigFra": "2019-01-01", "gyldigTil": None,
                "tidspunkt": "2019-01-01T00:00:00+00:00",
            }
        ],
        "aktivitet": [
            {"joblogId": str(uuid4()), "version": 1, "handling": "opret", "accepteret": a}
            for a in activity
        ],
        "senesteAktivitet": max(activity, default=None),
    }  # fmt: skip
    if floor is not None:
        doc["slettetTil"] = floor
    return doc


def test_after_an_erasure_the_advisering_rule_owes_nothing_before_its_floor():
    """On duty since 2019, active every 20 days since: never owed a notice. The erasure took
    the activity of 2019-2020 away (its latest, 20 December 2020, is the floor): without the
    floor the rule would find a gap from 2019 and owe a pair for February 2019."""
    weekly = [at(date(2019, 1, 10)) + timedelta(days=20 * n) for n in range(150)]
    floor = at(date(2020, 12, 20))
    kept = [a for a in weekly if a > floor]
    full = facts_of(citizen(weekly, None))
    erased = facts_of(citizen(kept, floor))
    bare = facts_of(citizen(kept, None))

    def due(facts):  # type: ignore[no-untyped-def]
        return next_due(
            facts.periods, facts.exemptions, facts.last_activity, None,
            activities=facts.activities,
        )  # fmt: skip

    assert due(erased) == due(full) and due(full) > weekly[-1]
    assert due(bare) < floor  # what the floor prevents: a notice owed from 2019
    assert erased.periods[0].fra == date(2020, 12, 20)
    assert full.periods[0].fra == date(2019, 1, 1)
    assert erased.last_activity == full.last_activity
