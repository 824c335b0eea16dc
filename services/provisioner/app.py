"""Provisioner: keeps the cluster's parties as the contract says, as the Kafka admin.

- at start: the fixed topics, the 98 jobcentres' topics, the services' and the parties'
  principals and every ACL (idempotent; the local launcher has done it before already; a
  principal the cluster knows keeps its password there: `Provisioning.principals`' `renew`);
- then follows the a-kasse register (dfdg.akasse.register): an a-kasse it names for the first
  time gets its three topics, its principal `akasse-<nr>` (password added to the parties'
  credentials file) and its ACLs within seconds; the a-kasse adapter finds its inbound topic by
  pattern, so nothing restarts.

The only service that holds the admin's credentials; it reads no personal data.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Protocol

from shared.cluster.provisioning import Provisioning
from shared.platform.akasse_register import BadRegisterRecord, record_of
from shared.platform.registry import named
from shared.platform.runtime import Runtime, Service
from shared.platform.settings import Settings

SPEC = named("provisioner")
log = logging.getLogger("dfdg.provisioner")


class Admin(Protocol):
    """The cluster's admin (`shared.cluster.provisioning.Provisioning`): blocking calls."""

    def platform(self, renew: bool = True) -> None: ...

    def akasse(self, nr: str, renew: bool = True) -> None: ...


class Provisioned:
    """The a-kasser provisioned by this process (each once, one at a time)."""

    def __init__(self, provisioning: Admin) -> None:
        self.provisioning = provisioning
        self.done: set[str] = set()
        self._one_at_a_time = asyncio.Lock()

    async def akasse(self, nr: str) -> None:
        async with self._one_at_a_time:
            if nr not in self.done:
                await asyncio.to_thread(self.provisioning.akasse, nr, False)
                self.done.add(nr)
                log.info("a-kasse %s provisioned: topics, principal, ACLs", nr)

    async def platform(self) -> None:
        await asyncio.to_thread(self.provisioning.platform, False)


async def handle_register(key: bytes | None, value: bytes | None, parties: Provisioned) -> None:
    """A record of the a-kasse register: the a-kasse it names gets its topics, principal and
    ACLs (a tombstone removes nothing: an a-kasse's topics and data stay). A record that names
    no a-kasse by three digits in key and value alike is refused: a warning in the log, nothing
    provisioned, and the next record is read."""
    try:
        nr, entry = record_of(key, value)
    except BadRegisterRecord as error:
        if value is not None:
            log.warning("a-kasse register record refused, nothing provisioned: %s", error)
        return
    if entry is not None:
        await parties.akasse(nr)


def build(settings: Settings) -> Service[Provisioned]:
    """The composition root: the platform at start, then every a-kasse the register names."""
    runtime = Runtime(SPEC.name, settings, __doc__ or "")
    parties = Provisioned(Provisioning(settings))
    runtime.on_start(parties.platform)
    runtime.follow_register(partial(handle_register, parties=parties))
    return Service(runtime, parties)
