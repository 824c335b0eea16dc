"""The merge rule for joblog changes (contract, "Concurrent edits"). Pure: no I/O, no clock.

`decide` turns a command and the stored record into the next version, or refuses it:

* opret of an unknown id gives version 1; opret of an id that exists (also a deleted one) is
  refused as `duplicate_joblog` (a redelivery of the same message is caught before, by id);
  when the id is another citizen's, the refusal says nothing more of it (not whether deleted).
* A joblog belongs to the citizen who created it: ret / slet whose cpr is not the stored
  joblog's is refused exactly as one of an unknown id, `unknown_joblog`, so a stranger learns
  neither that it exists nor anything of it (its version, whether deleted).
* ret / slet of an unknown id is `unknown_joblog`; of a deleted entry `joblog_deleted`; a
  `grundversion` above the stored version (or below 1) is `field_invalid` on `grundversion`.
* ret based on the current version (or without a `grundversion`) replaces the content.
* ret based on an older version is merged three-way against that version's content (`base`),
  per field. `kontaktperson` is merged per subfield (`kontaktperson.navn`, `.telefon`,
  `.email`); a merged kontaktperson with no subfield set becomes `None`.
    - changed only by the incoming side -> incoming (`only_incoming_changed`)
    - changed only by the current side -> current (`only_current_changed`)
    - changed by both to the same value -> that value; recorded as won by `current`, the value
      already stored (`same_value`)
    - changed by both to different values -> the side with the later `tidspunkt` (occurredAt);
      on a tie the incoming side wins (`later_tidspunkt`)
    - If the base content is missing (history gone), every field where the two sides differ is
      treated as changed by both, so decided by `tidspunkt`.
    - `type`: the two types use different fields, so mixing them could give an entry that is
      neither. When the two sides end with different types, `type` is decided by the rules
      above and the side that wins it supplies the whole content; every other field where the
      sides differ is recorded as won by that side with reason `follows_type`. When both sides
      have the same type, all fields merge normally.
    - The merged entry is checked against the field rules
      (`shared.contract.joblog_rules.check_joblog`, "today" being the day the change was
      received) like any incoming entry: each side obeys them alone, but a mix may not (base
      land SE with postnummer "111 22"; one side changes land to DK, the other postnummer to
      "111 23"). Such a merge is refused as `merge_invalid`, naming the field the rules refuse
      and which fields came from which side, and nothing is stored; the front end can resend
      its change based on the current version.
* a tombstone (what the retention job leaves of an erased joblog, `retention.is_erased`) refuses
  every change of its id as `joblog_erased`, whoever sends it: it keeps no cpr to tell.
* slet makes a new version with `slettet=True` and the content kept as it was. A slet based on
  an older version still deletes: a deletion is a decision about the whole entry, not a field.

Every accepted change is `stored.version + 1` (1 for opret), `senestAendret = accepted`,
`oprettet` kept, and `kilde` / `kildeBeskedId` taken from the command. `Outcome.merge` is set only
when an older base was merged against (ret with `grundversion < stored.version`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from shared.contract.events import (
    Handling,
    Joblog,
    JoblogCommand,
    Kontaktperson,
    StoredJoblog,
)
from shared.contract.joblog_rules import check_joblog
from shared.contract.rejections import Reason, Refusal
from shared.contract.retention import is_erased
from shared.contract.tid import as_utc, day_of

Winner = Literal["incoming", "current"]
MergeReason = Literal[
    "only_incoming_changed", "only_current_changed", "later_tidspunkt", "same_value",
    "follows_type",
]  # fmt: skip

KONTAKT = "kontaktperson"
KONTAKT_FIELDS: tuple[str, ...] = tuple(Kontaktperson.model_fields)
# The units a merge decides on: top-level fields, with kontaktperson split into its subfields.
MERGE_FIELDS: tuple[str, ...] = tuple(
    p
    for name in Joblog.model_fields
    for p in ([f"{KONTAKT}.{sub}" for sub in KONTAKT_FIELDS] if name == KONTAKT else [name])
)


@dataclass(frozen=True)
class FieldDecision:
    field: str  # a top-level Joblog field, or "kontaktperson.<subfield>"
    winner: Winner
    reason: MergeReason


@dataclass(frozen=True)
class MergeReport:
    """How a change based on an older version was merged into the current one (the repository
    stores it with the history entry)."""

    grundversion: int  # the version the incoming change was based on
    merged_against: int  # the current version it was merged with
    base_missing: bool  # the base content was not found; every difference went by tidspunkt
    fields: tuple[FieldDecision, ...]


@dataclass(frozen=True)
class Outcome:
    entry: StoredJoblog  # the new version
    merge: MergeReport | None = None


def decide(
    command: JoblogCommand,
    stored: StoredJoblog | None,
    base: Joblog | None,
    current_tidspunkt: datetime | None,
    accepted: datetime,
    names: Mapping[str, str] | None = None,
) -> Outcome:
    """The next version for `command`, or a `Refusal`. See the module docstring for the rule.

    `names` turns a canonical entry path into the producer's field name for a `merge_invalid`
    refusal (as for `check_joblog`)."""
    if stored is not None and is_erased(stored):  # a tombstone: the id stays used
        raise Refusal(
            Reason.JOBLOG_ERASED,
            f"joblog {command.joblogId} was erased when its retention period ran out",
            "joblogId",
        )
    if command.handling is Handling.OPRET:
        return _opret(command, stored, accepted)
    if stored is None or stored.cpr != command.cpr:  # another citizen's is as unknown
        raise Refusal(
            Reason.UNKNOWN_JOBLOG, f"joblog {command.joblogId} does not exist", "joblogId"
        )
    if stored.slettet:
        raise Refusal(
            Reason.JOBLOG_DELETED, f"joblog {command.joblogId} has been deleted", "joblogId"
        )
    grund = command.grundversion
    if grund is not None and grund > stored.version:
        raise Refusal(
            Reason.FIELD_INVALID,
            f"grundversion {grund} does not exist yet; the current version is {stored.version}",
            "grundversion",
        )
    if grund is not None and grund < 1:
        raise Refusal(
            Reason.FIELD_INVALID, f"grundversion {grund} is invalid; versions start at 1",
            "grundversion",
        )  # fmt: skip
    if command.handling is Handling.SLET:
        return Outcome(_next(command, stored, stored.joblog, accepted, slettet=True))
    incoming = _content(command)
    if grund is None or grund == stored.version:
        return Outcome(_next(command, stored, incoming, accepted))
    current_at = current_tidspunkt if current_tidspunkt is not None else stored.senestAendret
    incoming_later = as_utc(command.tidspunkt) >= as_utc(current_at)  # a tie goes to incoming
    merged, decisions = merge_content(base, incoming, stored.joblog, incoming_later)
    report = MergeReport(
        grundversion=grund,
        merged_against=stored.version,
        base_missing=base is None,
        fields=decisions,
    )
    check_merged(merged, report, day_of(command.modtaget), names)
    return Outcome(_next(command, stored, merged, accepted), report)


def check_merged(
    merged: Joblog, report: MergeReport, today: date, names: Mapping[str, str] | None = None
) -> None:
    """Refuse (`merge_invalid`) a merged entry that breaks the field rules. The message names
    the field the rules refuse, then which changed fields the merge took from which side."""
    try:
        check_joblog(merged, today, names)
    except Refusal as broken:
        named = names or {}
        sides: dict[Winner, list[str]] = {"current": [], "incoming": []}
        for d in report.fields:
            if d.reason != "same_value":
                sides[d.winner].append(named.get(d.field, d.field))
        origin = "; ".join(
            f"{label}: {', '.join(fields)}"
            for label, fields in (
                (f"from version {report.merged_against}", sides["current"]),
                ("from this change", sides["incoming"]),
            )
            if fields
        )
        raise Refusal(
            Reason.MERGE_INVALID,
            f"{broken.message}, in the merge of this change (based on version"
            f" {report.grundversion}) with version {report.merged_against} ({origin});"
            f" nothing was stored: send the change again based on version"
            f" {report.merged_against}",
            broken.field,
        ) from None


def merge_content(
    base: Joblog | None, incoming: Joblog, current: Joblog, incoming_later: bool
) -> tuple[Joblog, tuple[FieldDecision, ...]]:
    """Three-way merge of joblog content; `base` None means the common ancestor is unknown."""
    b = _flat(base) if base is not None else None
    i, c = _flat(incoming), _flat(current)
    type_decision = _decide_field("type", b, i, c, incoming_later)
    if incoming.type != current.type and type_decision is not None:
        source = incoming if type_decision.winner == "incoming" else current
        follow = [
            FieldDecision(f, type_decision.winner, "follows_type")
            for f in MERGE_FIELDS
            if f != "type" and i[f] != c[f]
        ]
        return source, (type_decision, *follow)
    merged: dict[str, Any] = {}
    decisions: list[FieldDecision] = []
    for f in MERGE_FIELDS:
        d = _decide_field(f, b, i, c, incoming_later)
        if d is not None:
            decisions.append(d)
        merged[f] = i[f] if d is not None and d.winner == "incoming" else c[f]
    return _unflat(merged), tuple(decisions)


def _decide_field(
    f: str,
    b: dict[str, Any] | None,
    i: dict[str, Any],
    c: dict[str, Any],
    incoming_later: bool,
) -> FieldDecision | None:
    """Who wins field `f`; None when neither side changed it (or, without a base, they agree)."""
    if b is None:
        if i[f] == c[f]:
            return None
        return FieldDecision(f, "incoming" if incoming_later else "current", "later_tidspunkt")
    incoming_changed, current_changed = i[f] != b[f], c[f] != b[f]
    if incoming_changed and not current_changed:
        return FieldDecision(f, "incoming", "only_incoming_changed")
    if current_changed and not incoming_changed:
        return FieldDecision(f, "current", "only_current_changed")
    if not incoming_changed:
        return None
    if i[f] == c[f]:
        return FieldDecision(f, "current", "same_value")
    return FieldDecision(f, "incoming" if incoming_later else "current", "later_tidspunkt")


def _flat(joblog: Joblog) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in Joblog.model_fields:
        value = getattr(joblog, name)
        if name == KONTAKT:
            for sub in KONTAKT_FIELDS:
                out[f"{KONTAKT}.{sub}"] = getattr(value, sub) if value is not None else None
        else:
            out[name] = value
    return out


def _unflat(flat: dict[str, Any]) -> Joblog:
    data = {k: v for k, v in flat.items() if not k.startswith(f"{KONTAKT}.")}
    kontakt = {sub: flat[f"{KONTAKT}.{sub}"] for sub in KONTAKT_FIELDS}
    data[KONTAKT] = (
        Kontaktperson(**kontakt) if any(v is not None for v in kontakt.values()) else None
    )
    return Joblog.model_validate(data)


def _content(command: JoblogCommand) -> Joblog:
    if command.joblog is None:
        raise Refusal(
            Reason.FIELD_INVALID, f"{command.handling.value} needs the joblog content", "joblog"
        )
    return command.joblog


def _opret(command: JoblogCommand, stored: StoredJoblog | None, accepted: datetime) -> Outcome:
    if stored is not None:
        deleted = stored.slettet and stored.cpr == command.cpr  # a stranger learns no more
        raise Refusal(
            Reason.DUPLICATE_JOBLOG,
            f"joblog {command.joblogId} already exists" + (" (deleted)" if deleted else ""),
            "joblogId",
        )
    entry = StoredJoblog(
        joblogId=command.joblogId,
        cpr=command.cpr,
        version=1,
        slettet=False,
        joblog=_content(command),
        oprettet=accepted,
        senestAendret=accepted,
        kilde=command.kilde,
        kildeBeskedId=command.beskedId,
    )
    return Outcome(entry)


def _next(
    command: JoblogCommand,
    stored: StoredJoblog,
    joblog: Joblog,
    accepted: datetime,
    *,
    slettet: bool = False,
) -> StoredJoblog:
    return StoredJoblog(
        joblogId=stored.joblogId,
        cpr=stored.cpr,
        version=stored.version + 1,
        slettet=slettet,
        joblog=joblog,
        oprettet=stored.oprettet,
        senestAendret=accepted,
        kilde=command.kilde,
        kildeBeskedId=command.beskedId,
    )
