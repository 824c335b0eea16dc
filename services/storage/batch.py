"""Storage's joblog commands a Kafka batch at a time (`Runtime.consume(handle_batch=...)`): the
same decisions as `handlers.handle_command` (the per-record path, which the runtime falls back
on when a batch fails on something other than an outage), by the same pure rules, with one read
and one write per collection for the whole batch instead of six round trips per record:

1. read `beskeder` (the finished message ids), then `borgere` (the citizens' status messages
   only) and `joblogs` (the projections) at once, then the merge bases in `joblog_history`,
   each one `_id $in`;
2. decide in memory, in waves: the n-th record of a joblog in the batch is in wave n, decided
   against what wave n-1 stored, so the second edit of a joblog in one batch is decided against
   the first; each wave's versions are inserted in one unordered `insert_many` into
   `joblog_history` (the commit point, as before). A version taken (a concurrent writer, or this
   very message before a crash) is read back in one `$in` and decided against, up to
   `VERSION_ATTEMPTS` times, as today;
3. then the projections (one `insert_many` of new joblogs', one `bulk_write` replacing older
   ones) and, at the same time, the activity in `aktivitet` (one `insert_many`), the changes,
   notes and refusals published together (a citizen's in order: `in_key_order`), and `beskeder`
   last (one `insert_many`).

The crash protocol is today's: every step is idempotent, the history insert is where a change
is decided, and `beskeder` is written only when everything else is durable, so a batch that
comes again after a crash completes exactly what was missing."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from uuid import UUID

from services.storage.handlers import (
    VERSION_ATTEMPTS,
    VersionTaken,
    check_command,
    check_membership,
    format_of,
    gentagelse_of,
    next_entry,
    original,
    receiving_of,
)
from services.storage.ports import StoragePorts
from services.storage.records import HistoryEntry
from shared.contract import topics
from shared.contract.citizen import StatusMessage, status_on, timeline
from shared.contract.cpr import mask
from shared.contract.events import CitizenChange, Joblog, JoblogChange, JoblogCommand
from shared.contract.inbound import Inbound
from shared.contract.rejections import Refusal
from shared.contract.tid import day_of
from shared.frontends.common import naming_the_field
from shared.platform.ports import Send, in_key_order

log = logging.getLogger("dfdg.storage")

Key = tuple[UUID, int]
Projections = tuple[dict[UUID, HistoryEntry], dict[UUID, Key]]
"""`projected_among`'s answer: the newest entry of each joblog, the batch's earlier ones."""
STEPS = (
    "beskeder read", "field rules", "status and projections read", "history", "read models",
    "sent", "beskeder written",
)  # fmt: skip
"""A batch's steps, in order, each timed (`ports.steps`, on the metrics as `STEP_METRIC`)."""
STEP_METRIC = "dfdg_storage_batch_step_seconds"


@dataclass(frozen=True)
class Record:
    inbound: Inbound
    command: JoblogCommand


