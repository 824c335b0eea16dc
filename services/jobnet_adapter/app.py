"""Jobnet adapter: Jobnet's joblog format in and out (jobnet.joblog.inbound/.outbound)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from faststream import FastStream

from services.adapter import FrontendAdapter
from services.jobnet_adapter import mapping
from shared import topics
from shared.events import JoblogChange, JoblogCommand
from shared.settings import get_settings


class JobnetAdapter(FrontendAdapter):
    name = "jobnet-adapter"
    inbound_topic = topics.JOBNET_INBOUND
    outbound_topic = topics.JOBNET_OUTBOUND
    rejected_topic = topics.JOBNET_REJECTED

    def parse(
        self, raw: bytes, key: str | None, received: datetime, max_bytes: int
    ) -> JoblogCommand:
        return mapping.parse_jobnet(raw, key, received, max_bytes)

    def to_outbound(self, change: JoblogChange) -> dict[str, Any]:
        return mapping.jobnet_outbound(change)

    def message_id(self, raw: bytes) -> str | None:
        return mapping.message_id_of(raw)

    def wants(self, change: JoblogChange) -> bool:
        return not change.snapshot  # snapshots are for a new a-kasse; Jobnet has every change


def create_app() -> FastStream:
    settings = get_settings()
    return JobnetAdapter(settings).app(metrics_offset=0)
