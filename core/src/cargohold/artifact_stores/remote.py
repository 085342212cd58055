"""What every store that talks to a service over the network shares: one deadline per operation, and one way
of raising the service's errors as standard exceptions.

Importing this module stays light (pydantic only); ``apply_deadline`` imports fsspec when it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import warnings
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from cargohold.artifact_stores.base import BaseArtifactStoreConfig
from cargohold.exceptions import DeadlineError, DeprecatedFieldWarning, timeout_raised
from cargohold.flavors import SECRETS, STORED

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fsspec.asyn import AsyncFileSystem

__all__ = [
    "BULK_METHODS",
    "CredentialsSource",
    "RemoteArtifactStoreConfig",
    "anon_as_credentials",
    "apply_deadline",
    "mapped_errors",
]

#: Where a store's credentials come from: the config's credential fields, the provider's default chain, or none.
CredentialsSource = Literal["config", "environment", "anonymous"]


def anon_as_credentials(value: object) -> CredentialsSource | None:
    """A former ``anon`` field as ``credentials`` (a ``RenamedField`` conversion): ``true`` made requests without
    credentials; ``false``, every old row's default, says nothing ``credentials`` needs."""
    return "anonymous" if value is True else None


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
    #: The fields that carry credentials in the config; setting any of them means ``credentials: config``.
    CREDENTIAL_FIELDS: ClassVar[tuple[str, ...]] = ()
    #: What to give for ``credentials: config``, in words, and where the provider's default chain looks.
    CONFIG_CREDENTIALS: ClassVar[str] = "the credential fields"
    DEFAULT_CHAIN: ClassVar[str] = "the provider's own"

    credentials: CredentialsSource | None = Field(
        None,
        description="Where the credentials come from: 'config' (the credential fields; implied when one is set), "
        "'environment' (the provider's default chain, see the flavor's README) or 'anonymous' (none). "
        "With no credential field set, it must be given.",
    )
    #: The secret each credential field's value was resolved from (by the registry), for messages.
    _secret_of: dict[str, str] = PrivateAttr(default_factory=dict)

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

    @model_validator(mode="after")
    def _check_credentials_source(self, info: ValidationInfo) -> Self:
        """No store falls back to the environment unasked; a row registered before ``credentials`` existed
        still does, for one release, with a warning."""
        given = self.credential_fields_given()
        self._secret_of = {f: s for f, s in (info.context or {}).get(SECRETS, {}).items() if f in given}
        chain = f"the environment's default chain ({self.DEFAULT_CHAIN})"
        if self.credentials is None and not given:
            if not (info.context or {}).get(STORED):
                raise ValueError(
                    f"say where the credentials come from: give {self.CONFIG_CREDENTIALS}, or set credentials to "
                    f"'environment' for {chain}, or to 'anonymous' for none"
                )
            warnings.warn(
                f"This store's config names no credentials, so it logs in with {chain}; that fallback goes in the "
                "next release. Make it explicit with 'cargohold artifact-store update NAME --credentials=environment'.",
                DeprecatedFieldWarning,
                stacklevel=2,
            )
        elif self.credentials == "config" and not given:
            raise ValueError(
                f"credentials 'config' needs {self.CONFIG_CREDENTIALS}; give them, or choose another source"
            )
        elif self.credentials in ("environment", "anonymous") and given:
            raise ValueError(
                f"credentials {self.credentials!r} takes none from the config, so drop {' and '.join(given)} "
                "or set credentials to 'config'"
            )
        return self

    def credential_fields_given(self) -> list[str]:
        """The credential fields this config sets."""
        return [name for name in self.CREDENTIAL_FIELDS if getattr(self, name) is not None]

    @property
    def credentials_source(self) -> CredentialsSource:
        """The source a store built from this config logs in with."""
        if self.credentials is not None:
            return self.credentials
        return "config" if self.credential_fields_given() else "environment"

    @property
    def credentials_used(self) -> str:
        """Which credentials a login used, in words for its failures; never a value."""
        source = self.credentials_source
        if source == "anonymous":
            return "no credentials (anonymous requests)"
        if source == "environment":
            return f"credentials from the environment's default chain ({self.DEFAULT_CHAIN})"
        secrets = sorted(set(self._secret_of.values()))
        kept = f" (kept in secret {' and '.join(map(repr, secrets))})" if secrets else ""
        return f"credentials from the config's {' and '.join(self.credential_fields_given())}{kept}"


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
                if (raised := timeout_raised(exc)) is not None:  # a request's own timeout, already explained
                    raise raised from None
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
