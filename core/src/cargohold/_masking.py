"""Secret values kept out of every log record, as Airflow's SecretsMasker does.

Each value resolved from a secret reference is added here when a component is built; from then on every
log record this process creates, by any library at any level (botocore's DEBUG lines show the access key id
and the session token), has each such value replaced by ``********`` in its message and its exception text. The mask
works at record creation, through the log record factory, so it holds for every logger and handler.
A value that is a JSON key (a GCS service account) also hides its secret fields, and a value of several
lines each long line, since a library may log one field or one line of it.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
from typing import Any

from cargohold.secrets import REDACTED

__all__ = ["mask"]

#: Shorter values are not masked: replacing "1" or "us" in every log line would hide more than secrets.
_SHORTEST = 4
#: Lines of a multi-line value at least this long are hidden on their own (a PEM key's lines are 64; its
#: ``-----BEGIN ...`` armour is the same in every key and stays).
_LONG_LINE = 16
#: Fields of a JSON value hidden on their own when their name holds one of these (as Airflow's masker does).
_SECRET_FIELDS = ("key", "secret", "token", "password")
_values: set[str] = set()
_lock = threading.Lock()
_installed = False


def mask(*values: Any) -> None:
    """Hide these values (the strings among them) in every log record from now on."""
    global _installed
    found = {part for v in values if isinstance(v, str) for part in _parts(v)}
    if not found - _values:
        return
    with _lock:
        _values.update(found)
        if not _installed:
            _install(logging.getLogRecordFactory())
            _installed = True


def _parts(value: str) -> set[str]:
    """``value`` and the pieces of it a library might log alone, each long enough to be worth hiding."""
    lines = (line.strip() for line in value.splitlines())
    parts = {value, *(line for line in lines if len(line) >= _LONG_LINE and not line.startswith("-----"))}
    if value.lstrip().startswith("{"):
        try:
            fields = json.loads(value)
        except ValueError:
            fields = None
        if isinstance(fields, dict):
            for name, field in fields.items():
                if isinstance(field, str) and any(word in name.lower() for word in _SECRET_FIELDS):
                    parts |= _parts(field)
    return {part for part in parts if len(part) >= _SHORTEST}


def _hidden(text: str) -> str:
    for value in sorted(_values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def _install(make_record: Any) -> None:
    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its message: leave it to logging's own report
            return record
        hidden = _hidden(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        if record.exc_info and not record.exc_text:  # formatted here, so a handler never formats it unmasked
            record.exc_text = _hidden("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return record

    logging.setLogRecordFactory(masked_record)
