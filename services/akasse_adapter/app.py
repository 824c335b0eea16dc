"""a-kasse adapter: the a-kasse joblog format in and out (akasse.joblog.inbound/.outbound).

Only a-kasser registered as offering a joblog may write (the register follows the compacted
topic dfdg.akasse.register); membership is checked by storage, which holds the status timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from faststream import FastStream

from services.adapter import FrontendAdapter
from services.akasse_adapter import mapping
from shared import topics
from shared.events import JoblogChange, JoblogCommand
from shared.rejections import Reason, Refusal
from shared.settings import get_settings


class AkasseAdapter(FrontendAdapter):
    name = "akasse-adapter"
    follows_register = True
    inbound_topic = topics.AKASSE_INBOUND
    outbound_topic = topics.AKASSE_OUTBOUND
    rejected_topic = topics.AKASSE_REJECTED

    def parse(
        self, raw: bytes, key: str | None, received: datetime, max_bytes: int
    ) -> JoblogCommand:
        return mapping.parse_akasse(raw, key, received, max_bytes)

    def to_outbound(self, change: JoblogChange) -> dict[str, Any]:
        return mapping.akasse_outbound(change)

    def message_id(self, raw: bytes) -> str | None:
        return mapping.message_id_of(raw)

    def check(self, command: JoblogCommand) -> None:
        akasse_nr = command.akasse_nr
        if not self.register.offers_joblog(akasse_nr):
            known = self.register.get(akasse_nr) is not None
            raise Refusal(
                Reason.AKASSE_WITHOUT_JOBLOG,
                f"a-kasse {akasse_nr} "
                + ("does not offer a joblog" if known else "is not in the a-kasse register"),
                "akasseNr",
            )

    def wants(self, change: JoblogChange) -> bool:
        return change.akasseNr is not None  # the citizen's a-kasse offers a joblog


def create_app() -> FastStream:
    settings = get_settings()
    return AkasseAdapter(settings).app(metrics_offset=1)
