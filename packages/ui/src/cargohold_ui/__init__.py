"""cargohold-ui: ``cargohold ui``, a local web viewer of every registered store, its artifacts and their views."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
