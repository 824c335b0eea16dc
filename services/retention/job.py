"""The retention job: what is due by the rules (`shared.contract.retention`) deleted in bulk, each
deletion recorded in `sletninger`, the front ends told on their outbound topics. The service
runs it once a day on the platform clock's ticks; `joblog retention [--dry-run]` runs the same.

Linear in what it deletes: it reads the due part of the queue a day at a time (an `_id` range
each), then per chunk of entries one read of the joblogs and, as needed, one of the citizens,
and one bulk write per collection; nothing else is looked at.

Per chunk of joblog entries (`ryd`: a day a joblog changed; `slet`: a cleared joblog):

- **clear** (the optional fields, `Sletning.VALGFRIE_FELTER`): a new version `v+1` inserted in
  the history (the commit point: storage takes versions the same way, so a concurrent change by a
  front end and the job cannot both take `v+1`; the one that lost decides again), the optional
  fields cleared from every older version, the projection replaced, the change published on
  `dfdg.joblog.changes` (both adapters send it out), the entry moved to `slet` (same day), the
  record written, the entry dropped.
- **erase** (`Sletning.JOBLOG`): a tombstone version `v+1` inserted in the history (no cpr, no
  content: the barrier against a concurrent writer of `v+1`), the deletion published, the
  citizen's read model forgets the joblog (its id and activity; his floor `slettetTil` raised so
  the advisering rule owes nothing before it), the projection replaced by the tombstone (storage
  refuses every later command of the id, `joblog_erased`), the history `1..v` deleted, the record
  written, the entry dropped.

Every step is idempotent and the entry is dropped last, so a run that stops anywhere is finished
by the next one: it finds the version (its id is the same on every run) or the tombstone, and
does the remaining steps; a change may go out again, identical (at-least-once, as every change
of the platform). Message ids (`besked`) and the access log (`_id` a UUIDv7 of the time read)
are deleted by id, the record written before the ids go.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Protocol
from uuid import UUID

from pydantic import BaseModel

from services.retention.store import RetentionStore, history_id
from shared.contract import topics
from shared.contract.citizen import StatusMessage, status_on, timeline
from shared.contract.events import Handling, Joblog, JoblogChange, Sletning
from shared.contract.retention import (
    BESKED,
    KILDE,
    RYD,
    SLET,
    Action,
    Periods,
    cleared,
    decide,
    is_erased,
    latest_due_day,
    latest_message_day,
    parse_key,
    queue_key,
    uuid7_prefix,
    version_id,
)
from shared.contract.tid import day_of, start_of_day, to_millis
from shared.platform.ports import Send, in_key_order
from shared.readmodel.document import Document
from shared.readmodel.facts import FactsReader
from shared.readmodel.joblogs import stored_from

log = logging.getLogger("dfdg.retention")

CHUNK = 500
"""Queue entries decided together: one read of their joblogs, one bulk write per collection."""
ID_CHUNK = 1000
"""Message ids or access-log entries deleted (and recorded) together."""
LEASE = timedelta(minutes=10)
"""How long a run holds the job's lease before it must renew it (after each chunk)."""

Publish = Callable[[str, str, BaseModel], Awaitable[None]]


class Register(Protocol):
    def offers_joblog(self, akasse_nr: str | None) -> bool: ...


class Busy(RuntimeError):
    """Another run holds the job's lease."""


REPORTED_IDS = 10_000
"""Joblog ids a report names per kind (its memory stays bounded; the records name them all)."""


@dataclass
class Report:
    """What a run deleted (or, dry, would delete), by kind of record (`sletninger`'s `art`)."""

    deleted: dict[str, int] = field(default_factory=dict)
    joblog_ids: dict[str, list[str]] = field(default_factory=dict)
    """The first `REPORTED_IDS` joblog ids of each kind."""
    stale: int = 0
    """Queue entries dropped as stale (a later change has its own)."""

    def add(self, art: str, count: int, joblog_ids: list[str] | None = None) -> None:
        self.deleted[art] = self.deleted.get(art, 0) + count
        if joblog_ids:
            named = self.joblog_ids.setdefault(art, [])
            named.extend(joblog_ids[: max(0, REPORTED_IDS - len(named))])


VALGFRIE = Sletning.VALGFRIE_FELTER.value
JOBLOG = Sletning.JOBLOG.value
BESKEDER = "beskeder"
ADGANGSLOG = "adgangslog"
ARTS = (VALGFRIE, JOBLOG, BESKEDER, ADGANGSLOG)

Progressed = Callable[[str, int], None]
"""(what, how many more) after each chunk."""


