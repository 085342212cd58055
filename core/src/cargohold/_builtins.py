"""Core's own contributions, registered through the same plugin manager as any plugin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cargohold._component_types import StackComponentType
from cargohold.hookspecs import hookimpl

if TYPE_CHECKING:
    from cargohold.secrets import SecretsBackend
    from cargohold.visualizers import Visualizer


@hookimpl
def cargohold_component_types() -> list[str]:
    """The component types core ships."""
    return [member.value for member in StackComponentType]


@hookimpl
def cargohold_visualizers() -> list[type[Visualizer]]:
    """The visualizers core ships, for text, JSON, images, DataFrames, arrays and figures."""
    from cargohold._builtin_visualizers import BUILTIN_VISUALIZERS

    return BUILTIN_VISUALIZERS


@hookimpl
def cargohold_secrets_backends() -> list[type[SecretsBackend]]:
    """The built-in backend, listed beside the plugins' ones."""
    from cargohold._sealing import FernetBackend

    return [FernetBackend]
