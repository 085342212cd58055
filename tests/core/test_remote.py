"""What every cloud flavor shares from ``cargohold.artifact_stores.remote``: how a service's errors become standard."""

from __future__ import annotations

import pytest

from cargohold.plugin import mapped_errors


class ServiceError(Exception):
    """A library's own exception, as botocore's or the Azure SDK's."""


class ServiceTimeoutError(ServiceError):
    """One the caller wants left as it is."""


def standard_error(exc: Exception) -> Exception:
    return ConnectionError(f"cannot reach the service: {exc}") if isinstance(exc, ServiceError) else exc


def test_a_mapped_error_is_raised_as_the_standard_one_with_the_original_chained() -> None:
    original = ServiceError("refused")
    with (
        pytest.raises(ConnectionError, match="cannot reach the service: refused") as raised,
        mapped_errors(standard_error),
    ):
        raise original
    assert raised.value.__cause__ is original


def test_an_error_the_mapping_keeps_and_a_kept_type_pass_unchanged() -> None:
    with pytest.raises(KeyError), mapped_errors(standard_error):
        raise KeyError("x")
    with pytest.raises(ServiceTimeoutError), mapped_errors(standard_error, keep=(ServiceTimeoutError,)):
        raise ServiceTimeoutError("slow")


def test_nothing_raised_passes_through() -> None:
    with mapped_errors(standard_error):
        value = 1
    assert value == 1