@dataclass
class Job:
    store: RetentionStore
    facts: FactsReader
    publish: Publish
    register: Register
    periods: Periods
    owner: str
    dry_run: bool = False
    progressed: Progressed | None = None
    wall_clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    async def run(self, now: datetime) -> Report:
        """Everything due at `now` (the platform's time): the joblogs' optional fields, the
        joblogs, the message ids, the access log. Raises `Busy` if another run holds the job."""
        report = Report()
        today = day_of(now)
        if not self.dry_run:
            await self._renew()
        finished = False
        try:
            periods = self.periods
            first = periods.optional_fields_years if periods.clears else periods.joblog_years
            await self._joblogs(RYD, latest_due_day(today, first), now, report)
            await self._joblogs(SLET, latest_due_day(today, periods.joblog_years), now, report)
            await self._message_ids(latest_message_day(today, periods.message_id_days), report, now)
            next_day = latest_due_day(today, periods.access_log_years) + timedelta(days=1)
            await self._access_log(start_of_day(next_day), report, now)
            finished = True
        finally:
            if not self.dry_run:
                await self.store.release(self.owner, today if finished else None)
        return report

    async def _renew(self) -> None:
        wall = self.wall_clock()
        if not await self.store.take_lease(self.owner, wall, wall + LEASE):
            raise Busy("another retention run holds the job (sletning_tilstand)")

    def _progress(self, what: str, count: int) -> None:
        if self.progressed is not None:
            self.progressed(what, count)

    # -- joblogs -----------------------------------------------------------------------------

    async def _joblogs(self, kind: str, last_day: date, now: datetime, report: Report) -> None:
        """The kind's due entries, a day at a time from the oldest due, in chunks."""
        day = await self.store.first_due(kind, last_day)
        while day is not None and day <= last_day:
            keys = await self.store.entries_of_day(kind, day)
            for start in range(0, len(keys), CHUNK):
                await self._chunk(kind, keys[start : start + CHUNK], now, report)
                self._progress(f"joblogs ({kind})", len(keys[start : start + CHUNK]))
            day += timedelta(days=1)

    async def _chunk(self, kind: str, keys: list[str], now: datetime, report: Report) -> None:
        today = day_of(now)
        entries = [(key, *parse_key(key)[1:]) for key in keys]
        current = await self.store.current(joblog for _, _, joblog in entries)
        actions: dict[Action, list[tuple[str, Document]]] = {action: [] for action in Action}
        stale: list[str] = []
        for key, day, joblog in entries:
            doc = current.get(joblog)
            stored = stored_from(doc) if doc is not None else None
            action = decide(kind, day, stored, today, self.periods)
            if action is Action.DROP or doc is None:
                stale.append(key)
            else:
                actions[action].append((key, doc))
        clear = actions[Action.CLEAR] + actions[Action.CLEARED]
        erase = actions[Action.ERASE] + actions[Action.ERASED]
        report.stale += len(stale)
        if self.dry_run:
            report.add(VALGFRIE, len(clear), [d["joblogId"] for _, d in clear])
            report.add(JOBLOG, len(erase), [d["joblogId"] for _, d in erase])
            return
        await self._renew()
        done: list[str] = list(stale)
        if clear:
            done += await self._clear(actions[Action.CLEAR], actions[Action.CLEARED], now, report)
        if erase:
            done += await self._erase(actions[Action.ERASE], actions[Action.ERASED], now, report)
        await self.store.drop_entries(done)

    async def _clear(
        self,
        new: list[tuple[str, Document]],
        again: list[tuple[str, Document]],
        now: datetime,
        report: Report,
    ) -> list[str]:
        """Clear the optional fields; the queue entries finished (to drop)."""
        versions = {key: cleared_version(doc, now) for key, doc in new}
        taken = await self.store.add_versions(list(versions.values()))
        made = [(key, version_of(doc)) for key, doc in again]  # (key, the cleared version)
        for key, version in versions.items():
            holder = taken.get(version["_id"], version)
            if holder is not None and holder.get("beskedId") == version["beskedId"]:
                made.append((key, holder))  # ours (or ours from a run that stopped)
            # else a front end changed the joblog meanwhile: its new change has its own entry
        if not made:
            return []
        ids = [history_id(doc["joblogId"], n) for _, doc in made for n in range(1, doc["version"])]
        await self.store.clear_history(ids)
        await self.store.project([projection_of(doc) for _, doc in made])
        statuses = await self.facts.statuses_of(doc["cpr"] for _, doc in made)
        sends: list[tuple[str | None, Send]] = []
        for _, doc in made:
            entry = stored_from(doc)
            change = JoblogChange(
                handling=Handling.SLET if entry.slettet else Handling.RET,
                entry=entry,
                akasseNr=self._akasse_of(statuses.get(entry.cpr, []), now),
                sletning=Sletning.VALGFRIE_FELTER,
            )
            send = partial(self.publish, topics.JOBLOG_CHANGES, entry.cpr, change)
            sends.append((entry.cpr, send))
        await in_key_order(sends)
        keys = [key for key, _ in made]
        await self.store.add_entries(
            queue_key(SLET, parse_key(key)[1], parse_key(key)[2]) for key in keys
        )
        joblogs = [doc["joblogId"] for _, doc in made]
        await self.store.record([deletion_record(VALGFRIE, keys[0], joblogs, now, self.periods)])
        report.add(VALGFRIE, len(joblogs), joblogs)
        log.info("cleared the optional fields of %d joblogs", len(joblogs))
        return keys

    async def _erase(
        self,
        new: list[tuple[str, Document]],
        again: list[tuple[str, Document]],
        now: datetime,
        report: Report,
    ) -> list[str]:
        """Erase the joblogs; the queue entries finished (to drop)."""
        markers = {key: tombstone_of(doc, now) for key, doc in new}
        taken = await self.store.add_versions(list(markers.values()))
        erasing: list[tuple[str, Document]] = []  # (key, the projection before)
        for key, doc in new:
            marker = markers[key]
            holder = taken.get(marker["_id"], marker)
            if holder is not None and holder.get("beskedId") == marker["beskedId"]:
                erasing.append((key, doc))
        if erasing:
            await self._tell_and_forget(erasing, markers, now)
            await self.store.bury([projection_of(markers[key]) for key, _ in erasing])
        finished = erasing + list(again)
        if not finished:
            return []
        tops = {key: markers.get(key, doc)["version"] for key, doc in finished}
        await self.store.delete_history(
            [history_id(doc["joblogId"], n) for key, doc in finished for n in range(1, tops[key])]
        )
        keys = [key for key, _ in finished]
        joblogs = [doc["joblogId"] for _, doc in finished]
        await self.store.record([deletion_record(JOBLOG, keys[0], joblogs, now, self.periods)])
        report.add(JOBLOG, len(joblogs), joblogs)
        log.info("erased %d joblogs and their history", len(joblogs))
        return keys

    async def _tell_and_forget(
        self, erasing: list[tuple[str, Document]], markers: dict[str, Document], now: datetime
    ) -> None:
        """The deletions published, then the citizens' read model forgets the joblogs."""
        cprs = [doc["cpr"] for _, doc in erasing]
        statuses = await self.facts.statuses_of(cprs)
        sends: list[tuple[str | None, Send]] = []
        for key, doc in erasing:
            before = stored_from(doc)
            marker = markers[key]
            entry = before.model_copy(
                update={
                    "version": marker["version"], "slettet": True,
                    "joblog": Joblog(type=before.joblog.type), "kilde": KILDE,
                    "kildeBeskedId": UUID(marker["kildeBeskedId"]),
                }
            )  # fmt: skip
            change = JoblogChange(
                handling=Handling.SLET,
                entry=entry,
                akasseNr=self._akasse_of(statuses.get(entry.cpr, []), now),
                sletning=Sletning.JOBLOG,
            )
            send = partial(self.publish, topics.JOBLOG_CHANGES, entry.cpr, change)
            sends.append((entry.cpr, send))
        await in_key_order(sends)
        citizens = await self.store.activity_of(cprs)
        gone: dict[str, tuple[list[str], list[Document], datetime]] = {}
        for _, doc in erasing:
            cpr, joblog = doc["cpr"], doc["joblogId"]
            ids, entries, until = gone.get(cpr, ([], [], doc["senestAendret"]))
            held = citizens.get(cpr, {})
            ids.append(joblog)
            entries += [a for a in held.get("aktivitet", []) if a.get("joblogId") == joblog]
            gone[cpr] = (ids, entries, max(until, doc["senestAendret"]))
        await self.store.forget(gone)

    def _akasse_of(self, messages: list[StatusMessage], now: datetime) -> str | None:
        """The citizen's a-kasse now, if it offers joblog (the one that holds his copy)."""
        status = status_on(timeline(messages), day_of(now))
        if status is not None and self.register.offers_joblog(status.akasseNr):
            return status.akasseNr
        return None

    # -- message ids and the access log ------------------------------------------------------

    async def _message_ids(self, last_day: date, report: Report, now: datetime) -> None:
        day = await self.store.first_due(BESKED, last_day)
        while day is not None and day <= last_day:
            keys = await self.store.entries_of_day(BESKED, day)
            for start in range(0, len(keys), ID_CHUNK):
                chunk = keys[start : start + ID_CHUNK]
                report.add(BESKEDER, len(chunk))
                self._progress("message ids", len(chunk))
                if self.dry_run:
                    continue
                await self._renew()
                await self.store.delete_messages([parse_key(key)[2] for key in chunk])
                await self.store.record(
                    [deletion_record(BESKEDER, chunk[0], None, now, self.periods, len(chunk))]
                )
                await self.store.drop_entries(chunk)
            day += timedelta(days=1)

    async def _access_log(self, before: datetime, report: Report, now: datetime) -> None:
        """The access log read before `before`, an hour of it at a time."""
        bound = uuid7_prefix(before)
        first = await self.store.first_read(bound)
        if first is None:
            return
        hour = _hour_of(first)
        while hour < before:
            upto = min(hour + timedelta(hours=1), before)
            ids = await self.store.reads_between(uuid7_prefix(hour), uuid7_prefix(upto))
            for start in range(0, len(ids), ID_CHUNK):
                chunk = ids[start : start + ID_CHUNK]
                report.add(ADGANGSLOG, len(chunk))
                self._progress("access log", len(chunk))
                if self.dry_run:
                    continue
                await self._renew()
                record = deletion_record(ADGANGSLOG, chunk[0], None, now, self.periods, len(chunk))
                await self.store.record([record])
                await self.store.delete_reads(chunk)
            hour = upto


