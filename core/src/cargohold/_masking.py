"""Secret values kept out of every log record, as Airflow's SecretsMasker does.

Each value resolved from a secret reference is added here when a component is built; from then on every
log record this process creates, by any library at any level (botocore's DEBUG lines show the access key id
and the session token), has each such value replaced by ``********`` in its message. The mask works at
record creation, through the log record factory, so it holds for every logger and handler.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from cargohold.secrets import REDACTED

__all__ = ["mask"]

#: Shorter values are not masked: replacing "1" or "us" in every log line would hide more than secrets.
_SHORTEST = 4
_values: set[str] = set()
_lock = threading.Lock()
_installed = False


def mask(*values: Any) -> None:
    """Hide these values (the strings among them) in every log record from now on."""
    global _installed
    found = {v for v in values if isinstance(v, str) and len(v) >= _SHORTEST}
    if not found - _values:
        return
    with _lock:
        _values.update(found)
        if not _installed:
            _install(logging.getLogRecordFactory())
            _installed = True


def _install(make_record: Any) -> None:
    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its message: leave it to logging's own report
            return record
        hidden = message
        for value in sorted(_values, key=len, reverse=True):
            if value in hidden:
                hidden = hidden.replace(value, REDACTED)
        if hidden is not message:
            record.msg, record.args = hidden, None
        return record

    logging.setLogRecordFactory(masked_record)
