"""Client: the Python face of the registry and the active stack."""

from __future__ import annotations


def mount_active_stack() -> None:
    """Mount the active stack's stores in fileio; until the registry lands there is no stack."""
