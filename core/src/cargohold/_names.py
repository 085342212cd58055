"""The one spelling of a registered name (component, stack, secret), shared by every parser that reads one."""

from __future__ import annotations

__all__ = ["NAME"]

#: Letters, digits, ``-`` and ``_``, starting with a letter or digit: safe in ``NAME:path`` and ``{{NAME.key}}``.
NAME = r"[A-Za-z0-9][\w-]*"
