"""Fakes of the ports (`shared.platform.ports`) for the handlers' fast tests: what a handler
published and refused is kept in lists, in order."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from shared.contract import topics
from shared.contract.inbound import Inbound
from shared.contract.rejections import Refusal


@dataclass
class FakeClock:
    moment: datetime

    async def now(self) -> datetime:
        return self.moment


@dataclass
class Published:
    topic: str
    key: str
    payload: Any  # the model as published, or the JSON of bytes


@dataclass
class Rejected:
    topic: str
    inbound: Inbound
    refusal: Refusal
    message_id: str | None


@dataclass
class FakeOutbox:
    published: list[Published] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    async def publish(self, topic: str, key: str, payload: BaseModel | bytes) -> None:
        body = json.loads(payload) if isinstance(payload, bytes) else payload
        self.published.append(Published(topic, key, body))

    async def reject(
        self,
        inbound: Inbound,
        refusal: Refusal,
        message_id: str | None,
        topic: str | None = None,
    ) -> None:
        target = topic or topics.rejected_topic_for(inbound.topic)
        self.rejected.append(Rejected(target, inbound, refusal, message_id))

    def on(self, topic: str) -> list[Any]:
        return [p.payload for p in self.published if p.topic == topic]