# -- the documents the job writes ------------------------------------------------------------


def cleared_version(current: Document, now: datetime) -> Document:
    """The history entry of the version that clears a joblog's optional fields: the platform's
    (`kilde` dfdg), `senestAendret` kept (the periods count from the front ends' last change)."""
    stored = stored_from(current)
    version = stored.version + 1
    message = str(version_id(RYD, stored.joblogId, version))
    at = to_millis(now)
    return {
        "_id": history_id(str(stored.joblogId), version),
        "joblogId": str(stored.joblogId), "cpr": stored.cpr, "version": version,
        "slettet": stored.slettet,
        "joblog": cleared(stored.joblog).model_dump(mode="json", exclude_none=True),
        "oprettet": current["oprettet"], "senestAendret": current["senestAendret"],
        "kilde": KILDE, "kildeBeskedId": message,
        "handling": (Handling.SLET if stored.slettet else Handling.RET).value,
        "beskedId": message, "tidspunkt": at, "accepteret": at, "merge": None,
    }  # fmt: skip


def tombstone_of(current: Document, now: datetime) -> Document:
    """The history entry an erasure leaves (and, as the projection, the tombstone): the id, a
    version after the last, deleted, its type only, no cpr; its `senestAendret` the joblog's
    last change (which entry it was erased for)."""
    stored = stored_from(current)
    version = stored.version + 1
    message = str(version_id(SLET, stored.joblogId, version))
    at = to_millis(now)
    doc: Document = {
        "_id": history_id(str(stored.joblogId), version),
        "joblogId": str(stored.joblogId), "cpr": "", "version": version, "slettet": True,
        "joblog": {"type": stored.joblog.type.value},
        "oprettet": current["senestAendret"], "senestAendret": current["senestAendret"],
        "kilde": KILDE, "kildeBeskedId": message, "handling": Handling.SLET.value,
        "beskedId": message, "tidspunkt": at, "accepteret": at, "merge": None, "udslettet": at,
    }  # fmt: skip
    assert is_erased(stored_from(doc))
    return doc


