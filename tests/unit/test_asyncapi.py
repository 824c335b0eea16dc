"""Every service's AsyncAPI document: the topics it consumes and publishes with the payload of
each taken from the message models, and the committed documents in docs/asyncapi/ are exactly
what the code generates (regenerate with `joblog asyncapi`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import yaml
from pydantic import ValidationError, create_model

from ops.docs import DOCS, KAFKA_SERVICES, asyncapi_yaml, document_path
from shared.contract import topics
from shared.contract.events import CitizenChange, JoblogChange, StoredJoblog
from shared.frontends import models as format_models
from shared.frontends.akasse import akasse_outbound, parse_akasse
from shared.frontends.jobnet import jobnet_outbound, parse_jobnet
from tests.unit.format_cases import AKASSE, AKASSE_JOBLOG, BESKED, CPR, JOBLOG_ID, JOBNET, MAX

PUBLISHES = {
    "jobnet-adapter": {
        topics.JOBLOG_COMMANDS: "JoblogCommand",
        topics.JOBNET_OUTBOUND: "JobnetOutbound",
        topics.JOBNET_REJECTED: "Rejection",
        topics.PLATFORM_REJECTED: "Rejection",
    },
    "akasse-adapter": {
        topics.JOBLOG_COMMANDS: "JoblogCommand",
        topics.akasse_outbound("<nr>"): "AkasseOutbound",
        topics.akasse_rejected("<nr>"): "Rejection",
        topics.PLATFORM_REJECTED: "Rejection",
    },
    "storage": {
        topics.JOBLOG_CHANGES: "JoblogChange",
        topics.CITIZEN_CHANGES: "CitizenChange",
        topics.JOBNET_REJECTED: "Rejection",
        topics.akasse_rejected("<nr>"): "Rejection",
        topics.CITIZEN_REJECTED: "Rejection",
        topics.jobcenter_rejected("<kode>"): "Rejection",
        topics.PLATFORM_REJECTED: "Rejection",
    },
    "notifier": {
        topics.NOTICES_BORGER: "DueNotice",
        topics.jobcenter_notices("<kode>"): "DueNotice",
        topics.TIMERS: "Tick",
        topics.PLATFORM_REJECTED: "Rejection",
    },
    "provisioner": {},
    "retention": {topics.JOBLOG_CHANGES: "JoblogChange", topics.PLATFORM_REJECTED: "Rejection"},
}
CONSUMES = {
    "jobnet-adapter": {
        topics.JOBNET_INBOUND: "JobnetInbound",
        topics.JOBLOG_CHANGES: "JoblogChange",
    },
    "akasse-adapter": {
        topics.AKASSE_INBOUND.pattern: "AkasseInbound",
        topics.JOBLOG_CHANGES: "JoblogChange",
        topics.AKASSE_REGISTER: "AkasseRegisterRecord",
    },
    "storage": {
        topics.JOBLOG_COMMANDS: "JoblogCommand",
        topics.CITIZEN_STATUS: "StatusMessage",
        topics.JOBCENTER_EXEMPTION.pattern: "ExemptionMessage",
        topics.AKASSE_REGISTER: "AkasseRegisterRecord",
    },
    "notifier": {topics.CITIZEN_CHANGES: "CitizenChange", topics.TIMERS: "Tick"},
    "provisioner": {topics.AKASSE_REGISTER: "AkasseRegisterRecord"},
    "retention": {
        topics.JOBLOG_CHANGES: "JoblogChange",
        topics.TIMERS: "Tick",
        topics.AKASSE_REGISTER: "AkasseRegisterRecord",
    },
}


def payloads(spec: dict, action: str) -> dict[str, str]:
    """Address -> the schema name of its payload, for the operations doing `action`."""
    found = {}
    for operation in spec["operations"].values():
        if operation["action"] != action:
            continue
        channel = spec["channels"][operation["channel"]["$ref"].split("/")[-1]]
        (message,) = channel["messages"].values()
        name = message["$ref"].split("/")[-1]
        schema = spec["components"]["messages"][name]["payload"]["$ref"].split("/")[-1]
        assert schema in spec["components"]["schemas"], schema
        found[channel["address"]] = schema
    return found


@pytest.mark.parametrize("kind", KAFKA_SERVICES, ids=lambda k: k.name)
def test_the_document_has_each_topic_with_its_model(kind):
    spec = yaml.safe_load(asyncapi_yaml(kind))
    assert spec["info"]["title"] == f"DFDG {kind.name}"
    literal = {s.name for s in kind.consumes if s.pattern is None}
    assert literal <= set(payloads(spec, "receive"))
    assert payloads(spec, "receive") == CONSUMES[kind.name]
    assert payloads(spec, "send") == PUBLISHES[kind.name]


@pytest.mark.parametrize("kind", KAFKA_SERVICES, ids=lambda k: k.name)
def test_the_committed_document_is_the_generated_one(kind):
    committed = document_path(DOCS, kind)
    assert committed.exists(), f"{committed} missing: run `joblog asyncapi`"
    assert committed.read_text() == asyncapi_yaml(kind), (
        f"{committed} is not what the code generates: run `joblog asyncapi` and commit it"
    )


def test_a_changed_model_changes_the_document(monkeypatch):
    """So the comparison above fails when a message model changes without the document."""
    storage = next(kind for kind in KAFKA_SERVICES if kind.name == "storage")
    before = asyncapi_yaml(storage)
    extended = create_model("CitizenChange", __base__=CitizenChange, aendretFelt=(str, ...))
    monkeypatch.setattr("services.storage.app.CitizenChange", extended)
    after = asyncapi_yaml(storage)
    assert "aendretFelt" not in before
    assert "aendretFelt" in after


@pytest.mark.parametrize(
    ("case", "parse", "model"),
    [
        (JOBNET, parse_jobnet, format_models.jobnet_inbound),
        (AKASSE, parse_akasse, format_models.akasse_inbound),
    ],
    ids=["jobnet", "akasse"],
)
def test_the_inbound_format_model_follows_the_parser(case, parse, model):
    body = case.message()
    parse(json.dumps(body).encode(), CPR, case.received, MAX)  # the parser takes it
    model().model_validate(body)  # and the document describes it
    with pytest.raises(ValidationError):  # unknown fields: the parser refuses, so does the doc
        model().model_validate(body | {"ukendt": 1})


@pytest.mark.parametrize(
    ("outbound", "model"),
    [
        (jobnet_outbound, format_models.jobnet_outbound),
        (akasse_outbound, format_models.akasse_outbound),
    ],
    ids=["jobnet", "akasse"],
)
@pytest.mark.parametrize("snapshot", [False, True])
def test_the_outbound_format_model_describes_what_is_sent(outbound, model, snapshot):
    moment = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    entry = StoredJoblog(
        joblogId=JOBLOG_ID, cpr=CPR, version=2,
        joblog=AKASSE_JOBLOG, oprettet=moment, senestAendret=moment,
        kilde="akasse:067", kildeBeskedId=BESKED,
    )  # fmt: skip
    change = JoblogChange(handling="ret", entry=entry, akasseNr="067", snapshot=snapshot)
    model().model_validate(json.loads(json.dumps(outbound(change))))


def test_the_readmes_table_of_services_is_the_registrys():
    from ops.docs import README, readme_services, services_table

    assert readme_services(README.read_text()) == services_table(), (
        "README's table of services is not the registry's: run `joblog asyncapi` and commit it"
    )
