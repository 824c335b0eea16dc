"""CPR numbers: validation after the contract, and masking for logs (CPR is personal data)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

_pseudonym_key = secrets.token_bytes(32)
"""The key of `mask`: the platform's (`use_pseudonym_key`, set by every service process at
start from JOBLOG_PSEUDONYM_KEY), else one of this process alone. Never none: a pseudonym
without a key is a sha256 of a 10-digit number, reversed by trying the whole CPR space."""


class InvalidCpr(ValueError):
    pass


def birth_date(cpr: str) -> date:
    """The birth date a CPR number encodes; raises InvalidCpr for anything else.

    Digits 1-6 are DDMMYY, the century follows from digit 7. Modulus 11 is not
    checked: numbers without a valid check digit are issued since 2007.
    """
    if not isinstance(cpr, str) or len(cpr) != 10 or not cpr.isascii() or not cpr.isdigit():
        raise InvalidCpr("cpr must be exactly 10 digits without a dash")
    day, month, yy, digit7 = int(cpr[0:2]), int(cpr[2:4]), int(cpr[4:6]), int(cpr[6])
    if digit7 <= 3:
        century = 1900
    elif digit7 in (4, 9):
        century = 2000 if yy <= 36 else 1900
    else:  # 5-8
        century = 2000 if yy <= 57 else 1800
    try:
        return date(century + yy, month, day)
    except ValueError:
        raise InvalidCpr(f"cpr does not start with a real date (DDMMYY {cpr[:6]})") from None


def is_valid_cpr(cpr: object) -> bool:
    try:
        birth_date(cpr)  # type: ignore[arg-type]
    except InvalidCpr:
        return False
    return True


def use_pseudonym_key(key: str) -> None:
    """Pseudonyms from now on with the platform's secret key (the same in every process of a
    platform, so a citizen's log lines can be found across them)."""
    global _pseudonym_key
    if not key:
        raise ValueError("the pseudonym key is empty")
    _pseudonym_key = key.encode()


def mask(cpr: str) -> str:
    """A stable pseudonym for logs: never the number itself, but the same citizen gives the same
    tag within a platform. A keyed HMAC-SHA256 (`use_pseudonym_key`): without the key the tag
    cannot be turned back into the number by hashing every possible CPR."""
    digest = hmac.new(_pseudonym_key, cpr.encode(), hashlib.sha256).hexdigest()
    return "cpr#" + digest[:10]
