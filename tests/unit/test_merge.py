"""The merge rule (services/storage/merge.py): versions, refusals and three-way merges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from services.storage import merge
from services.storage.merge import MERGE_FIELDS, FieldDecision, Outcome
from services.storage.repository import merge_document
from shared.contract.events import (
    Ansoegningsstatus,
    Arbejdstid,
    FundetVia,
    Handling,
    Joblog,
    JoblogCommand,
    JoblogType,
    Kontaktperson,
    SoegtVia,
    StoredJoblog,
)
from shared.contract.joblog_rules import check_joblog
from shared.contract.rejections import Reason, Refusal
from shared.frontends.akasse import AKASSE
from shared.frontends.common import naming_the_field

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
JOBLOG_ID = UUID("00000000-0000-0000-0000-0000000000aa")
CPR = "0101901234"

BASE = Joblog(
    type=JoblogType.ANSOEGNING,
    stilling="Lagerarbejder",
    virksomhed="Lager A/S",
    land="DK",
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
    modtaget: datetime | None = None,
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
        modtaget=modtaget or tidspunkt,
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


OTHER_CPR = "0202902345"


def strangers(current: StoredJoblog) -> StoredJoblog:
    """The same joblog, stored under another citizen than the command's."""
    return current.model_copy(update={"cpr": OTHER_CPR})


@pytest.mark.parametrize("handling", [Handling.RET, Handling.SLET])
@pytest.mark.parametrize(
    "current", [stored(version=3), stored(version=3, slettet=True)], ids=["live", "deleted"]
)
@pytest.mark.parametrize("grundversion", [None, 1, 3, 4], ids=lambda g: f"grund{g}")
def test_a_change_under_another_citizen_is_refused_as_an_unknown_joblog(
    handling, current, grundversion
):
    """Whatever the stranger's joblog is (live, deleted, any version), the refusal is the one
    for an id that does not exist, word for word: it tells nothing of that joblog."""
    cmd = command(handling, grundversion=grundversion)
    theirs = refusal(cmd, strangers(current), BASE)
    unknown = refusal(cmd, None)
    assert (theirs.reason, theirs.field, theirs.message) == (
        unknown.reason, unknown.field, unknown.message,
    )  # fmt: skip
    assert theirs.reason == Reason.UNKNOWN_JOBLOG