async def handle_commands(batch: list[Inbound], ports: StoragePorts) -> None:
    """A batch of joblog commands (see the module docstring); the time of each step on the
    metrics (`STEPS`)."""
    lap = ports.steps.lap()
    records = [Record(i, JoblogCommand.model_validate_json(i.body)) for i in batch]
    now = await ports.clock.now()
    today = day_of(now)
    before = await ports.repo.finished_among(r.command.beskedId for r in records)
    lap("beskeder read")
    seen: set[UUID] = set()  # a twin of a message in this batch is decided with it
    pending: list[Record] = []
    again: list[tuple[Record, Refusal]] = []  # refused before: the refusal again
    for record in records:
        besked_id = record.command.beskedId
        if besked_id in seen:
            continue
        seen.add(besked_id)
        outcome = before.get(besked_id)
        if outcome is None or not outcome.settles(gentagelse_of(record.command, record.inbound)):
            pending.append(record)
        elif outcome.refusal is not None:  # a crash may have come before it went out
            again.append((record, outcome.refusal))
    refused: list[tuple[Record, Refusal]] = []
    checked: list[Record] = []
    for record in pending:
        try:
            check_command(record.command, today)
        except Refusal as refusal:
            refused.append((record, refusal))
        else:
            checked.append(record)
    lap("field rules")
    statuses: dict[str, list[StatusMessage]] = {}
    projections: Projections = ({}, {})
    if checked:  # the citizens' status and the joblogs' projections at once (one round trip)
        statuses, projections = await asyncio.gather(
            ports.facts.statuses_of(r.command.cpr for r in checked),
            ports.repo.projected_among(r.command.joblogId for r in checked),
        )
    members: list[Record] = []
    for record in checked:
        command = record.command
        try:
            if command.akasse_nr is not None:
                status = status_on(timeline(statuses.get(command.cpr, [])), today)
                check_membership(command, status, today)
        except Refusal as refusal:
            refused.append((record, refusal))
        else:
            members.append(record)
    lap("status and projections read")

    entries: dict[int, HistoryEntry] = {}  # by the record's place in `members`
    projected: set[UUID] = set()  # the joblogs that had a projection
    if members:
        decided, more_refused, projected = await accept_all(members, projections, now, ports)
        entries.update(decided)
        refused.extend(more_refused)
    accepted = [entries[i] for i in sorted(entries)]
    lap("history")

    if accepted:  # two read models of the stored history, written at once
        await asyncio.gather(
            ports.repo.project_all(accepted, projected),
            ports.writer.apply_bulk([e.activity() for e in accepted]),
        )
    if refused:  # decided: recorded before the refusals go out
        await ports.repo.mark_refused(
            [(r.command.beskedId, why, gentagelse_of(r.command, r.inbound)) for r, why in refused],
            {r.command.beskedId for r, _ in refused if r.command.beskedId in before},
            today,
        )
    lap("read models")
    sends: list[tuple[str | None, Send]] = []  # a citizen's in his records' order
    for record, why in sorted([*refused, *again], key=lambda r: records.index(r[0])):
        command = record.command
        named = naming_the_field(why, format_of(command))  # in the producer's terms
        where = original(command, record.inbound)
        send = partial(ports.outbox.reject, where, named, str(command.beskedId))
        sends.append((command.cpr, send))
    for entry in accepted:
        change = JoblogChange(
            handling=entry.handling,
            entry=entry.stored,
            akasseNr=receiving_of(statuses.get(entry.cpr, []), entry.accepteret, ports.register),
        )
        note = CitizenChange(cpr=entry.cpr, aarsag="joblog", tidspunkt=entry.accepteret)
        sends.append((entry.cpr, partial(_send_on, ports, entry.cpr, change, note)))
    await in_key_order(sends)
    lap("sent")
    if accepted:
        await ports.repo.mark_all_finished(
            accepted, [e.besked_id for e in accepted if e.besked_id in before]
        )
    lap("beskeder written")


