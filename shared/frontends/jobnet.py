"""Jobnet's joblog format (contract: "Jobnet format") to and from the canonical model.

Jobnet speaks DFDG's own vocabulary, so its table is the identity: the message's fields and the
entry's fields (under "joblog") carry the canonical names and values.

Inbound is strict (see shared.frontends.common): a body over the size limit, not UTF-8 or not a
JSON object is `malformed`; an invalid cpr is `invalid_cpr`; a Kafka key other than the cpr is
`malformed` (field "key"); a missing or wrong-typed field, an unknown enum value, a bad UUID,
date or time (times need an offset), an unknown field at any level, or a broken field rule is
`field_invalid` naming the field ("joblog.status"). `grundversion` (from 1) is required for
ret and slet; `joblog` is required for opret and ret and ignored for slet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.contract.events import JoblogChange, JoblogCommand
from shared.frontends import common

JOBNET = common.Format(
    envelope=common.identity(
        tuple(f for f in common.INBOUND_FIELDS if f != "akasseNr") + common.OUTBOUND_ONLY_FIELDS
    ),
    entry=common.identity(common.ENTRY_KINDS),
    values={enum: {member.value: member for member in enum} for enum in common.ENUMS},
    kilde=lambda message: "jobnet",
)


def parse_jobnet(raw: bytes, key: str | None, received: datetime, max_bytes: int) -> JoblogCommand:
    """A `jobnet.joblog.inbound` message as a command; raises Refusal (see the module doc)."""
    return common.parse_command(raw, key, received, max_bytes, JOBNET)


def jobnet_outbound(change: JoblogChange) -> dict[str, Any]:
    """The accepted change as a `jobnet.joblog.outbound` message: beskedId (the origin's message
    id), handling, joblogId, cpr, tidspunkt, the full stored joblog, version, oprettet,
    senestAendret, kilde, kildeBeskedId, slettet, and snapshot when it is one."""
    return common.outbound(change, JOBNET)


def message_id_of(raw: bytes) -> str | None:
    """Best effort: the message's beskedId, for a rejection record."""
    return common.message_id_of(raw, JOBNET.envelope["beskedId"])