def test_opret_of_another_citizens_deleted_id_says_nothing_of_it():
    mine = refusal(command(Handling.OPRET), stored(version=2, slettet=True))
    theirs = refusal(command(Handling.OPRET), strangers(stored(version=2, slettet=True)))
    live = refusal(command(Handling.OPRET), strangers(stored(version=2)))
    assert theirs.reason == live.reason == Reason.DUPLICATE_JOBLOG
    assert theirs.message == live.message and "deleted" not in theirs.message
    assert "deleted" in mine.message


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
    assert merge_document(outcome.merge) == {
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
    assert merge_document(outcome.merge)["baseMissing"] is True

    cmd = command(joblog=incoming, grundversion=1, tidspunkt=T0)
    outcome = merge.decide(cmd, current, None, T0 + timedelta(hours=1), T0 + timedelta(days=1))
    assert outcome.entry.joblog == current.joblog


def test_type_change_takes_whole_content_from_the_type_winner():
    aktivitet = Joblog(
        type=JoblogType.ANDEN_AKTIVITET, aktivitet="Jobmesse", aktivitetsdato=date(2026, 3, 1)
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
    doc = merge_document(outcome.merge)
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


# --- a merge that breaks the field rules ---

# Each side below passes the field rules on its own (as its adapter checked); the mix does not.
ABROAD = edit(BASE, land="SE", postnummer="111 22")
TO_DK = edit(ABROAD, land="DK", postnummer="8000")  # the front end moving it to DK fixes the code
NEW_CODE = edit(ABROAD, postnummer="111 23")


def merge_refusal(
    incoming: Joblog,
    current: Joblog,
    base: Joblog | None = ABROAD,
    names: dict[str, str] | None = None,
    incoming_later: bool = True,
) -> Refusal:
    at = T0 + timedelta(minutes=-1 if incoming_later else 1)
    with pytest.raises(Refusal) as caught:
        merge.decide(
            command(joblog=incoming, grundversion=1), stored(current, version=2), base, at, T0,
            names,
        )  # fmt: skip
    return caught.value


def test_a_merge_the_field_rules_refuse_is_merge_invalid():
    # the case: base SE "111 22"; one side changes land to DK (and so the postnummer to
    # 4 digits), the other, later, the postnummer to "111 23": the merge gives DK with "111 23"
    r = merge_refusal(NEW_CODE, TO_DK)
    assert (r.reason, r.field) == (Reason.MERGE_INVALID, "postnummer")
    assert r.message.startswith("postnummer: must be exactly 4 digits when land is DK")
    assert "(from version 2: land; from this change: postnummer)" in r.message
    assert "based on version 1" in r.message
    assert "send the change again based on version 2" in r.message


def test_merge_invalid_either_way_round():
    # the DK side is the incoming one, the other side later: its "111 23" wins the postnummer
    r = merge_refusal(TO_DK, NEW_CODE, incoming_later=False)
    assert (r.reason, r.field) == (Reason.MERGE_INVALID, "postnummer")
    assert "(from version 2: postnummer; from this change: land)" in r.message
    # and when the DK side is the later one, its "8000" wins: a valid merge, stored
    outcome = merge.decide(command(joblog=TO_DK, grundversion=1), stored(NEW_CODE, version=2),
                           ABROAD, T0 - timedelta(minutes=1), T0)  # fmt: skip
    assert outcome.entry.joblog == TO_DK


def test_merge_invalid_without_any_tidspunkt_race():
    # no postnummer in the base: each side changes one field, so neither wins by time
    base = edit(ABROAD, postnummer=None)
    for incoming_later in (True, False):
        r = merge_refusal(edit(base, postnummer="111 23"), edit(base, land="DK"), base,
                          incoming_later=incoming_later)  # fmt: skip
        assert (r.reason, r.field) == (Reason.MERGE_INVALID, "postnummer")


def test_merge_invalid_names_the_fields_in_the_producers_terms():
    names = AKASSE.entry_names()
    r = merge_refusal(NEW_CODE, TO_DK, names=names)
    assert (r.reason, r.field) == (Reason.MERGE_INVALID, "entry.employer.postalCode")
    assert r.message.startswith(
        "entry.employer.postalCode: must be exactly 4 digits when entry.employer.country is DK"
    )
    assert "from version 2: entry.employer.country" in r.message
    assert "from this change: entry.employer.postalCode" in r.message
    # storage's naming_the_field leaves a message that already names its field as it is
    assert naming_the_field(r, AKASSE).message == r.message


def test_merge_invalid_with_lower_case_padded_dk():
    # " dk " counts as Denmark for the postnummer rule (shared.contract.joblog_rules), merged or not
    r = merge_refusal(NEW_CODE, edit(TO_DK, land=" dk "))
    assert r.reason == Reason.MERGE_INVALID


def test_merge_invalid_with_a_missing_base():
    # without the base every difference goes by tidspunkt, so the later side wins them all and
    # the merge is that side's own (valid) content: never merge_invalid
    for incoming_later in (True, False):
        cmd = command(joblog=NEW_CODE, grundversion=1)
        at = T0 + timedelta(minutes=-1 if incoming_later else 1)
        outcome = merge.decide(cmd, stored(TO_DK, version=2), None, at, T0)
        assert outcome.entry.joblog == (NEW_CODE if incoming_later else TO_DK)


def test_a_valid_mix_is_stored():
    base = edit(ABROAD, postnummer=None)
    outcome = merge.decide(
        command(joblog=edit(base, postnummer="8000"), grundversion=1),
        stored(edit(base, land="DK"), version=2),
        base,
        T0 + timedelta(hours=1),
        T0,
    )
    assert outcome.entry.joblog == edit(base, land="DK", postnummer="8000")
    assert outcome.entry.version == 3


def test_merge_is_checked_against_the_day_of_receipt():
    # a date is checked against the day the change was received, as by the adapter
    current = stored(edit(BASE, noter="x"), version=2)
    incoming = edit(BASE, soegtDato=date(2026, 3, 3))
    received_3rd = command(
        joblog=incoming, grundversion=1, modtaget=datetime(2026, 3, 3, 8, tzinfo=UTC)
    )
    outcome = merge.decide(received_3rd, current, BASE, T0, T0 + timedelta(days=1))
    assert outcome.entry.joblog.soegtDato == date(2026, 3, 3)
    received_2nd = command(joblog=incoming, grundversion=1, modtaget=T0)
    with pytest.raises(Refusal) as caught:
        merge.decide(received_2nd, current, BASE, T0, T0 + timedelta(days=1))
    assert (caught.value.reason, caught.value.field) == (Reason.MERGE_INVALID, "soegtDato")


def test_an_edit_of_the_current_version_is_not_rechecked():
    # content that is not merged is the producer's own, checked by its adapter: no new reason
    outcome = merge.decide(
        command(joblog=edit(TO_DK, postnummer="9000"), grundversion=2),
        stored(TO_DK, version=2),
        None,
        T0,
        T0,
    )
    assert outcome.entry.version == 3


# --- property: two sides editing every field with stale grundversions ---

TODAY = date(2026, 3, 3)  # the day every change in the property is received
VALUES: dict[str, list[Any]] = {
    "type": list(JoblogType),
    "stilling": [None, "Pakker", "Truckfører", "   "],
    "virksomhed": [None, "Lager A/S", "Lager ApS"],
    "adresse": [None, "Vej 1", "Gatan 2"],
    "postnummer": [None, "8000", "5000", "111 22", "111 23"],
    "by": [None, "Aarhus", "Malmö"],
    "land": [None, "DK", "SE", " dk "],
    "ansoegningsfrist": [None, date(2026, 3, 20), date(2027, 1, 1)],
    "arbejdstid": [None, *Arbejdstid],
    "kontaktperson.navn": [None, "Ida", "Bo"],
    "kontaktperson.telefon": [None, "11223344", "99887766"],
    "kontaktperson.email": [None, "ida@lager.dk"],
    "link": [None, "https://jobnet.dk/job/1", "http://lager.dk", "ftp://lager.dk"],
    "status": [None, *Ansoegningsstatus],
    "soegtDato": [None, date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 4)],
    "fundetVia": [None, *FundetVia],
    "soegtVia": [None, *SoegtVia],
    "aktivitet": [None, "Jobmesse", "Netværksmøde", " \t "],
    "aktivitetsdato": [None, date(2026, 3, 1), date(2026, 3, 3), date(2026, 3, 4)],
    "noter": [None, "a", "b", "c" * 2001],
}
STARTS = [
    ABROAD,
    edit(ABROAD, postnummer=None),
    edit(BASE, postnummer="8000"),
    Joblog(type=JoblogType.ANDEN_AKTIVITET, aktivitet="Jobmesse", aktivitetsdato=TODAY),
    edit(ABROAD, aktivitet="Jobmesse", aktivitetsdato=date(2026, 3, 1)),
]

# the fields whose rules depend on each other, drawn more often than the rest
HOT = ["type", "land", "postnummer", "aktivitet", "aktivitetsdato", "stilling"]
edit_strategy = st.dictionaries(
    st.sampled_from(HOT) | st.sampled_from(sorted(VALUES)), st.none(), min_size=1, max_size=4
).flatmap(lambda d: st.fixed_dictionaries({f: st.sampled_from(VALUES[f]) for f in d}))

step_strategy = st.tuples(
    st.sampled_from(["jobnet", "akasse:067"]),  # which side edits
    edit_strategy,  # its field changes, on top of the version it last saw
    st.integers(min_value=-120, max_value=120),  # minutes: tidspunkt relative to the last one
    st.booleans(),  # whether the side refreshes to the current version afterwards
    st.booleans(),  # whether storage finds the base version (False: history gone)
)


def flat(joblog: Joblog) -> dict[str, Any]:
    return merge._flat(joblog)


def apply(joblog: Joblog, changes: dict[str, Any]) -> Joblog:
    values = flat(joblog)
    values.update(changes)
    return merge._unflat(values)


def passes(joblog: Joblog) -> bool:
    try:
        check_joblog(joblog, TODAY)
    except Refusal:
        return False
    return True


def expected_merge(
    b: dict[str, Any] | None, i: dict[str, Any], c: dict[str, Any], incoming_later: bool
) -> dict[str, Any]:
    """The contract's rule written out on its own: a field only one side changed keeps that
    side's value, one both changed takes the later side's; no base = both changed all that
    differs. Different types: the side whose type wins gives the whole entry."""

    def pick(f: str) -> str:
        i_changed = i[f] != c[f] if b is None else i[f] != b[f]
        c_changed = i[f] != c[f] if b is None else c[f] != b[f]
        if i_changed and (not c_changed or (i[f] != c[f] and incoming_later)):
            return "i"
        return "c"

    if i["type"] != c["type"]:
        return i if pick("type") == "i" else c
    return {f: i[f] if pick(f) == "i" else c[f] for f in MERGE_FIELDS}


def test_the_property_varies_every_field():
    assert set(VALUES) == set(MERGE_FIELDS)
    assert all(passes(start) for start in STARTS)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STARTS), st.lists(step_strategy, min_size=1, max_size=25))
