"""Per-component-type command groups, e.g. ``cargohold artifact-store``: the same commands for every type."""

from __future__ import annotations

import functools

import click

from cargohold.cli.flavor import make_flavor_group
from cargohold.components import StackComponentType

__all__ = ["artifact_store", "group_for_type"]


@functools.cache
def group_for_type(component_type: str) -> click.Group | None:
    """The command group of a component type, or None when no installed plugin declares it."""
    if component_type not in {t.value for t in StackComponentType}:
        from cargohold.plugins import get_flavor_registry

        if component_type not in get_flavor_registry().component_types:
            return None
    cli_name = component_type.replace("_", "-")

    @click.group(cli_name, help=f"Register and manage {cli_name}s and their flavors.")
    def group() -> None:
        pass

    group.add_command(make_flavor_group(component_type))
    return group


artifact_store = group_for_type(StackComponentType.ARTIFACT_STORE.value)
