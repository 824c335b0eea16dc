"""a-kasse adapter: the a-kasse joblog format in and out (akasse.<nr>.joblog.inbound/.outbound).

Every a-kasse's inbound topic is followed by pattern, so a new a-kasse needs no restart. The
a-kasse is the topic's: a body naming another is refused (`akasse_mismatch`). Only a-kasser
registered as offering a joblog may write (the register follows the compacted topic
dfdg.akasse.register); membership is checked by storage, which holds the status timeline.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from faststream import FastStream

from services import format_models
from services.adapter import FormatTopics, FrontendAdapter
from services.akasse_adapter import mapping
from shared import topics
from shared.events import JoblogChange, JoblogCommand
from shared.kafka import Inbound
from shared.rejections import Reason, Refusal
from shared.settings import Settings, get_settings


class AkasseAdapter(FrontendAdapter):
    name = "akasse-adapter"
    follows_register = True
    inbound = topics.AKASSE_INBOUND

    def format_topics(self) -> FormatTopics:
        return FormatTopics(
            format_models.akasse_inbound(), topics.akasse_outbound("<nr>"),
            format_models.akasse_outbound(), topics.akasse_rejected("<nr>"),
        )  # fmt: skip

    def parse(
        self, raw: bytes, key: str | None, received: datetime, max_bytes: int
    ) -> JoblogCommand:
        return mapping.parse_akasse(raw, key, received, max_bytes)

    def to_outbound(self, change: JoblogChange) -> dict[str, Any]:
        return mapping.akasse_outbound(change)

    def message_id(self, raw: bytes) -> str | None:
        return mapping.message_id_of(raw)

    def check(self, command: JoblogCommand, inbound: Inbound) -> None:
        akasse_nr = command.akasse_nr
        if akasse_nr != topics.akasse_of(inbound.topic):
            raise Refusal(
                Reason.AKASSE_MISMATCH,
                f"akasseNr {akasse_nr} is not the a-kasse of {inbound.topic}",
                "akasseNr",
            )
        if not self.register.offers_joblog(akasse_nr):
            known = self.register.get(akasse_nr) is not None
            raise Refusal(
                Reason.AKASSE_WITHOUT_JOBLOG,
                f"a-kasse {akasse_nr} "
                + ("does not offer a joblog" if known else "is not in the a-kasse register"),
                "akasseNr",
            )

    def outbound_topic(self, change: JoblogChange) -> str | None:
        # the citizen's a-kasse, when it offers a joblog
        return topics.akasse_outbound(change.akasseNr) if change.akasseNr else None


def create_app(settings: Settings | None = None) -> FastStream:
    return AkasseAdapter(settings or get_settings()).app(metrics_offset=1)
