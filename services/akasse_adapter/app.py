"""a-kasse adapter: the a-kasse joblog format in and out (akasse.<nr>.joblog.inbound/.outbound).

Every a-kasse's inbound topic is followed by pattern, so a new a-kasse needs no restart. The
a-kasse is the topic's: a body naming another is refused (`akasse_mismatch`). Only a-kasser
registered as offering a joblog may write (the register follows the compacted topic
dfdg.akasse.register); membership is checked by storage, which holds the status timeline.
"""

from __future__ import annotations

from functools import partial

from shared.contract import topics
from shared.contract.events import JoblogChange, JoblogCommand
from shared.contract.inbound import Inbound
from shared.contract.rejections import Reason, Refusal
from shared.frontends import akasse
from shared.frontends import handlers as frontend
from shared.frontends import models as format_models
from shared.platform.akasse_register import AkasseRegister
from shared.platform.registry import named
from shared.platform.runtime import Runtime, Service
from shared.platform.settings import Settings

SPEC = named("akasse-adapter")


def check(command: JoblogCommand, inbound: Inbound, register: AkasseRegister) -> None:
    """The a-kasse is the topic's, and it offers a joblog."""
    akasse_nr = command.akasse_nr
    if akasse_nr != topics.akasse_of(inbound.topic):
        raise Refusal(
            Reason.AKASSE_MISMATCH,
            f"akasseNr {akasse_nr} is not the a-kasse of {inbound.topic}",
            "akasseNr",
        )
    if not register.offers_joblog(akasse_nr):
        known = register.get(akasse_nr) is not None
        raise Refusal(
            Reason.AKASSE_WITHOUT_JOBLOG,
            f"a-kasse {akasse_nr} "
            + ("does not offer a joblog" if known else "is not in the a-kasse register"),
            "akasseNr",
        )


def outbound_topic(change: JoblogChange) -> str | None:
    """The citizen's a-kasse, when it offers a joblog (storage names it)."""
    return topics.akasse_outbound(change.akasseNr) if change.akasseNr else None


def front_end(register: AkasseRegister) -> frontend.FrontEnd:
    return frontend.FrontEnd(
        akasse.parse_akasse, akasse.message_id_of, akasse.akasse_outbound, outbound_topic,
        partial(check, register=register),
    )  # fmt: skip


def build(settings: Settings) -> Service[frontend.AdapterPorts]:
    """The composition root."""
    runtime = Runtime(SPEC.name, settings, __doc__ or "")
    runtime.ticks()
    register = runtime.register()
    documented = frontend.Documented(
        format_models.akasse_inbound(), topics.akasse_outbound("<nr>"),
        format_models.akasse_outbound(), topics.akasse_rejected("<nr>"),
    )  # fmt: skip
    ports = frontend.wire(runtime, topics.AKASSE_INBOUND, front_end(register), documented)
    return Service(runtime, ports)
