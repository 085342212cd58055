"""Artifacts: a folder in any store holding an object's data, the views visualizers made of it, and its metadata.

::

    models:churn/v3/            any target ``cargohold fs`` takes: NAME:path, a URL, a local path
      data/                     the object as one file (text, JSON, image bytes, else a pickle), or a path's files
      visualizations/NAME.EXT   html, markdown, image (png, jpeg, svg), csv or json
      metadata.json             type, files with sizes and SHA-256, content hash, creation time, what made it, tags

Every file goes through the store's staged writes, and ``metadata.json`` is written last: it is the commit
marker, so a folder without it (a save that failed half way) is not an artifact to any reader.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pickle
import platform
import sys
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cargohold._version import __version__
from cargohold.artifact_stores.base import BaseArtifactStore
from cargohold.exceptions import PluginWarning
from cargohold.targets import Location, resolve
from cargohold.visualizers import Visualization, Visualizer, file_name, image_format, kind_of

__all__ = ["METADATA", "VisualizationFile", "list_visualizations", "load_metadata", "save", "save_visualization"]

#: The commit marker: written last, read first.
METADATA = "metadata.json"
_DATA = "data"
_VISUALIZATIONS = "visualizations"
_FORMAT = 1
_CHUNK = 1 << 20
Source = tuple[str, Callable[[], IO[bytes]]]


@dataclass(frozen=True)
class VisualizationFile:
    """A saved visualization: its name, kind and media type, and its full path in the store."""

    name: str
    kind: str
    media_type: str
    path: str


def save(obj: object, target: str | Location, *, tags: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Save ``obj`` as a new artifact at ``target`` with the views every visualizer of its type makes; returns its
    metadata. An ``os.PathLike`` saves the local file or folder it names (a ``str`` is text, never a path).

    ``target`` is what ``cargohold fs`` takes (``NAME:path``, a URL, a local path), or a ``Location`` in a store.
    """
    checked_tags = _checked_tags(tags)
    sources, type_name = _sources(obj)
    views = {} if isinstance(obj, os.PathLike) else _views(obj)
    location = _located(target)
    store = location.store
    if store.exists(location.path):
        why = "something is already there; save the artifact to a new path"
        raise FileExistsError(errno.EEXIST, why, location.path)
    written: list[str] = []
    try:
        files: list[dict[str, Any]] = []
        for relative, open_source in sources:
            with open_source() as reader:
                size, digest = _write(store, location.child(f"{_DATA}/{relative}").path, reader, written)
            files.append({"path": relative, "size": size, "sha256": digest})
        for name, view in views.items():
            _write(store, location.child(f"{_VISUALIZATIONS}/{name}").path, io.BytesIO(view.data), written)
        manifest = "".join(f"{f['sha256']}  {f['path']}\n" for f in files)
        metadata = {
            "format": _FORMAT,
            "type": type_name,
            "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "made_by": {
                "cargohold": __version__,
                "python": platform.python_version(),
                "program": Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python",
            },
            "tags": checked_tags,
            "files": files,
            "size": sum(int(f["size"]) for f in files),
            "sha256": hashlib.sha256(manifest.encode()).hexdigest(),
        }
        _write(store, location.child(METADATA).path, io.BytesIO(json.dumps(metadata, indent=2).encode()), written)
    except BaseException:
        store.bulk_delete(written)  # only files this save wrote ("xb"): a half artifact never stays behind
        raise
    return metadata


def load_metadata(target: str | Location) -> dict[str, Any]:
    """The metadata of the artifact at ``target``; a folder without ``metadata.json`` gets one sentence."""
    return _metadata(_located(target))


