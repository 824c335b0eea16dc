"""Retention: personal data deleted when its time is up (GDPR art. 5(1)(e)); the rules are
`shared/contract/retention.py`, the job `services/retention/job.py`.

- dfdg.joblog.changes: every accepted change puts its joblog and its message id in the queue
  (`udloeb`, keyed by the day), so the job finds what is due by `_id` range, never by a scan;
- dfdg.timers: once a day, on the platform clock (the simulated one in tests), the job deletes
  what is due in bulk: a joblog's optional fields after 4 years, the whole joblog and its history
  after 5, message ids after 30 days, the access log after 5 years (the settings
  JOBLOG_RETENTION_OPTIONAL_FIELDS_YEARS, _JOBLOG_YEARS, _ACCESS_LOG_YEARS, _MESSAGE_ID_DAYS);
  both front ends are told on their outbound topics (through dfdg.joblog.changes: `sletning`).
- Each deletion is recorded in the collection `sletninger`: `art` (valgfrie_felter, joblog,
  beskeder, adgangslog), `antal`, `joblogIds` (no content, no cpr), `tidspunkt`, `regel`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import partial

from prometheus_client import Counter

from services.retention import handlers
from services.retention.handlers import Runner
from services.retention.job import Job, Report
from services.retention.store import RetentionStore
from shared.contract import topics
from shared.contract.events import JoblogChange, Rejection
from shared.contract.retention import Periods
from shared.platform.registry import named
from shared.platform.runtime import Runtime, Service, Tick
from shared.platform.settings import Settings
from shared.readmodel.facts import FactsReader

SPEC = named("retention")


@dataclass(frozen=True)
class RetentionPorts:
    store: RetentionStore
    job: Job
    runner: Runner


def periods_of(settings: Settings) -> Periods:
    return Periods(
        optional_fields_years=settings.retention_optional_fields_years,
        joblog_years=settings.retention_joblog_years,
        access_log_years=settings.retention_access_log_years,
        message_id_days=settings.retention_message_id_days,
    )


def build(settings: Settings) -> Service[RetentionPorts]:
    """The composition root (tests reach the job and its runner through the ports)."""
    runtime = Runtime(SPEC.name, settings, __doc__ or "", with_database=True)
    register = runtime.register()
    db = runtime.database()
    store = RetentionStore(db)
    deleted = Counter(
        "dfdg_retention_deleted", "Records the retention job deleted", ["art"],
        registry=runtime.metrics,
    )  # fmt: skip
    runs = Counter("dfdg_retention_runs", "Retention runs finished", registry=runtime.metrics)

    def ran(report: Report) -> None:
        runs.inc()
        for art, count in report.deleted.items():
            deleted.labels(art).inc(count)

    job = Job(
        store, FactsReader(db), runtime.outbox.publish, register, periods_of(settings),
        owner=f"retention-{uuid.uuid4()}",
    )  # fmt: skip
    runner = Runner(job, store, runtime.clock.simulated, ran)
    runtime.on_stop(runner.stop)
    keep = partial(handlers.keep, outbox=runtime.outbox)
    runtime.consume(
        topics.Source(topics.JOBLOG_CHANGES), JoblogChange,
        partial(handlers.handle_change, store=store), keep,
        partial(handlers.handle_changes, store=store),
    )  # fmt: skip
    runtime.consume(topics.Source(topics.TIMERS), Tick, runner.handle_tick, keep)
    runtime.sends(
        topics.JOBLOG_CHANGES, JoblogChange,
        "a retention change: a joblog's optional fields cleared, or the joblog erased",
    )  # fmt: skip
    runtime.sends(topics.PLATFORM_REJECTED, Rejection, "a change we failed on")
    return Service(runtime, RetentionPorts(store, job, runner))
