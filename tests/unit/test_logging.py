"""CPR numbers never reach a log line in clear, tracebacks included."""

from __future__ import annotations

import io
import logging

from shared.contract.cpr import mask
from shared.platform.log import CprMaskingFormatter, mask_cprs


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


def test_a_joblog_id_with_ten_digits_in_a_row_is_left_whole() -> None:
    """The e2e log check once failed on the id 67d38c09-820d-47c6-aa08-1b2428630640: its
    last group was read as a CPR number; a CPR number beside the id is still masked."""
    log_id = "67d38c09-820d-47c6-aa08-1b2428630640"
    record = logging.LogRecord(
        "t", logging.INFO, "", 0, "joblog %s for %s", (log_id, "0101901234"), None
    )
    text = CprMaskingFormatter("%(message)s").format(record)
    assert text == f"joblog {log_id} for {mask('0101901234')}"
    assert mask_cprs("a 0101901234-b") == f"a {mask('0101901234')}-b"
