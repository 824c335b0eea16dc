"""Jobnet adapter: Jobnet's joblog format in and out (jobnet.joblog.inbound/.outbound)."""

from __future__ import annotations

from shared.contract import topics
from shared.contract.events import JoblogChange
from shared.frontends import handlers as frontend
from shared.frontends import jobnet
from shared.frontends import models as format_models
from shared.platform.registry import named
from shared.platform.runtime import Runtime, Service
from shared.platform.settings import Settings

SPEC = named("jobnet-adapter")


def outbound_topic(change: JoblogChange) -> str | None:
    """Jobnet has every change (snapshots are for a new a-kasse)."""
    return None if change.snapshot else topics.JOBNET_OUTBOUND


JOBNET = frontend.FrontEnd(
    jobnet.parse_jobnet, jobnet.message_id_of, jobnet.jobnet_outbound, outbound_topic
)


def build(settings: Settings) -> Service[frontend.AdapterPorts]:
    """The composition root."""
    runtime = Runtime(SPEC.name, settings, __doc__ or "")
    runtime.ticks()
    documented = frontend.Documented(
        format_models.jobnet_inbound(), topics.JOBNET_OUTBOUND,
        format_models.jobnet_outbound(), topics.JOBNET_REJECTED,
    )  # fmt: skip
    ports = frontend.wire(runtime, topics.Source(topics.JOBNET_INBOUND), JOBNET, documented)
    return Service(runtime, ports)
