"""What the registry hands out: plain, frozen records; secret values are never part of one."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ComponentRecord", "FlavorRecord", "SecretRecord", "StackRecord"]


class _Record:
    """Turns a record into the JSON-ready dict that ``--json`` prints."""

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data."""
        return dataclasses.asdict(self)  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True)
class FlavorRecord(_Record):
    """A custom flavor: the dotted path of its class and the repository root it is imported from."""

    type: str
    name: str
    source: str
    root: str
    created: str


@dataclass(frozen=True)
class ComponentRecord(_Record):
    """A registered component; ``config`` holds ``{{secret.key}}`` references, never secret values."""

    id: str
    name: str
    type: str
    flavor: str
    config: dict[str, Any]
    created: str
    updated: str
    #: 1 when registered, one more at each change; ``update_component(if_revision=...)`` compares it.
    revision: int


@dataclass(frozen=True)
class StackRecord(_Record):
    """A stack: at most one component per type, keyed by type."""

    id: str
    name: str
    active: bool
    created: str
    updated: str
    components: dict[str, ComponentRecord] = field(default_factory=dict)


@dataclass(frozen=True)
class SecretRecord(_Record):
    """A secret's name and keys; ``owner`` is the component whose plain secret values it keeps, if any."""

    id: str
    name: str
    keys: tuple[str, ...]
    owner: str | None
    created: str
    updated: str
