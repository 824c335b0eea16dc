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

_CPR_PATTERN = re.compile(r"(?<!\d)(?<!cpr#)(\d{6})-?(\d{4})(?!\d)")
"""Ten digits (or 6-4) not within a longer number, nor a pseudonym already (its hex may be all
digits)."""


class CprMaskingFormatter(logging.Formatter):
    """Last line of defence: any 10-digit run that looks like a CPR number is pseudonymised in
    the formatted record, tracebacks included (our own code logs `mask(cpr)` in the first
    place)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_cprs(super().format(record))


def mask_cprs(text: str) -> str:
    return _CPR_PATTERN.sub(lambda m: mask(m.group(1) + m.group(2)), text)


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
