"""Where cargohold keeps its files: the folders named by environment variables, else the platform's user folders."""

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
    """Files cargohold can always rebuild (what discovery found): ``CARGOHOLD_CACHE_DIR`` or the user cache folder.

    Never inside ``CARGOHOLD_HOME``, so listing flavors leaves a user's data folder untouched.
    """
    configured = os.environ.get("CARGOHOLD_CACHE_DIR")
    if configured:
        return Path(configured).expanduser().absolute()
    import platformdirs

    return platformdirs.user_cache_path("cargohold", appauthor=False)