def version_of(projection: Document) -> Document:
    """A projection as the history entry it holds."""
    version = {k: v for k, v in projection.items() if k not in ("historik", "batchTidligere")}
    return {**version, "_id": projection["historik"]}


def projection_of(version: Document) -> Document:
    """A history entry as the projection (`joblogs`) holds it."""
    return {**version, "_id": version["joblogId"], "historik": version["_id"]}


def deletion_record(
    art: str,
    first_key: str,
    joblog_ids: list[str] | None,
    now: datetime,
    periods: Periods,
    count: int | None = None,
) -> Document:
    """What a chunk deleted: the kind, how many, which joblogs (no content, no cpr), when and
    by which period. Named by its kind and first entry, so a run that does the chunk again
    replaces it rather than adding one."""
    years = {
        VALGFRIE: periods.optional_fields_years, JOBLOG: periods.joblog_years,
        ADGANGSLOG: periods.access_log_years,
    }  # fmt: skip
    rule = {"dage": periods.message_id_days} if art == BESKEDER else {"aar": years[art]}
    record: Document = {
        "_id": f"{art}|{first_key}",
        "art": art,
        "antal": count if count is not None else len(joblog_ids or []),
        "tidspunkt": to_millis(now),
        "regel": rule,
    }
    if joblog_ids is not None:
        record["joblogIds"] = sorted(joblog_ids)
    return record


def _hour_of(entry_id: str) -> datetime:
    millis = int(entry_id[:8] + entry_id[9:13], 16)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=millis)
    return moment.replace(minute=0, second=0, microsecond=0)
