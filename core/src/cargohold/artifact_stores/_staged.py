"""Staged writes: a file handle that publishes under its final name only when closed cleanly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["StagedFile"]


class StagedFile:
    """Wraps an open file; ``close()`` or a clean ``with`` publishes, an exception or garbage collection aborts."""

    def __init__(self, raw: Any, publish: Callable[[], None], abort: Callable[[], None]) -> None:
        self._raw = raw
        self._publish = publish
        self._abort = abort
        self._done = False
        self.write = raw.write  # bound once: writes cost what the raw file's do

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __iter__(self) -> Any:
        return iter(self._raw)

    def close(self) -> None:
        """Finish the write and make it visible under its final name."""
        if not self._done:
            self._done = True
            self._publish()

    def abort(self) -> None:
        """Throw the write away; nothing appears under the final name."""
        if not self._done:
            self._done = True
            self._abort()

    def __del__(self) -> None:
        # A handle dropped without close() was never finished: discard rather than publish.
        if not getattr(self, "_done", True):
            self.abort()
