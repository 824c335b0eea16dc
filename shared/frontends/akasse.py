"""The a-kasse joblog format (contract: "a-kasse format") to and from the canonical model.

`AKASSE` below is the whole mapping: the message's fields, the entry's fields (by dotted path
inside "entry") and the enum values. The writing a-kasse becomes the command's kilde
"akasse:<akasseNr>". Inbound is as strict as Jobnet's (see shared.frontends.common); refusals
name fields in a-kasse terms ("entry.employer.postalCode").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shared.contract.events import (
    Ansoegningsstatus,
    Arbejdstid,
    FundetVia,
    Handling,
    JoblogChange,
    JoblogCommand,
    JoblogType,
    Sletning,
    SoegtVia,
)
from shared.contract.rejections import Reason, Refusal
from shared.frontends import common

AKASSE_NR = re.compile(r"[0-9]{3}")


def _kilde(message: common.Json) -> str:
    akasse_nr = common.need(message, "akasseNr", common.as_text)
    if not AKASSE_NR.fullmatch(akasse_nr):
        raise Refusal(Reason.FIELD_INVALID, "akasseNr: must be 3 digits, e.g. 067", "akasseNr")
    return f"akasse:{akasse_nr}"


AKASSE = common.Format(
    envelope={  # canonical -> a-kasse, in the order of the outbound message
        "beskedId": "eventId",
        "handling": "type",
        "akasseNr": "akasseNr",
        "cpr": "memberCpr",
        "joblogId": "logId",
        "tidspunkt": "occurredAt",
        "grundversion": "basedOnVersion",  # inbound only
        "joblog": "entry",
        "version": "version",
        "oprettet": "createdAt",
        "senestAendret": "updatedAt",
        "kilde": "origin",
        "kildeBeskedId": "originEventId",
        "slettet": "deleted",
        "sletning": "retentionDeletion",  # outbound only, on the platform's retention changes
    },
    entry={  # canonical entry path -> path inside "entry"
        "type": "kind",
        "stilling": "jobTitle",
        "virksomhed": "employer.name",
        "adresse": "employer.address",
        "postnummer": "employer.postalCode",
        "by": "employer.city",
        "land": "employer.country",
        "ansoegningsfrist": "deadline",
        "arbejdstid": "hours",
        "kontaktperson": "contact",
        "kontaktperson.navn": "contact.name",
        "kontaktperson.telefon": "contact.phone",
        "kontaktperson.email": "contact.email",
        "link": "adUrl",
        "status": "status",
        "soegtDato": "appliedOn",
        "fundetVia": "source",
        "soegtVia": "channel",
        "aktivitet": "activity",
        "aktivitetsdato": "activityDate",
        "noter": "notes",
    },
    values={  # a-kasse value -> canonical value
        Handling: {
            "JOBLOG_CREATED": Handling.OPRET,
            "JOBLOG_UPDATED": Handling.RET,
            "JOBLOG_DELETED": Handling.SLET,
        },
        JoblogType: {
            "APPLICATION": JoblogType.ANSOEGNING,
            "OTHER_ACTIVITY": JoblogType.ANDEN_AKTIVITET,
        },
        Arbejdstid: {"FULL_TIME": Arbejdstid.FULDTID, "PART_TIME": Arbejdstid.DELTID},
        Ansoegningsstatus: {
            "NOT_APPLIED": Ansoegningsstatus.IKKE_SOEGT,
            "APPLIED": Ansoegningsstatus.SOEGT,
            "INTERVIEW": Ansoegningsstatus.SAMTALE,
            "REJECTED": Ansoegningsstatus.AFSLAG,
            "HIRED": Ansoegningsstatus.FIK_JOB,
        },
        FundetVia: {
            "ADVERTISED": FundetVia.OPSLAAET,
            "UNSOLICITED": FundetVia.UOPFORDRET,
            "NETWORK": FundetVia.NETVAERK,
        },
        SoegtVia: {
            "DIGITAL": SoegtVia.DIGITALT,
            "IN_PERSON": SoegtVia.PERSONLIGT,
            "PHONE": SoegtVia.TELEFONISK,
        },
        Sletning: {
            "OPTIONAL_FIELDS": Sletning.VALGFRIE_FELTER,
            "WHOLE_LOG": Sletning.JOBLOG,
        },
    },
    kilde=_kilde,
)


def parse_akasse(raw: bytes, key: str | None, received: datetime, max_bytes: int) -> JoblogCommand:
    """An `akasse.joblog.inbound` message as a command; raises Refusal. Besides Jobnet's rules
    (shared.frontends.common), akasseNr is required and must be 3 digits."""
    return common.parse_command(raw, key, received, max_bytes, AKASSE)


def akasse_outbound(change: JoblogChange) -> dict[str, Any]:
    """The accepted change as an `akasse.joblog.outbound` message for `change.akasseNr`: eventId
    (the origin's message id), type, akasseNr, memberCpr, logId, occurredAt, the full stored
    entry, version, createdAt, updatedAt, origin ("jobnet" or "akasse:067"), originEventId,
    deleted, and snapshot when it is one."""
    return common.outbound(change, AKASSE)


def message_id_of(raw: bytes) -> str | None:
    """Best effort: the message's eventId, for a rejection record."""
    return common.message_id_of(raw, AKASSE.envelope["beskedId"])
