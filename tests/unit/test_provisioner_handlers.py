"""The provisioner's handler with a fake admin: each a-kasse the register names is provisioned
once, whatever the register says again about it."""

from __future__ import annotations

import json

from services.provisioner.app import Provisioned, handle_register


class FakeAdmin:
    def __init__(self) -> None:
        self.akasser: list[str] = []

    def platform(self, renew: bool = True) -> None:
        raise AssertionError("the platform is provisioned at start, not per record")

    def akasse(self, nr: str, renew: bool = True) -> None:
        assert not renew  # a principal the cluster knows keeps its password there
        self.akasser.append(nr)


def entry(nr: str, joblog: bool = True) -> bytes:
    return json.dumps({"akasseNr": nr, "navn": f"A-kasse {nr}", "tilbyderJoblog": joblog}).encode()


async def test_each_akasse_named_is_provisioned_once():
    admin = FakeAdmin()
    parties = Provisioned(admin)
    await handle_register(b"067", entry("067"), parties)
    await handle_register(b"096", entry("096", joblog=False), parties)  # topics all the same
    await handle_register(b"067", entry("067", joblog=False), parties)  # a change: nothing new
    assert admin.akasser == ["067", "096"]


async def test_a_tombstone_or_a_bad_record_provisions_nothing():
    admin = FakeAdmin()
    parties = Provisioned(admin)
    await handle_register(b"067", None, parties)
    await handle_register(b"068", b"not json", parties)
    assert admin.akasser == []
