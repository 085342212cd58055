"""Where cargohold keeps its files: the folders named by environment variables, else the platform's user folders."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "config_dir", "home"]


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


def config_dir() -> Path:
    """The user's own cargohold settings (the key that seals secrets): ``CARGOHOLD_CONFIG_DIR`` or the user config
    folder; kept apart from ``CARGOHOLD_HOME``, so a copied registry does not carry the key that opens it."""
    configured = os.environ.get("CARGOHOLD_CONFIG_DIR")
    if configured:
        return Path(configured).expanduser().absolute()
    import platformdirs

    return platformdirs.user_config_path("cargohold", appauthor=False)
