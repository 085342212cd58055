"""What every store that talks to a service over the network shares: one deadline per operation, and one way
of raising the service's errors as standard exceptions.

Importing this module stays light (pydantic only); ``apply_deadline`` imports fsspec when it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from cargohold.artifact_stores.base import BaseArtifactStoreConfig
from cargohold.exceptions import DeadlineError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fsspec.asyn import AsyncFileSystem

__all__ = ["BULK_METHODS", "RemoteArtifactStoreConfig", "apply_deadline", "mapped_errors"]

#: fsspec methods that move a file's bytes, and the raw request calls (s3fs's ``call_s3``, gcsfs's ``call``)
#: that open files send their parts through: their time grows with the size, so ``read_timeout`` bounds
#: each wait for bytes instead of the deadline bounding the whole.
BULK_METHODS = frozenset(
    {"call", "call_s3", "cat", "cat_file", "cat_ranges", "copy", "cp_file", "get", "get_file", "pipe", "pipe_file"}
    | {"put", "put_file"}
)


class RemoteArtifactStoreConfig(BaseArtifactStoreConfig):
    """The config fields every cloud flavor shares, with one meaning on each: how long to wait for a connection
    and for an answer, how often to try a failed request again, and how long a whole operation may take."""

    SHARED_BASE: ClassVar[bool] = True

    connect_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for a connection to the endpoint before a try fails."
    )
    read_timeout: float = Field(
        30.0, gt=0, description="Seconds to wait for each read of the endpoint's answer before a try fails."
    )
    retries: int = Field(
        2,
        ge=0,
        description="How often a failed request (connection error, timeout, throttling, HTTP 5xx) is tried again, "
        "with a growing wait in between; 0 tries once. The deadline bounds the whole.",
    )
    deadline: float = Field(
        30.0,
        gt=0,
        description="Seconds an operation may take in all, its retries and every request it makes included "
        "(transfers of a file's bytes are bounded by read_timeout per wait instead).",
    )


def apply_deadline(filesystem: AsyncFileSystem, seconds: float, where: str) -> None:
    """Give each of ``filesystem``'s blocking methods a total deadline of ``seconds``, past which the
    operation is cancelled and raises ``DeadlineError`` (a ``TimeoutError``) naming ``where``; bulk transfers
    are left as they are."""
    from fsspec.asyn import sync
    from fsspec.exceptions import FSTimeoutError

    def bounded(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            async with asyncio.timeout(seconds):
                return await method(*args, **kwargs)

        @functools.wraps(method)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return sync(filesystem.loop, timed, *args, **kwargs)
            except FSTimeoutError as exc:  # fsspec's bare stand-in for a TimeoutError raised in its loop
                cause = exc.__cause__
                if type(cause) is TimeoutError and str(cause):  # a request's own timeout, already explained
                    raise cause from None
                raise DeadlineError(
                    f"{where} did not finish {name} within the deadline of {seconds:g} s; check that it is up, "
                    "or raise deadline in the store's config"
                ) from None

        return run

    for name in dir(filesystem):
        if name.startswith("_") or name in BULK_METHODS:
            continue
        method = getattr(filesystem, f"_{name}", None)
        # In fsspec's async filesystems a public method beside a coroutine ``_name`` is its blocking mirror.
        if asyncio.iscoroutinefunction(method) and callable(getattr(filesystem, name)):
            setattr(filesystem, name, bounded(name, method))


@contextlib.contextmanager
def mapped_errors(
    standard_error: Callable[[Exception], Exception], keep: tuple[type[Exception], ...] = ()
) -> Iterator[None]:
    """Raise an exception met inside as the standard one ``standard_error`` maps it to, the original chained.

    The one way a cloud flavor applies its mapping where requests are sent (the store's ``translate_error``
    applies the same function to what escapes them); ``keep`` names types left as they are for now.
    """
    try:
        yield
    except Exception as exc:
        mapped = exc if isinstance(exc, keep) else standard_error(exc)
        if mapped is exc:
            raise
        raise mapped from exc
