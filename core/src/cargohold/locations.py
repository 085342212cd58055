"""Where cargohold keeps its files: ``CARGOHOLD_HOME`` if set, else the platform's user folders."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "home"]


def home() -> Path:
    """The folder holding the registry and the default local store; not created here."""
    configured = os.environ.get("CARGOHOLD_HOME")
    if configured:
        return Path(configured).expanduser().absolute()
    import platformdirs

    return platformdirs.user_data_path("cargohold", appauthor=False)


def cache_dir() -> Path:
    """Files cargohold can always rebuild (what discovery found); inside ``CARGOHOLD_HOME`` when that is set."""
    if os.environ.get("CARGOHOLD_HOME"):
        return home() / "cache"
    import platformdirs

    return platformdirs.user_cache_path("cargohold", appauthor=False)
