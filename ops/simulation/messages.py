"""The contract's messages for the scenario's statuses, fritagelser and joblog activity."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ops.simulation.scenario import AKASSE, SimActivity, SimExemption, SimStatus
from shared.contract import topics
from shared.contract.tid import COPENHAGEN


def _iso(moment: datetime) -> str:
    return moment.astimezone(COPENHAGEN).isoformat()


def status_message(cpr: str, status: SimStatus, sent_at: datetime) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()), "cpr": cpr, "jobcenter": status.jobcenter,
        "akasseNr": status.akasseNr, "maalgruppe": status.maalgruppe,
        "gyldigFra": status.fra.isoformat(),
        "gyldigTil": status.til.isoformat() if status.til else None, "tidspunkt": _iso(sent_at),
    }  # fmt: skip


def exemption_message(cpr: str, exemption: SimExemption) -> dict[str, Any]:
    return {
        "messageId": str(uuid.uuid4()), "cpr": cpr, "exemptionId": str(uuid.uuid4()),
        "jobcenter": exemption.jobcenter, "handling": "tildel",
        "gyldigFra": exemption.fra.isoformat(),
        "gyldigTil": exemption.til.isoformat() if exemption.til else None,
        "begrundelse": "LAS § 75 stk. 5 (simulation)",
        "alternativDokumentation": "samtaler hver 14. dag",
    }  # fmt: skip


def activity_message(cpr: str, activity: SimActivity, at: datetime) -> tuple[str, dict[str, Any]]:
    if activity.kind == "akasse_created":
        return topics.akasse_inbound(AKASSE), {
            "eventId": str(uuid.uuid4()), "type": "JOBLOG_CREATED", "akasseNr": AKASSE,
            "memberCpr": cpr, "logId": activity.joblogId, "occurredAt": _iso(at),
            "entry": {
                "kind": "APPLICATION", "jobTitle": "Lagermedarbejder",
                "employer": {"name": "Acme A/S", "country": "DK", "postalCode": "8000"},
                "status": "APPLIED",
            },
        }  # fmt: skip
    message: dict[str, Any] = {
        "beskedId": str(uuid.uuid4()),
        "handling": "ret" if activity.kind == "jobnet_ret" else "opret",
        "joblogId": activity.joblogId, "cpr": cpr, "tidspunkt": _iso(at),
        "joblog": {
            "type": "ansoegning", "stilling": "Pædagogmedhjælper", "virksomhed": "Kommunen",
            "land": "DK", "postnummer": "8000", "by": "Aarhus C", "status": "soegt",
            "noter": f"simulation, {activity.kind}",
        },
    }  # fmt: skip
    if activity.grundversion is not None:
        message["grundversion"] = activity.grundversion
    return topics.JOBNET_INBOUND, message
