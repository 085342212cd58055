"""Secret fields, secret references and redaction: how a config keeps credentials out of sight."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, NamedTuple

from cargohold._names import NAME

if TYPE_CHECKING:
    from pydantic.fields import FieldInfo

__all__ = ["REDACTED", "SecretField", "SecretReference", "is_secret_field", "parse_secret_reference"]

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
