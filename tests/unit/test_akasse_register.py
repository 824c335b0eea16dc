from __future__ import annotations

from shared.platform.akasse_register import AkasseRegister


def test_the_register_follows_changes_and_removals() -> None:
    register = AkasseRegister()
    register.apply(b"067", b'{"akasseNr": "067", "navn": "A", "tilbyderJoblog": true}')
    register.apply(b"099", b'{"akasseNr": "099", "navn": "B", "tilbyderJoblog": false}')
    assert register.offers_joblog("067") and not register.offers_joblog("099")
    assert not register.offers_joblog("555") and not register.offers_joblog(None)
    register.apply(b"067", b'{"akasseNr": "067", "navn": "A", "tilbyderJoblog": false}')
    assert not register.offers_joblog("067")
    register.apply(b"099", None)  # a tombstone removes the a-kasse
    assert register.get("099") is None


def test_a_bad_record_is_skipped() -> None:
    register = AkasseRegister()
    register.apply(b"067", b"not json")
    register.apply(b"067", b'{"navn": "no number"}')
    assert register.get("067") is None
