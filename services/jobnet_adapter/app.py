"""Jobnet adapter: Jobnet's joblog format in and out (jobnet.joblog.inbound/.outbound)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from faststream import FastStream

from services import format_models
from services.adapter import FormatTopics, FrontendAdapter
from services.jobnet_adapter import mapping
from shared import topics
from shared.events import JoblogChange, JoblogCommand
from shared.settings import Settings, get_settings


class JobnetAdapter(FrontendAdapter):
    name = "jobnet-adapter"
    inbound = topics.Source(topics.JOBNET_INBOUND)

    def format_topics(self) -> FormatTopics:
        return FormatTopics(
            format_models.jobnet_inbound(), topics.JOBNET_OUTBOUND,
            format_models.jobnet_outbound(), topics.JOBNET_REJECTED,
        )  # fmt: skip

    def parse(
        self, raw: bytes, key: str | None, received: datetime, max_bytes: int
    ) -> JoblogCommand:
        return mapping.parse_jobnet(raw, key, received, max_bytes)

    def to_outbound(self, change: JoblogChange) -> dict[str, Any]:
        return mapping.jobnet_outbound(change)

    def message_id(self, raw: bytes) -> str | None:
        return mapping.message_id_of(raw)

    def outbound_topic(self, change: JoblogChange) -> str | None:
        # snapshots are for a new a-kasse; Jobnet has every change
        return None if change.snapshot else topics.JOBNET_OUTBOUND


def create_app(settings: Settings | None = None) -> FastStream:
    return JobnetAdapter(settings or get_settings()).app(metrics_offset=0)