def list_visualizations(target: str | Location) -> list[VisualizationFile]:
    """The visualizations saved in the artifact at ``target``, sorted by file name."""
    location = _located(target)
    _metadata(location)
    folder = location.child(_VISUALIZATIONS)
    try:
        names = location.store.listdir(folder.path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for name in names:
        known = kind_of(name)
        if known and not name.startswith("."):  # a dot file is a staged write, not yet a visualization
            found.append(VisualizationFile(name.rpartition(".")[0], known[0], known[1], folder.child(name).path))
    return found


def save_visualization(
    target: str | Location, content: bytes | str, kind: str, name: str | None = None
) -> VisualizationFile:
    """Add a visualization (``kind`` is html, markdown, image, csv or json) to the artifact at ``target``; ``name``
    defaults to the kind. An existing one of the same file name is never replaced."""
    view = Visualization(name or kind, kind, content)  # type: ignore[arg-type]  # file_name() checks the kind
    file = file_name(view)
    location = _located(target)
    _metadata(location)
    path = location.child(f"{_VISUALIZATIONS}/{file}").path
    try:
        _write(location.store, path, io.BytesIO(view.data), [])
    except FileExistsError:
        why = "a visualization of this name is saved already; give another name"
        raise FileExistsError(errno.EEXIST, why, path) from None
    known = kind_of(file)
    assert known is not None
    return VisualizationFile(view.name, known[0], known[1], path)


def _located(target: str | Location) -> Location:
    return target if isinstance(target, Location) else resolve(target)


def _metadata(location: Location) -> dict[str, Any]:
    try:
        with location.store.open(location.child(METADATA).path, "rb") as f:
            data = json.load(f)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        why = "not an artifact (it holds no metadata.json); save one with cargohold.artifacts.save"
        raise FileNotFoundError(errno.ENOENT, why, location.path) from None
    if not isinstance(data, dict):
        raise ValueError(f"{location.child(METADATA).path} is not an artifact's metadata: it holds no JSON object.")
    return data


def _write(store: BaseArtifactStore, path: str, reader: IO[bytes], written: list[str]) -> tuple[int, str]:
    """Copy ``reader`` to a new file at ``path`` (never replacing one) and note it; its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    with store.open(path, "xb") as out:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    written.append(path)
    return size, digest.hexdigest()


def _checked_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise ValueError(f"tags must map names to strings, such as {{'stage': 'prod'}}, not {tags!r}.")
    return dict(tags)


def _sources(obj: object) -> tuple[list[Source], str]:
    """The files under ``data/`` (relative path and a way to open it) and the type recorded in the metadata."""
    if isinstance(obj, os.PathLike):
        path = Path(obj)
        if path.is_file():
            return [(path.name, _reader(path))], "file"
        if path.is_dir():
            return [(p.relative_to(path).as_posix(), _reader(p)) for p in _files(path)], "folder"
        raise FileNotFoundError(errno.ENOENT, "no such file or folder to save as an artifact", str(path))
    kind = type(obj)
    type_name = f"{kind.__module__}.{kind.__qualname__}"
    if isinstance(obj, str):
        return [_in_memory("object.txt", obj.encode())], type_name
    if isinstance(obj, bytes | bytearray):
        data = bytes(obj)
        found = image_format(data)
        return [_in_memory(f"object.{found}" if found else "object.bin", data)], type_name
    if isinstance(obj, dict | list):
        try:
            return [_in_memory("object.json", json.dumps(obj).encode())], type_name
        except (TypeError, ValueError):
            pass  # not plain JSON: pickled like any other object
    try:
        return [_in_memory("object.pickle", pickle.dumps(obj))], type_name
    except Exception as exc:
        raise TypeError(
            f"A {type_name} cannot be pickled ({exc}); write it to a file and save that file's pathlib.Path."
        ) from None


def _reader(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _in_memory(name: str, data: bytes) -> Source:
    return name, lambda: io.BytesIO(data)


def _files(folder: Path) -> list[Path]:
    """Every file below ``folder`` sorted by path, as its metadata lists them; symlinks to folders are not followed."""
    return sorted((Path(top, name) for top, _, names in os.walk(folder) for name in names), key=lambda p: p.parts)


def _views(obj: object) -> dict[str, Visualization]:
    """The views of ``obj`` by file name, from every visualizer that handles it, core's first. A visualizer that
    fails is warned about and skipped (the object is saved anyway); a file name taken already keeps its first view."""
    from cargohold.plugins import get_flavor_registry

    found: dict[str, Visualization] = {}
    visualizers: list[type[Visualizer]] = get_flavor_registry().extensions("cargohold_visualizers")
    for cls in visualizers:
        try:
            if not cls.handles(obj):
                continue
            views = cls().visualize(obj)
            if not isinstance(views, list) or not all(isinstance(v, Visualization) for v in views):
                raise TypeError(f"visualize() returned {views!r}, not a list of Visualization")
            named = [(file_name(v), v) for v in views]
        except Exception as exc:
            warnings.warn(
                f"The visualizer {cls.__module__}.{cls.__qualname__} failed on a {type(obj).__qualname__} "
                f"({type(exc).__name__}: {exc}); the artifact is saved without its views.",
                PluginWarning,
                stacklevel=3,
            )
            continue
        for name, view in named:
            found.setdefault(name, view)
    return found
