"""The component types core ships, in a module light enough for the registry and the CLI to import."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["StackComponentType"]


class StackComponentType(StrEnum):
    """The component types cargohold ships; plugins add more through ``cargohold_component_types``."""

    ARTIFACT_STORE = "artifact_store"
