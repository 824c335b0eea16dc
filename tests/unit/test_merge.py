"""The merge rule (services/storage/merge.py): versions, refusals and three-way merges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.storage import merge
from services.storage.merge import MERGE_FIELDS, FieldDecision, Outcome
from shared.events import (
    Ansoegningsstatus,
    Arbejdstid,
    Handling,
    Joblog,
    JoblogCommand,
    JoblogType,
    Kontaktperson,
    StoredJoblog,
)
from shared.rejections import Reason, Refusal

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JOBLOG_ID = UUID("00000000-0000-0000-0000-0000000000aa")
CPR = "0101901234"

BASE = Joblog(
    type=JoblogType.ANSOEGNING,
    stilling="Lagerarbejder",
    virksomhed="Lager A/S",
    status=Ansoegningsstatus.SOEGT,
    soegtDato=date(2026, 3, 1),
    kontaktperson=Kontaktperson(navn="Ida", telefon="11223344"),
)


def command(
    handling: Handling = Handling.RET,
    joblog: Joblog | None = BASE,
    grundversion: int | None = None,
    tidspunkt: datetime = T0,
    kilde: str = "jobnet",
    besked_id: UUID | None = None,
) -> JoblogCommand:
    return JoblogCommand(
        beskedId=besked_id or uuid4(),
        kilde=kilde,
        handling=handling,
        joblogId=JOBLOG_ID,
        cpr=CPR,
        tidspunkt=tidspunkt,
        grundversion=grundversion,
        joblog=None if handling is Handling.SLET else joblog,
        modtaget=tidspunkt,
        raa="{}",
    )


def stored(
    joblog: Joblog = BASE, version: int = 1, slettet: bool = False, kilde: str = "jobnet"
) -> StoredJoblog:
    return StoredJoblog(
        joblogId=JOBLOG_ID,
        cpr=CPR,
        version=version,
        slettet=slettet,
        joblog=joblog,
        oprettet=T0,
        senestAendret=T0 + timedelta(hours=version),
        kilde=kilde,
        kildeBeskedId=uuid4(),
    )


def edit(joblog: Joblog, **changes: Any) -> Joblog:
    return joblog.model_copy(update=changes)


def refusal(
    cmd: JoblogCommand, current: StoredJoblog | None, base: Joblog | None = None
) -> Refusal:
    with pytest.raises(Refusal) as caught:
        merge.decide(cmd, current, base, T0, T0 + timedelta(days=1))
    return caught.value


def decisions(outcome: Outcome) -> dict[str, tuple[str, str]]:
    assert outcome.merge is not None
    return {d.field: (d.winner, d.reason) for d in outcome.merge.fields}


# --- opret ---


def test_opret_of_new_id_is_version_1():
    accepted = T0 + timedelta(minutes=5)
    cmd = command(Handling.OPRET, kilde="akasse:067")
    outcome = merge.decide(cmd, None, None, None, accepted)
    entry = outcome.entry
    assert entry.version == 1
    assert entry.joblog == BASE
    assert not entry.slettet
    assert entry.oprettet == entry.senestAendret == accepted
    assert entry.kilde == "akasse:067"
    assert entry.kildeBeskedId == cmd.beskedId
    assert (entry.joblogId, entry.cpr) == (JOBLOG_ID, CPR)
    assert outcome.merge is None


def test_opret_of_existing_id_is_duplicate():
    r = refusal(command(Handling.OPRET), stored())
    assert (r.reason, r.field) == (Reason.DUPLICATE_JOBLOG, "joblogId")


def test_opret_of_deleted_id_is_duplicate():
    r = refusal(command(Handling.OPRET), stored(version=2, slettet=True))
    assert (r.reason, r.field) == (Reason.DUPLICATE_JOBLOG, "joblogId")


# --- refusals of ret / slet ---


@pytest.mark.parametrize("handling", [Handling.RET, Handling.SLET])
def test_change_of_unknown_id_is_refused(handling):
    r = refusal(command(handling, grundversion=1), None)
    assert (r.reason, r.field) == (Reason.UNKNOWN_JOBLOG, "joblogId")


@pytest.mark.parametrize("handling", [Handling.RET, Handling.SLET])
def test_change_of_deleted_entry_is_refused(handling):
    r = refusal(command(handling, grundversion=3), stored(version=3, slettet=True))
    assert r.reason == Reason.JOBLOG_DELETED


@pytest.mark.parametrize("handling", [Handling.RET, Handling.SLET])
def test_grundversion_beyond_current_is_refused(handling):
    r = refusal(command(handling, grundversion=4), stored(version=3))
    assert (r.reason, r.field) == (Reason.FIELD_INVALID, "grundversion")
    assert "does not exist yet" in r.message


def test_grundversion_below_1_is_refused():
    r = refusal(command(grundversion=0), stored(version=3))
    assert (r.reason, r.field) == (Reason.FIELD_INVALID, "grundversion")


def test_ret_without_content_is_refused():
    r = refusal(command(joblog=None, grundversion=1), stored())
    assert (r.reason, r.field) == (Reason.FIELD_INVALID, "joblog")


# --- ret ---


def test_ret_on_current_version_replaces():
    current = stored(version=2)
    new = edit(BASE, stilling="Truckfører", kontaktperson=None)
    accepted = T0 + timedelta(days=1)
    cmd = command(joblog=new, grundversion=2, kilde="akasse:067")
    outcome = merge.decide(cmd, current, None, T0, accepted)
    entry = outcome.entry
    assert entry.joblog == new
    assert entry.version == 3
    assert entry.senestAendret == accepted
    assert entry.oprettet == current.oprettet
    assert (entry.kilde, entry.kildeBeskedId) == ("akasse:067", cmd.beskedId)
    assert outcome.merge is None


def test_ret_without_grundversion_replaces():
    new = edit(BASE, noter="uden grundversion")
    outcome = merge.decide(command(joblog=new), stored(version=4), None, T0, T0)
    assert outcome.entry.joblog == new
    assert outcome.entry.version == 5
    assert outcome.merge is None


def test_concurrent_edits_of_different_fields_both_survive():
    current = stored(edit(BASE, virksomhed="Lager ApS"), version=2)
    incoming = edit(BASE, stilling="Truckfører")
    cmd = command(joblog=incoming, grundversion=1, tidspunkt=T0)
    outcome = merge.decide(cmd, current, BASE, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert outcome.entry.joblog == edit(BASE, virksomhed="Lager ApS", stilling="Truckfører")
    assert outcome.entry.version == 3
    assert decisions(outcome) == {
        "stilling": ("incoming", "only_incoming_changed"),
        "virksomhed": ("current", "only_current_changed"),
    }
    assert outcome.merge is not None
    assert outcome.merge.as_document() == {
        "grundversion": 1,
        "mergedAgainst": 2,
        "baseMissing": False,
        "fields": [
            {"field": "stilling", "winner": "incoming", "reason": "only_incoming_changed"},
            {"field": "virksomhed", "winner": "current", "reason": "only_current_changed"},
        ],
    }


def test_same_field_incoming_later_wins():
    current = stored(edit(BASE, stilling="Pakker"), version=2)
    incoming = edit(BASE, stilling="Truckfører")
    cmd = command(joblog=incoming, grundversion=1, tidspunkt=T0 + timedelta(hours=2))
    outcome = merge.decide(cmd, current, BASE, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert outcome.entry.joblog.stilling == "Truckfører"
    assert decisions(outcome) == {"stilling": ("incoming", "later_tidspunkt")}


def test_same_field_current_later_wins():
    current = stored(edit(BASE, stilling="Pakker"), version=2)
    incoming = edit(BASE, stilling="Truckfører")
    cmd = command(joblog=incoming, grundversion=1, tidspunkt=T0 + timedelta(hours=1))
    outcome = merge.decide(cmd, current, BASE, T0 + timedelta(hours=2), T0 + timedelta(days=1))
    assert outcome.entry.joblog.stilling == "Pakker"
    assert outcome.entry.version == 3
    assert decisions(outcome) == {"stilling": ("current", "later_tidspunkt")}


def test_same_field_tie_goes_to_incoming():
    current = stored(edit(BASE, stilling="Pakker"), version=2)
    cmd = command(joblog=edit(BASE, stilling="Truckfører"), grundversion=1, tidspunkt=T0)
    outcome = merge.decide(cmd, current, BASE, T0, T0 + timedelta(days=1))
    assert outcome.entry.joblog.stilling == "Truckfører"


def test_tidspunkt_compares_naive_database_time_as_utc():
    current = stored(edit(BASE, stilling="Pakker"), version=2)
    cmd = command(joblog=edit(BASE, stilling="Truckfører"), grundversion=1, tidspunkt=T0)
    naive_later = (T0 + timedelta(minutes=1)).replace(tzinfo=None)
    outcome = merge.decide(cmd, current, BASE, naive_later, T0 + timedelta(days=1))
    assert outcome.entry.joblog.stilling == "Pakker"


def test_both_changed_to_same_value():
    current = stored(edit(BASE, stilling="Truckfører"), version=2)
    cmd = command(joblog=edit(BASE, stilling="Truckfører"), grundversion=1)
    outcome = merge.decide(cmd, current, BASE, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert outcome.entry.joblog.stilling == "Truckfører"
    assert decisions(outcome) == {"stilling": ("current", "same_value")}


def test_kontaktperson_merges_per_subfield():
    current_kp = Kontaktperson(navn="Ida", telefon="99887766")
    current = stored(edit(BASE, kontaktperson=current_kp), version=2)
    incoming_kp = Kontaktperson(navn="Ida", telefon="11223344", email="ida@lager.dk")
    cmd = command(joblog=edit(BASE, kontaktperson=incoming_kp), grundversion=1)
    outcome = merge.decide(cmd, current, BASE, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert outcome.entry.joblog.kontaktperson == Kontaktperson(
        navn="Ida", telefon="99887766", email="ida@lager.dk"
    )
    assert decisions(outcome) == {
        "kontaktperson.telefon": ("current", "only_current_changed"),
        "kontaktperson.email": ("incoming", "only_incoming_changed"),
    }


def test_kontaktperson_removed_by_incoming_stays_removed():
    current = stored(edit(BASE, noter="ny note"), version=2)
    cmd = command(joblog=edit(BASE, kontaktperson=None), grundversion=1)
    outcome = merge.decide(cmd, current, BASE, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert outcome.entry.joblog.kontaktperson is None
    assert outcome.entry.joblog.noter == "ny note"


def test_missing_base_decides_every_difference_by_tidspunkt():
    current = stored(edit(BASE, stilling="Pakker", noter="fra a-kassen"), version=3)
    incoming = edit(BASE, stilling="Truckfører", arbejdstid=Arbejdstid.DELTID)
    later = T0 + timedelta(hours=5)
    cmd = command(joblog=incoming, grundversion=1, tidspunkt=later)
    outcome = merge.decide(cmd, current, None, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert outcome.entry.joblog == incoming
    assert decisions(outcome) == {
        "stilling": ("incoming", "later_tidspunkt"),
        "arbejdstid": ("incoming", "later_tidspunkt"),
        "noter": ("incoming", "later_tidspunkt"),
    }
    assert outcome.merge is not None
    assert outcome.merge.base_missing
    assert outcome.merge.as_document()["baseMissing"] is True

    cmd = command(joblog=incoming, grundversion=1, tidspunkt=T0)
    outcome = merge.decide(cmd, current, None, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert outcome.entry.joblog == current.joblog


def test_type_change_takes_whole_content_from_the_type_winner():
    aktivitet = Joblog(
        type=JoblogType.ANDEN_AKTIVITET, aktivitet="Jobmesse", aktivitetsdato=date(2026, 3, 4)
    )
    current = stored(edit(BASE, noter="note"), version=2)
    cmd = command(joblog=aktivitet, grundversion=1)
    outcome = merge.decide(cmd, current, BASE, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert outcome.entry.joblog == aktivitet
    found = decisions(outcome)
    assert found["type"] == ("incoming", "only_incoming_changed")
    assert found["noter"] == ("incoming", "follows_type")
    assert found["stilling"] == ("incoming", "follows_type")

    # the current side changed the type; the incoming stale edit of another field loses to it
    current = stored(aktivitet, version=2)
    cmd = command(joblog=edit(BASE, noter="note"), grundversion=1)
    outcome = merge.decide(cmd, current, BASE, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert outcome.entry.joblog == aktivitet
    assert decisions(outcome)["type"] == ("current", "only_current_changed")


def test_merge_report_document_is_plain():
    current = stored(edit(BASE, stilling="Pakker"), version=5)
    cmd = command(joblog=edit(BASE, noter="x"), grundversion=2)
    outcome = merge.decide(cmd, current, BASE, T0, T0 + timedelta(days=1))
    assert outcome.merge is not None
    doc = outcome.merge.as_document()
    assert doc["grundversion"] == 2 and doc["mergedAgainst"] == 5
    for field in doc["fields"]:
        assert all(type(v) is str for v in field.values())
    assert outcome.entry.version == 6


def test_outcome_is_frozen():
    outcome = merge.decide(command(Handling.OPRET), None, None, None, T0)
    with pytest.raises(AttributeError):
        outcome.merge = None  # type: ignore[misc]
    with pytest.raises(AttributeError):
        FieldDecision("stilling", "incoming", "same_value").winner = "current"  # type: ignore[misc]


# --- slet ---


def test_slet_on_current_version_deletes_and_keeps_content():
    current = stored(version=2)
    cmd = command(Handling.SLET, grundversion=2, kilde="akasse:067")
    accepted = T0 + timedelta(days=1)
    outcome = merge.decide(cmd, current, None, T0, accepted)
    entry = outcome.entry
    assert entry.slettet
    assert entry.version == 3
    assert entry.joblog == current.joblog
    assert entry.senestAendret == accepted and entry.oprettet == current.oprettet
    assert (entry.kilde, entry.kildeBeskedId) == ("akasse:067", cmd.beskedId)
    assert outcome.merge is None


def test_slet_on_older_version_still_deletes():
    current = stored(edit(BASE, noter="senere ændring"), version=4)
    cmd = command(Handling.SLET, grundversion=1)
    outcome = merge.decide(cmd, current, BASE, T0 + timedelta(hours=3), T0 + timedelta(days=1))
    assert outcome.entry.slettet
    assert outcome.entry.version == 5
    assert outcome.entry.joblog == current.joblog
    assert outcome.merge is None


# --- property: two sides editing with stale grundversions ---

VALUES: dict[str, list[Any]] = {
    "stilling": [None, "Pakker", "Truckfører", "Lagerchef"],
    "virksomhed": [None, "Lager A/S", "Lager ApS"],
    "by": [None, "Aarhus", "Odense"],
    "arbejdstid": [None, *Arbejdstid],
    "status": [None, *Ansoegningsstatus],
    "soegtDato": [None, date(2026, 3, 1), date(2026, 3, 2)],
    "noter": [None, "a", "b", "c"],
    "kontaktperson.navn": [None, "Ida", "Bo"],
    "kontaktperson.telefon": [None, "11223344", "99887766"],
    "kontaktperson.email": [None, "ida@lager.dk"],
}
EDITABLE = sorted(VALUES)

edit_strategy = st.dictionaries(
    st.sampled_from(EDITABLE).flatmap(lambda f: st.tuples(st.just(f), st.sampled_from(VALUES[f]))),
    st.none(),
    min_size=1,
    max_size=4,
).map(lambda d: dict(d.keys()))

step_strategy = st.tuples(
    st.sampled_from(["jobnet", "akasse:067"]),  # which side edits
    edit_strategy,  # its field changes, on top of the version it last saw
    st.integers(min_value=-120, max_value=120),  # minutes: tidspunkt relative to the last one
    st.booleans(),  # whether the side refreshes to the current version afterwards
)


def flat(joblog: Joblog) -> dict[str, Any]:
    return merge._flat(joblog)


def apply(joblog: Joblog, changes: dict[str, Any]) -> Joblog:
    values = flat(joblog)
    values.update(changes)
    return merge._unflat(values)


@settings(max_examples=200, deadline=None)
@given(st.lists(step_strategy, min_size=1, max_size=25))
def test_two_sides_with_stale_versions_never_lose_untouched_changes(steps):
    entry = merge.decide(command(Handling.OPRET), None, None, None, T0).entry
    history: dict[int, Joblog] = {1: entry.joblog}
    history_tidspunkt: dict[int, datetime] = {1: T0}
    seen = {"jobnet": 1, "akasse:067": 1}  # the version each side last saw
    clock = T0
    for n, (side, changes, minutes, refresh) in enumerate(steps):
        grund = seen[side]
        base = history[grund]
        incoming = apply(base, changes)
        clock += timedelta(minutes=minutes)
        cmd = command(joblog=incoming, grundversion=grund, tidspunkt=clock, kilde=side)
        accepted = T0 + timedelta(days=1, minutes=n)
        given_base = base if grund < entry.version else None
        outcome = merge.decide(cmd, entry, given_base, history_tidspunkt[entry.version], accepted)
        new = outcome.entry

        assert new.version == entry.version + 1
        assert new.senestAendret == accepted and new.oprettet == entry.oprettet
        assert (outcome.merge is not None) == (grund < entry.version)
        b, i, c, r = flat(base), flat(incoming), flat(entry.joblog), flat(new.joblog)
        for f in MERGE_FIELDS:
            if i[f] != b[f] and c[f] == b[f]:
                assert r[f] == i[f], f"incoming change of {f} lost"
            elif c[f] != b[f] and i[f] == b[f]:
                assert r[f] == c[f], f"current change of {f} lost"
            elif i[f] == b[f] and c[f] == b[f]:
                assert r[f] == b[f], f"{f} changed by nobody"
            else:
                assert r[f] in (i[f], c[f])
                if i[f] != c[f]:
                    incoming_later = clock >= history_tidspunkt[entry.version]
                    assert r[f] == (i[f] if incoming_later else c[f])

        entry = new
        history[new.version] = new.joblog
        history_tidspunkt[new.version] = clock
        seen[side] = new.version if refresh else grund
    assert entry.version == len(steps) + 1
