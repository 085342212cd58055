"""What discovery found, kept between processes so that listing flavors imports no plugin module.

The cache belongs to one Python environment and holds a fingerprint of everything that could change
the answer: cargohold's version and the mtime of every ``sys.path`` folder that holds distributions
(an installer adds or removes a ``.dist-info`` folder there on every install, upgrade and uninstall).
A plugin module outside those folders (an editable install) is stamped with its size and mtime too.
Any difference and discovery runs afresh; the cache is only ever a shortcut, so a file that cannot be
read or written is ignored.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from cargohold import locations
from cargohold._version import __version__

__all__ = ["PluginRecord", "clear", "load", "save", "stamps"]

#: Bumped whenever the file's shape changes, so an old file is simply not used.
_FORMAT = 4
Stamp = tuple[str, int, int]


class PluginRecord(NamedTuple):
    """One entry point: where it comes from and, once loaded without error, what it gave.

    A tuple, so thousands load from JSON as fast as the JSON itself; sequences come back as lists.
    """

    entry_point: str
    module: str
    distribution: str
    version: str
    requires: Sequence[str] = ()
    #: True when the plugin loaded cleanly; only then are the fields below filled and trusted.
    known: bool = False
    types: Sequence[str] = ()
    #: (component type, flavor name, description) of each flavor the hook returned.
    flavors: Sequence[Sequence[str]] = ()
    files: Sequence[Stamp] = ()
    #: The hooks the plugin implements, so that one hook's users are imported without the rest.
    hooks: Sequence[str] = ()


@functools.cache
def _distribution_folders() -> tuple[tuple[str, int], ...]:
    """Each ``sys.path`` folder that holds distributions, with its mtime."""
    found = []
    for entry in sys.path:
        folder = os.path.abspath(entry or ".")
        try:
            if os.path.isdir(folder) and not _holds_distributions(folder):
                continue  # it cannot change which plugins exist
            found.append((folder, os.stat(folder).st_mtime_ns))
        except OSError:
            continue
    return tuple(found)


def _holds_distributions(folder: str) -> bool:
    """Whether ``folder`` has a ``.dist-info`` or ``.egg-info``; stops at the first, so a big site-packages is cheap."""
    with os.scandir(folder) as entries:
        return any(e.name.endswith((".dist-info", ".egg-info")) for e in entries)


def stamps(paths: set[str | None]) -> tuple[Stamp, ...]:
    """Size and mtime of each module file that no installer would replace along with its ``.dist-info``."""
    covered = tuple(folder + os.sep for folder, _ in _distribution_folders())
    found = []
    for path in sorted(p for p in paths if p and not p.startswith(covered)):
        with contextlib.suppress(OSError):
            st = os.stat(path)
            found.append((path, st.st_mtime_ns, st.st_size))
    return tuple(found)


def _file() -> Path:
    """One file per environment, so two virtualenvs sharing a home never overwrite each other's answer."""
    env = zlib.crc32(f"{sys.prefix}\0{sys.executable}".encode())
    return locations.cache_dir() / f"plugins-{env:08x}.json"


def _fingerprint(blocked: frozenset[str]) -> str:
    """Everything outside the plugin modules that decides what discovery finds (file names can collide)."""
    parts = [str(_FORMAT), __version__, sys.version, sys.prefix, sys.executable, ",".join(sorted(blocked))]
    return "\n".join(parts + [f"{folder}\0{mtime}" for folder, mtime in _distribution_folders()])


def load(blocked: frozenset[str]) -> list[PluginRecord] | None:
    """The records of the last discovery in this environment, or None when anything has changed since."""
    try:
        data = json.loads(_file().read_text())
        if data[0] != _fingerprint(blocked):
            return None
        records = [PluginRecord._make(row) for row in data[1]]
    except (OSError, ValueError, IndexError, TypeError):
        return None
    if any(stamps({f[0]}) != (tuple(f),) for r in records for f in r.files):
        return None
    return records


def save(records: list[PluginRecord], blocked: frozenset[str]) -> None:
    """Write the records atomically (a reader sees the old file or the new one); failures are ignored."""
    path = _file()
    temp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(json.dumps([_fingerprint(blocked), records], separators=(",", ":")))
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def clear() -> None:
    """Forget this environment's records, so the next process discovers afresh."""
    with contextlib.suppress(OSError):
        _file().unlink(missing_ok=True)
