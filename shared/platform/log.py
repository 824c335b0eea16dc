"""Logging of every process: a CPR number never shows in clear, and an outage of Kafka or the
database writes a few lines, not thousands (`shared.platform.outage`)."""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

from shared.cluster.credentials import MissingPseudonymKey, pseudonym_key
from shared.contract.cpr import mask, use_pseudonym_key
from shared.platform.outage import collapse_outages
from shared.platform.settings import Settings, get_settings

_HEX = "[0-9a-fA-F]"
_CPR_PATTERN = re.compile(
    rf"(?P<uuid>{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})"
    r"|(?<!\d)(?<!cpr#)(?P<date>\d{6})-?(?P<serial>\d{4})(?!\d)"
)
"""Ten digits (or 6-4) not within a longer number, nor a pseudonym already (its hex may be all
digits). A UUID (a joblog's or message's id) is matched first and kept whole: its last group
holds ten digits in a row about once in 20 ids."""


class CprMaskingFormatter(logging.Formatter):
    """Last line of defence: any 10-digit run that looks like a CPR number is pseudonymised in
    the formatted record, tracebacks included (our own code logs `mask(cpr)` in the first
    place)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_cprs(super().format(record))


def mask_cprs(text: str) -> str:
    return _CPR_PATTERN.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    if match["uuid"]:
        return match["uuid"]
    return mask(match["date"] + match["serial"])


def logs_to_file(path: Path, level: str = "INFO") -> None:
    """For commands whose terminal shows only the project's progress and results: every log
    line, the libraries' warnings included (`warnings` too), goes to `path`, CPR masked."""
    with contextlib.suppress(MissingPseudonymKey):  # the platform's key where known, else own
        use_pseudonym_key(pseudonym_key(get_settings()))
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)
    handler.setFormatter(CprMaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    collapse_outages(handler)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)


def setup_logging(settings: Settings) -> None:
    """A service process's logging. Without the platform's pseudonym key the process does not
    start (`shared.cluster.credentials.pseudonym_key`)."""
    try:
        use_pseudonym_key(pseudonym_key(settings))
    except MissingPseudonymKey as error:
        raise SystemExit(str(error)) from None
    handler = logging.StreamHandler()
    handler.setFormatter(CprMaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    collapse_outages(handler)  # an outage of Kafka or the database: a few lines, not thousands
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
