"""Import by dotted path from the repository root that ``cargohold init`` marked, from any working directory."""

from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path
from typing import Any

from cargohold.exceptions import SourceError

__all__ = ["MARKER", "find_root", "init_root", "load_source", "source_root"]

#: The folder ``cargohold init`` creates at the repository root.
MARKER = ".cargohold"


def init_root(path: Path | None = None) -> tuple[Path, bool]:
    """Mark ``path`` (default: the working directory) as the repository root; True when newly marked."""
    root = (path or Path.cwd()).absolute()
    if not root.is_dir():
        raise SourceError(f"{root} is not a directory; give an existing folder to mark as the repository root.")
    marker = root / MARKER
    created = not marker.is_dir()
    marker.mkdir(exist_ok=True)
    return root, created


def find_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working directory) that holds the marker."""
    here = (start or Path.cwd()).absolute()
    return next((folder for folder in (here, *here.parents) if (folder / MARKER).is_dir()), None)


def source_root() -> Path:
    """Where new dotted paths are resolved from: the marked root, else the working directory (with a warning)."""
    root = find_root()
    if root is not None:
        return root
    cwd = Path.cwd().absolute()
    warnings.warn(
        f"No repository root is marked, so dotted paths are resolved from the working directory {cwd}; "
        "run 'cargohold init' at the root of your repository to fix it.",
        stacklevel=2,
    )
    return cwd


def load_source(source: str, root: Path) -> Any:
    """The object at ``pkg.mod.Name`` (or ``pkg.mod:Name``), imported with ``root`` first on the import path.

    ``root`` stays on ``sys.path`` so that what the object imports later (a flavor's
    ``implementation_source``) comes from the same repository.
    """
    module_name, sep, attr = source.partition(":") if ":" in source else source.rpartition(".")
    if not sep or not module_name or not attr:
        raise SourceError(f"{source!r} is not a dotted path such as 'my_package.my_module.MyFlavor'.")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
        importlib.invalidate_caches()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise SourceError(
            f"Cannot import {module_name!r} from {root} ({type(exc).__name__}: {exc}); "
            "check the dotted path and that it is relative to the repository root."
        ) from exc
    found = module
    for part in attr.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise SourceError(f"Module {module_name!r} has no attribute {attr!r}; check the dotted path.") from None
    return found
