"""Core's own contributions, registered through the same plugin manager as any plugin."""

from __future__ import annotations

from cargohold._component_types import StackComponentType
from cargohold.hookspecs import hookimpl


@hookimpl
def cargohold_component_types() -> list[str]:
    """The component types core ships."""
    return [member.value for member in StackComponentType]
