"""Where cargohold keeps its files: ``CARGOHOLD_HOME`` if set, else the platform's user data folder."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["home"]


def home() -> Path:
    """The folder holding the registry and the default local store; not created here."""
    configured = os.environ.get("CARGOHOLD_HOME")
    if configured:
        return Path(configured).expanduser().absolute()
    import platformdirs

    return platformdirs.user_data_path("cargohold", appauthor=False)
