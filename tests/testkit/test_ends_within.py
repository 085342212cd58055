"""``ends_within``: a call's result or error comes back, and a call that keeps waiting fails the test instead."""

from __future__ import annotations

import threading

import pytest

from cargohold_testkit import ends_within


def test_the_calls_result_and_its_error_come_back() -> None:
    def refused() -> None:
        raise ConnectionError("refused")

    assert ends_within(10, lambda: 42) == 42
    with pytest.raises(ConnectionError, match="refused"):
        ends_within(10, refused)


def test_a_call_still_waiting_fails_the_test() -> None:
    released = threading.Event()
    with pytest.raises(pytest.fail.Exception, match=r"still waiting after 0\.2 s"):
        ends_within(0.2, released.wait)
    released.set()  # let the left-behind thread end
