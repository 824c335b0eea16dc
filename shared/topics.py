"""Kafka topic names. External ones are fixed by ../shared/CONTRACT.md; internal ones are ours."""

# External contract (keyed by cpr, except the register which is keyed by akasseNr).
JOBNET_INBOUND = "jobnet.joblog.inbound"
JOBNET_OUTBOUND = "jobnet.joblog.outbound"
JOBNET_REJECTED = "jobnet.joblog.rejected"
AKASSE_INBOUND = "akasse.joblog.inbound"
AKASSE_OUTBOUND = "akasse.joblog.outbound"
AKASSE_REJECTED = "akasse.joblog.rejected"
CITIZEN_STATUS = "dfdg.citizen.status"
CITIZEN_EXEMPTION = "dfdg.citizen.exemption"
CITIZEN_REJECTED = "dfdg.citizen.rejected"
NOTICES = "dfdg.notices"
TIMERS = "dfdg.timers"
AKASSE_REGISTER = "dfdg.akasse.register"

# Internal canonical streams (keyed by cpr).
JOBLOG_COMMANDS = "dfdg.joblog.commands"
"""Validated joblog changes from either adapter, in the canonical model, on their way to storage."""
JOBLOG_CHANGES = "dfdg.joblog.changes"
"""Every change storage accepted (and snapshots for a new a-kasse), for the adapters' outbound."""
CITIZEN_CHANGES = "dfdg.citizen.changes"
"""A citizen's status, exemption or joblog activity was stored: the notifier redoes his timer."""

COMPACTED = {AKASSE_REGISTER}

ALL = [
    JOBNET_INBOUND,
    JOBNET_OUTBOUND,
    JOBNET_REJECTED,
    AKASSE_INBOUND,
    AKASSE_OUTBOUND,
    AKASSE_REJECTED,
    CITIZEN_STATUS,
    CITIZEN_EXEMPTION,
    CITIZEN_REJECTED,
    NOTICES,
    TIMERS,
    AKASSE_REGISTER,
    JOBLOG_COMMANDS,
    JOBLOG_CHANGES,
    CITIZEN_CHANGES,
]

# What each service consumes in its consumer group (for lag: "has the platform caught up?").
CONSUMES = {
    "jobnet-adapter": [JOBNET_INBOUND, JOBLOG_CHANGES],
    "akasse-adapter": [AKASSE_INBOUND, JOBLOG_CHANGES],
    "storage": [JOBLOG_COMMANDS, CITIZEN_STATUS, CITIZEN_EXEMPTION],
    "notifier": [CITIZEN_CHANGES, TIMERS],
}