async def accept_all(
    members: list[Record], projections: Projections, now: datetime, ports: StoragePorts
) -> tuple[dict[int, HistoryEntry], list[tuple[Record, Refusal]], set[UUID]]:
    """The history entry of each command (by its place in `members`), or its refusal, and the
    joblogs that had a projection (`projections`: `projected_among` of at least their joblogs);
    the commands of one joblog in waves, in the batch's order."""
    waves: list[list[int]] = []
    position: dict[UUID, int] = {}
    for index, record in enumerate(members):
        n = position.get(record.command.joblogId, 0)
        position[record.command.joblogId] = n + 1
        if n == len(waves):
            waves.append([])
        waves[n].append(index)
    latest, earlier = dict(projections[0]), projections[1]
    projected = set(latest)
    # the merge bases: the versions the edits were based on, when older than the projection's
    # (a later wave's stored version is at most its place higher: a superset, read once); and
    # after a crash past the projection, the entries this batch's messages stored before it
    bases: dict[Key, Joblog | None] = {}
    wanted: list[Key] = []
    mine: dict[UUID, Key] = {}
    for record in members:
        command = record.command
        made = earlier.get(command.beskedId)
        if made is not None and made[0] == command.joblogId:
            mine[command.beskedId] = made
            wanted.append(made)
    for n, wave in enumerate(waves):
        for index in wave:
            command = members[index].command
            grund, stored = command.grundversion, latest.get(command.joblogId)
            if grund is not None and stored is not None and grund < stored.version + n:
                wanted.append((command.joblogId, grund))
    stored_before: dict[UUID, HistoryEntry] = {}
    if wanted:
        found = await ports.repo.entries_at(wanted)
        bases = {key: found[key].stored.joblog if key in found else None for key in wanted}
        for besked_id, at in mine.items():
            held = found.get(at)
            if held is not None and held.made_by(besked_id):
                stored_before[besked_id] = held

    entries: dict[int, HistoryEntry] = {}
    refused: list[tuple[Record, Refusal]] = []
    for wave in waves:
        open_ = list(wave)
        for _ in range(VERSION_ATTEMPTS):
            new: list[tuple[int, HistoryEntry]] = []
            missing = [
                k
                for index in open_
                if (k := _base_key(members[index].command, latest)) and k not in bases
            ]
            if missing:  # an edit's base beyond the prefetch (after a version was taken)
                found = await ports.repo.entries_at(missing)
                bases.update({k: found[k].stored.joblog if k in found else None for k in missing})
            for index in open_:
                command = members[index].command
                current = latest.get(command.joblogId)
                # stored by this message before a crash: the newest, or under a newer one
                own = (
                    current
                    if current is not None and current.made_by(command.beskedId)
                    else stored_before.get(command.beskedId)
                )
                if own is not None and own.cpr == command.cpr:
                    entries[index] = own
                    continue
                base_key = _base_key(command, latest)
                base = bases.get(base_key) if base_key else None
                try:
                    entry = next_entry(command, current, base, now)
                except Refusal as refusal:
                    refused.append((members[index], refusal))
                    continue
                new.append((index, entry))
            taken = await ports.repo.add_versions([e for _, e in new]) if new else {}
            open_ = []
            for index, entry in new:
                key = (entry.joblog_id, entry.version)
                if key in taken:  # unprojected (a crash) or a concurrent writer's
                    holder = taken[key]
                    if holder is not None:
                        latest[entry.joblog_id] = holder
                        bases[key] = holder.stored.joblog
                    open_.append(index)
                    continue
                entries[index] = entry
                latest[entry.joblog_id] = entry
                bases[key] = entry.stored.joblog
                command = members[index].command
                log.info(
                    "joblog %s v%d %s from %s for %s", command.joblogId, entry.version,
                    command.handling, command.kilde, mask(command.cpr),
                )  # fmt: skip
            if not open_:
                break
        else:  # another writer kept taking the versions: let the batch come again
            ids = sorted({str(members[i].command.joblogId) for i in open_})
            raise VersionTaken(f"joblogs {ids}: version taken {VERSION_ATTEMPTS} times")
    return entries, refused, projected


async def _send_on(
    ports: StoragePorts, cpr: str, change: JoblogChange, note: CitizenChange
) -> None:
    """One accepted change: on dfdg.joblog.changes, and noted for the notifier."""
    await asyncio.gather(
        ports.outbox.publish(topics.JOBLOG_CHANGES, cpr, change),
        ports.outbox.publish(topics.CITIZEN_CHANGES, cpr, note),
    )


def _base_key(command: JoblogCommand, latest: dict[UUID, HistoryEntry]) -> Key | None:
    """The version a merge needs as its base, if any (an edit based on an older version)."""
    stored = latest.get(command.joblogId)
    grund = command.grundversion
    if grund is not None and stored is not None and grund < stored.version:
        return (command.joblogId, grund)
    return None
