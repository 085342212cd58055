"""One failure, one exception type, on every flavor: code that catches a missing bucket, a dead server or a
refused login catches it the same way whichever store it was given.

Subclass :class:`StoreFailureTests` and give it three fixtures, each yielding a store that meets one failure on
its first call: ``missing_bucket_store`` (its root lies in a bucket nobody made), ``dead_endpoint_store`` (its
endpoint refuses connections; set retries to 0 so the test is quick) and ``refused_login_store`` (credentials the
service refuses). A fixture whose failure your test server cannot stage calls ``pytest.skip`` with the reason.
``ends_within`` runs a call against a hung server (the kit's ``HungServer``) so that waiting for ever fails the test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import pytest

from cargohold.plugin import BaseArtifactStore

__all__ = ["StoreFailureTests", "ends_within"]

T = TypeVar("T")


def ends_within(seconds: float, call: Callable[[], T]) -> T:
    """``call()``'s result, or what it raised, from a thread that must end within ``seconds``: a call that would
    wait for ever fails the test instead of hanging it (the thread is left behind, never keeping pytest alive)."""
    returned: list[T] = []
    raised: list[BaseException] = []

    def run() -> None:
        try:
            returned.append(call())
        except BaseException as exc:  # handed to the test's thread below
            raised.append(exc)

    worker = threading.Thread(target=run, name="ends-within", daemon=True)
    worker.start()
    worker.join(seconds)
    if raised:
        raise raised[0]
    if not returned:
        pytest.fail(f"the call was still waiting after {seconds:g} s")
    return returned[0]


class StoreFailureTests:
    """The exception types every store raises for the failures a caller must tell apart."""

    def test_a_missing_bucket_is_file_not_found(self, missing_bucket_store: BaseArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            missing_bucket_store.listdir(missing_bucket_store.path)
        with pytest.raises(FileNotFoundError), missing_bucket_store.open("a.bin", "wb") as f:
            f.write(b"data")

    def test_a_dead_server_is_a_connection_error(self, dead_endpoint_store: BaseArtifactStore) -> None:
        with pytest.raises(ConnectionError):
            dead_endpoint_store.exists("a.bin")
        with pytest.raises(ConnectionError), dead_endpoint_store.open("a.bin", "wb") as f:
            f.write(b"data")

    def test_a_refused_login_is_a_permission_error(self, refused_login_store: BaseArtifactStore) -> None:
        """A ``PermissionError``, whether the service refuses the credentials or the store cannot use them."""
        with pytest.raises(PermissionError):
            refused_login_store.listdir(refused_login_store.path)
