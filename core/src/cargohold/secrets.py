"""Secret fields, secret references and redaction: how a config keeps credentials out of sight."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from cargohold._names import NAME

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = [
    "REDACTED",
    "SecretField",
    "SecretReference",
    "SecretsBackend",
    "is_secret_field",
    "parse_secret_reference",
]

REDACTED = "********"
_REFERENCE = re.compile(r"^\{\{\s*(" + NAME + r")\.([A-Za-z0-9_][\w-]*)\s*\}\}$")


def SecretField(default: Any = ..., **kwargs: Any) -> Any:  # noqa: N802 - reads like pydantic's Field
    """A pydantic ``Field`` marked secret: redacted everywhere and stored only in the secret store."""
    from pydantic import Field

    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra["secret"] = True
    return Field(default, json_schema_extra=extra, **kwargs)


def is_secret_field(field: FieldInfo) -> bool:
    """Whether a config field was declared with :func:`SecretField`."""
    extra = field.json_schema_extra
    return isinstance(extra, dict) and extra.get("secret") is True


class SecretReference(NamedTuple):
    """A parsed ``{{secret_name.key}}`` reference."""

    secret: str
    key: str

    def __str__(self) -> str:
        return f"{{{{{self.secret}.{self.key}}}}}"


def parse_secret_reference(value: object) -> SecretReference | None:
    """The reference a value spells, or None when it is a plain value."""
    if not isinstance(value, str):
        return None
    match = _REFERENCE.match(value)
    return SecretReference(*match.groups()) if match else None


class SecretsBackend:
    """Where a registry's secret values are kept; the registry keeps each secret's name and keys, and per key
    the text ``store`` returned to find the value again. Provided by a plugin's ``cargohold_secrets_backends``
    hook and chosen for a whole registry with ``cargohold secret backend NAME``::

        class VaultBackend(SecretsBackend):
            name = "vault"
            description = "HashiCorp Vault's KV store, at $VAULT_ADDR"

            def store(self, secret_id, values): ...   # write them, return {key: "path#version"}
            def load(self, secret_id, stored): ...    # read them back
            def discard(self, secret_id, stored): ... # the registry no longer refers to them

    A backend takes its own settings from its environment (a server address, a token); it is built with no
    arguments, once per process.
    """

    #: What users choose the backend by; the registry prefixes every value it stores with ``name:``.
    name: ClassVar[str]
    #: One line for ``cargohold secret backend``.
    description: ClassVar[str] = ""

    def store(self, secret_id: str, values: Mapping[str, str]) -> dict[str, str]:
        """Keep the values of the secret ``secret_id`` (stable across renames); return, for each key, the text the
        registry keeps instead of the value. Called inside the registry's write transaction."""
        raise NotImplementedError

    def load(self, secret_id: str, stored: Mapping[str, str]) -> dict[str, str]:
        """The values that ``store`` returned ``stored`` for."""
        raise NotImplementedError

    def discard(self, secret_id: str, stored: Mapping[str, str]) -> None:
        """Called once the registry has committed that it no longer refers to ``stored`` (the values were replaced
        or the secret deleted); a backend that keeps versions may delete them. The default keeps them."""
