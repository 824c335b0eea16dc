"""CPR numbers never reach a log line in clear, tracebacks included."""

from __future__ import annotations

import io
import logging

from shared.contract.cpr import mask
from shared.platform.log import CprMaskingFormatter


def test_cpr_numbers_are_pseudonymised_in_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(CprMaskingFormatter("%(message)s"))
    log = logging.getLogger("test.masking")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("citizen %s and 010190-1234", "0101901234")
        try:
            raise ValueError("bad cpr 3112993999 in message")
        except ValueError:
            log.exception("failed")
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    for cpr in ("0101901234", "010190-1234", "3112993999"):
        assert cpr not in text
    assert mask("0101901234") in text and mask("3112993999") in text


def test_a_pseudonym_of_ten_digits_is_left_as_it_is() -> None:
    """About 1 in 100 pseudonyms is hex without a letter: it names the same citizen as before,
    not a pseudonym of the pseudonym."""
    cpr = next(f"0101{n:06d}" for n in range(10**6) if mask(f"0101{n:06d}")[4:].isdigit())
    record = logging.LogRecord("t", logging.INFO, "", 0, "citizen %s", (mask(cpr),), None)
    assert CprMaskingFormatter("%(message)s").format(record) == f"citizen {mask(cpr)}"
