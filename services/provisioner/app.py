"""Provisioner: keeps the cluster's parties as the contract says, as the Kafka admin.

- at start: the fixed topics, the 98 jobcentres' topics, the services' and the parties'
  principals and every ACL (idempotent; the local launcher has done it before already);
- then follows the a-kasse register (dfdg.akasse.register): an a-kasse it names for the first
  time gets its three topics, its principal `akasse-<nr>` (password added to the parties'
  credentials file) and its ACLs within seconds; the a-kasse adapter finds its inbound topic by
  pattern, so nothing restarts.

The only service that holds the admin's credentials; it reads no personal data.
"""

from __future__ import annotations

import asyncio

from faststream import FastStream
from faststream.kafka.annotations import KafkaMessage

from shared import topics
from shared.akasse_register import AkasseRegister
from shared.provisioning import Provisioning
from shared.service import REGISTER_ENTRY, Service, provisioned, register_options
from shared.settings import Settings, get_settings


class ProvisionerService(Service):
    name = "provisioner"
    uses_database = False
    follows_ticks = False

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.provisioning = Provisioning(settings)
        self.provisioned: set[str] = set()
        self._one_at_a_time = asyncio.Lock()

        async def on_register(body: bytes, message: KafkaMessage) -> None:
            record = message.raw_message
            assert not isinstance(record, tuple)
            register = AkasseRegister()
            register.apply(record.key, record.value)
            for entry in register.entries():
                await self.provision_akasse(entry.akasseNr)

        on_register.__annotations__["body"] = REGISTER_ENTRY
        register = provisioned(topics.AKASSE_REGISTER)
        self.broker.subscriber(register, **register_options(self.name))(on_register)

    async def start(self) -> None:
        await super().start()
        await asyncio.to_thread(self.provisioning.platform)

    async def provision_akasse(self, nr: str) -> None:
        async with self._one_at_a_time:
            if nr not in self.provisioned:
                await asyncio.to_thread(self.provisioning.akasse, nr)
                self.provisioned.add(nr)
                self.log.info("a-kasse %s provisioned: topics, principal, ACLs", nr)


def create_app(settings: Settings | None = None) -> FastStream:
    return ProvisionerService(settings or get_settings()).app(metrics_offset=4)