@example(  # always run: each side valid alone, the merge DK with "111 23" is not
    edit(ABROAD, postnummer=None),
    [
        ("jobnet", {"land": "DK"}, 0, False, True),
        ("akasse:067", {"postnummer": "111 23"}, 1, False, True),
    ],
)
def test_two_sides_with_stale_versions_merge_by_the_rule_and_obey_the_field_rules(start, steps):
    """Every step is a change the adapter accepted (valid on its own); storage then either
    stores an entry that passes the field rules, merged field by field as the contract says, or
    refuses the merge as merge_invalid, exactly when the merged entry would break the rules."""
    accepted = T0 + timedelta(days=1)
    entry = merge.decide(command(Handling.OPRET, joblog=start), None, None, None, accepted).entry
    history: dict[int, Joblog] = {1: entry.joblog}
    history_tidspunkt: dict[int, datetime] = {1: T0}
    seen = {"jobnet": 1, "akasse:067": 1}  # the version each side last saw
    clock = T0
    for side, changes, minutes, refresh, base_found in steps:
        grund = seen[side]
        base = history[grund]
        incoming = apply(base, changes)
        if not passes(incoming):
            continue  # the adapter refuses it: storage never sees it
        clock += timedelta(minutes=minutes)
        accepted += timedelta(minutes=1)
        cmd = command(
            joblog=incoming, grundversion=grund, tidspunkt=clock, kilde=side, modtaget=accepted
        )
        is_merge = grund < entry.version
        given_base = base if is_merge and base_found else None
        current_at = history_tidspunkt[entry.version]
        want = expected_merge(
            flat(given_base) if given_base else None, flat(incoming), flat(entry.joblog),
            clock >= current_at,
        ) if is_merge else flat(incoming)  # fmt: skip
        try:
            outcome = merge.decide(cmd, entry, given_base, current_at, accepted)
        except Refusal as refused:
            assert refused.reason == Reason.MERGE_INVALID, refused.message
            assert is_merge and not passes(merge._unflat(want))
            event("merge refused: merge_invalid")
            seen[side] = entry.version if refresh else grund
            continue
        new = outcome.entry
        assert passes(new.joblog)  # the invariant: what is stored obeys the field rules
        assert flat(new.joblog) == want
        assert new.version == entry.version + 1
        assert new.senestAendret == accepted and new.oprettet == entry.oprettet
        assert (outcome.merge is not None) == is_merge
        if outcome.merge is not None:
            assert outcome.merge.base_missing == (given_base is None)
            event("merge stored" + (", base missing" if given_base is None else ""))
            if incoming.type != entry.joblog.type:
                event("merge stored across types")

        entry = new
        history[new.version] = new.joblog
        history_tidspunkt[new.version] = clock
        seen[side] = new.version if refresh else grund
