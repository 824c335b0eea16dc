"""Who may read and write what on Kafka: the contract's table of parties and topics as data.

Pure: the provisioning (`shared.cluster.provisioning`) turns these grants into Kafka ACLs;
nothing is allowed that is not listed here (the broker runs with
`allow.everyone.if.no.acl.found=false`).

Principals: `jobnet`, `akasse-<nr>`, `jobcenter-<kode>`, `status-feed`, `digital-post`,
`operator` (the parties), `dfdg-<service>` (the platform's own services) and `admin` (the
provisioning only; a super user of the broker).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shared.contract import topics
from shared.contract.kommuner import KOMMUNER
from shared.platform.registry import PRINCIPALS

ADMIN = "admin"
JOBNET = "jobnet"
STATUS_FEED = "status-feed"
DIGITAL_POST = "digital-post"
OPERATOR = "operator"


def service_principal(service: str) -> str:
    return f"dfdg-{service}"


def akasse_principal(nr: str) -> str:
    return f"akasse-{nr}"


def jobcenter_principal(kode: str) -> str:
    return f"jobcenter-{kode}"


@dataclass(frozen=True)
class Grant:
    """`principal` may `operation` the topic or consumer group `name` (a name prefix when
    `prefixed`). Reading a topic includes describing it; writing includes idempotent writes."""

    principal: str
    operation: Literal["read", "write"]
    resource: Literal["topic", "group"]
    name: str
    prefixed: bool = False


def _reads(principal: str, *names: str) -> list[Grant]:
    return [Grant(principal, "read", "topic", name) for name in names]


def _writes(principal: str, *names: str) -> list[Grant]:
    return [Grant(principal, "write", "topic", name) for name in names]


def _own_groups(principal: str) -> Grant:
    """A party's consumer groups are those whose names start with its principal."""
    return Grant(principal, "read", "group", principal, prefixed=True)


def party_principals() -> list[str]:
    """The parties that exist from the start (a-kasser come with the register)."""
    return [
        JOBNET, STATUS_FEED, DIGITAL_POST, OPERATOR,
        *(jobcenter_principal(kode) for kode in sorted(KOMMUNER)),
    ]  # fmt: skip


def platform_grants() -> list[Grant]:
    """The fixed topics: Jobnet, the status feed, digital post, the operator, the services."""
    jobnet_adapter = service_principal("jobnet-adapter")
    akasse_adapter = service_principal("akasse-adapter")
    storage = service_principal("storage")
    notifier = service_principal("notifier")
    retention = service_principal("retention")
    grants = [
        *_writes(JOBNET, topics.JOBNET_INBOUND),
        *_reads(JOBNET, topics.JOBNET_OUTBOUND, topics.JOBNET_REJECTED),
        *_writes(STATUS_FEED, topics.CITIZEN_STATUS),
        *_reads(STATUS_FEED, topics.CITIZEN_REJECTED),
        *_reads(DIGITAL_POST, topics.NOTICES_BORGER),
        *_writes(OPERATOR, topics.TIMERS, topics.AKASSE_REGISTER),
        *_reads(OPERATOR, topics.AKASSE_REGISTER, topics.PLATFORM_REJECTED),
        *(_own_groups(p) for p in (JOBNET, STATUS_FEED, DIGITAL_POST, OPERATOR)),
        # the services: consumer groups are theirs to name (JOBLOG_GROUP_PREFIX)
        *(Grant(service_principal(s), "read", "group", "*") for s in PRINCIPALS),
        *_reads(jobnet_adapter, topics.JOBNET_INBOUND, topics.JOBLOG_CHANGES, topics.TIMERS),
        *_writes(
            jobnet_adapter, topics.JOBLOG_COMMANDS, topics.JOBNET_OUTBOUND, topics.JOBNET_REJECTED
        ),
        *_reads(akasse_adapter, topics.JOBLOG_CHANGES, topics.TIMERS, topics.AKASSE_REGISTER),
        *_writes(akasse_adapter, topics.JOBLOG_COMMANDS),
        # what a service failed on in the platform's own topics (and the operator's bad ticks)
        *(
            Grant(service_principal(s), "write", "topic", topics.PLATFORM_REJECTED)
            for s in ("jobnet-adapter", "akasse-adapter", "storage", "notifier", "retention")
        ),
        *_reads(storage, topics.JOBLOG_COMMANDS, topics.CITIZEN_STATUS, topics.AKASSE_REGISTER),
        *_writes(
            storage,
            topics.JOBLOG_CHANGES,
            topics.CITIZEN_CHANGES,
            topics.CITIZEN_REJECTED,
            topics.JOBNET_REJECTED,
        ),
        *_reads(notifier, topics.CITIZEN_CHANGES, topics.TIMERS, topics.NOTICES_BORGER),
        *_writes(notifier, topics.TIMERS, topics.NOTICES_BORGER),
        *_reads(retention, topics.JOBLOG_CHANGES, topics.TIMERS, topics.AKASSE_REGISTER),
        *_writes(retention, topics.JOBLOG_CHANGES),
    ]
    for kode in sorted(KOMMUNER):
        grants += jobcenter_grants(kode)
    return grants


def akasse_grants(nr: str) -> list[Grant]:
    """A-kasse `nr`: its own three topics, and the services' access to them."""
    party = akasse_principal(nr)
    inbound, outbound, rejected = topics.akasse_topics(nr)
    adapter = service_principal("akasse-adapter")
    return [
        *_writes(party, inbound),
        *_reads(party, outbound, rejected),
        _own_groups(party),
        *_reads(adapter, inbound),
        *_writes(adapter, outbound, rejected),
        *_writes(service_principal("storage"), rejected),
    ]


def jobcenter_grants(kode: str) -> list[Grant]:
    """Jobcenter `kode`: its own three topics, and the services' access to them."""
    party = jobcenter_principal(kode)
    exemption, rejected, notices = topics.jobcenter_topics(kode)
    storage = service_principal("storage")
    notifier = service_principal("notifier")
    return [
        *_writes(party, exemption),
        *_reads(party, rejected, notices),
        _own_groups(party),
        *_reads(storage, exemption),
        *_writes(storage, rejected),
        *_reads(notifier, notices),
        *_writes(notifier, notices),
    ]


def writer_of(topic: str) -> str:
    """The party that produces to an inbound topic (tools send in its name)."""
    if topic == topics.JOBNET_INBOUND:
        return JOBNET
    if topic == topics.CITIZEN_STATUS:
        return STATUS_FEED
    if topic in (topics.TIMERS, topics.AKASSE_REGISTER):
        return OPERATOR
    if (nr := topics.akasse_of(topic)) is not None and topic == topics.akasse_inbound(nr):
        return akasse_principal(nr)
    if (kode := topics.jobcenter_of(topic)) is not None and topic == topics.jobcenter_exemption(
        kode
    ):
        return jobcenter_principal(kode)
    raise KeyError(f"no party writes {topic}")


def allowed(grants: list[Grant], principal: str, operation: str, topic: str) -> bool:
    """Whether `grants` let `principal` read or write `topic` (the broker's rule, for tests)."""
    return any(
        g.principal == principal
        and g.operation == operation
        and g.resource == "topic"
        and (topic.startswith(g.name) if g.prefixed else g.name in (topic, "*"))
        for g in grants
    )
