"""docs/contract.md is the project's own account of the contract: it must name every topic,
every reason code and every field of the messages the platform reads and writes."""

from __future__ import annotations

from pathlib import Path

from services.notifier.advisering import DueNotice
from shared.contract import topics
from shared.contract.citizen import ExemptionMessage, StatusMessage
from shared.contract.events import Rejection
from shared.contract.rejections import Reason

DOC = (Path(__file__).resolve().parents[2] / "docs" / "contract.md").read_text()


def test_every_topic_is_described():
    for name in topics.PLATFORM:
        assert f"`{name}`" in DOC, name
    for family in (topics.akasse_topics("<nr>"), topics.jobcenter_topics("<kode>")):
        for name in family:
            assert f"`{name}`" in DOC, name


def test_every_reason_code_is_described():
    for reason in Reason:
        assert f"`{reason.value}`" in DOC, reason


def test_every_message_field_is_described():
    for model in (StatusMessage, ExemptionMessage, Rejection):
        for name in model.model_fields:
            assert name in DOC, f"{model.__name__}.{name}"
    for name in DueNotice.__dataclass_fields__:
        assert f"`{name}`" in DOC, f"DueNotice.{name}"
