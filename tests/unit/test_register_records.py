"""The operator's register records (shared.platform.akasse_register.record_of): only an a-kasse
named by three ASCII digits, in key and value alike, is taken, by the provisioner (provisioned)
and by every service's register; a bad record is refused visibly and the next one is read."""

from __future__ import annotations

import json
import logging

import pytest

from services.provisioner.app import Provisioned, handle_register
from shared.cluster.provisioning import Provisioning
from shared.platform.akasse_register import (
    AkasseEntry,
    AkasseRegister,
    BadRegisterRecord,
    publish_entry,
    record_of,
)
from shared.platform.settings import Settings
from tests.unit.test_provisioner_handlers import FakeAdmin


def value(nr: object, joblog: bool = True) -> bytes:
    return json.dumps({"akasseNr": nr, "navn": f"A-kasse {nr}", "tilbyderJoblog": joblog}).encode()


BAD_NUMBERS = ["", "06", "6", "0670", "٠٦٧", "06 ", " 06", "067\n", "0x7", "06a", "+67"]
BAD_RECORDS = {
    **{f"number {nr!r}": (nr.encode(), value(nr)) for nr in BAD_NUMBERS},
    "no key": (None, value("067")),
    "key other than the value": (b"068", value("069")),
    "key good, value short": (b"067", value("06")),
    "key short, value good": (b"06", value("067")),
    "key not utf-8": (b"\xff\xfe\x00", value("067")),
    "number not text": (b"067", value(67)),
    "value not json": (b"067", b"not json"),
    "value nested": (b"067", b"[" * 100_000),
}


@pytest.mark.parametrize("case", BAD_RECORDS)
def test_a_bad_record_is_refused(case: str) -> None:
    key, body = BAD_RECORDS[case]
    with pytest.raises(BadRegisterRecord):
        record_of(key, body)


def test_a_good_record_and_a_tombstone_are_taken() -> None:
    nr, entry = record_of(b"067", value("067", joblog=False))
    assert nr == "067" and entry == AkasseEntry(akasseNr="067", navn="A-kasse 067")
    assert record_of(b"067", None) == ("067", None)


@pytest.mark.parametrize("case", BAD_RECORDS)
def test_the_services_register_skips_a_bad_record_and_logs_it(case: str, caplog) -> None:
    key, body = BAD_RECORDS[case]
    register = AkasseRegister()
    with caplog.at_level(logging.WARNING, "shared.platform.akasse_register"):
        register.apply(key, body)
    register.apply(b"068", value("068"))  # the record behind it
    assert [e.akasseNr for e in register.entries()] == ["068"]
    assert "refused a bad record" in caplog.text
    assert register.get("") is None and not register.offers_joblog("06")


@pytest.mark.parametrize("case", BAD_RECORDS)
async def test_the_provisioner_provisions_nothing_for_a_bad_record(case: str, caplog) -> None:
    key, body = BAD_RECORDS[case]
    admin = FakeAdmin()
    parties = Provisioned(admin)
    with caplog.at_level(logging.WARNING, "dfdg.provisioner"):
        await handle_register(key, body, parties)
    await handle_register(b"068", value("068"), parties)  # the record behind it
    assert admin.akasser == ["068"]
    assert "refused, nothing provisioned" in caplog.text


async def test_a_tombstone_of_a_bad_key_says_nothing_and_provisions_nothing(caplog) -> None:
    admin = FakeAdmin()
    with caplog.at_level(logging.WARNING):
        await handle_register(b"06", None, Provisioned(admin))
        AkasseRegister().apply(b"06", None)
    assert admin.akasser == [] and caplog.text == ""


@pytest.mark.parametrize("nr", BAD_NUMBERS)
def test_provisioning_refuses_a_bad_number_itself(nr: str) -> None:
    with pytest.raises(ValueError, match="not 3 digits"):
        Provisioning(Settings.model_validate({})).akasse(nr)  # before any admin call


async def test_the_operators_tool_sends_no_bad_record() -> None:
    settings = Settings.model_validate({"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    with pytest.raises(BadRegisterRecord):
        await publish_entry(settings, None, "06")
    with pytest.raises(BadRegisterRecord):
        await publish_entry(settings, AkasseEntry(akasseNr="068"), "069")
