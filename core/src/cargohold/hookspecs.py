"""The hooks a cargohold plugin implements, and the markers it implements them with."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from cargohold.flavors import Flavor
    from cargohold.secrets import SecretsBackend
    from cargohold.visualizers import Visualizer

__all__ = ["ENTRY_POINT_GROUP", "PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "cargohold"
#: The entry point group plugin distributions declare their hook modules in.
ENTRY_POINT_GROUP = "cargohold"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Plugins decorate their hook functions with this; they never import pluggy themselves.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def cargohold_component_types() -> list[str]:
    """Called once at discovery, before flavors; return the component type names the plugin adds."""
    raise NotImplementedError


@hookspec
def cargohold_flavors() -> list[type[Flavor]]:
    """Called once at discovery; return the Flavor classes the plugin provides."""
    raise NotImplementedError


@hookspec
def cargohold_visualizers() -> list[type[Visualizer]]:
    """Called when an artifact is first saved; return the Visualizer classes the plugin provides."""
    raise NotImplementedError


@hookspec
def cargohold_cli_commands() -> list[click.Command]:
    """Called when the command line lists its commands or meets a name core lacks; return the commands to add."""
    raise NotImplementedError


@hookspec
def cargohold_secrets_backends() -> list[type[SecretsBackend]]:
    """Called when a registry needs a secrets backend other than the built-in one (and by ``cargohold secret
    backend``); return the SecretsBackend classes the plugin provides."""
    raise NotImplementedError
