"""``cargohold://STORE/path``: every registered artifact store as an fsspec filesystem.

Registered under fsspec's ``fsspec.specs`` entry point, so pandas, pyarrow, dask and
``fsspec.open`` reach any store by name, with the credentials the registry holds and inside
the store's sandbox::

    import pandas as pd
    df = pd.read_csv("cargohold://prod/data/train.csv")

Everything goes through the store's interface (writes are the store's staged writes); paths
are ``STORE/path/inside``, and the filesystem's root lists the registered stores as directories.

Pickled (as Dask and multiprocessing do), the filesystem is its storage options and nothing else:
a store name travels in each path, the registry's home in ``home=`` (default: the reader's
``CARGOHOLD_HOME``) and a shared registry's URL, without its password, in ``registry=``; never a
credential. Each process builds the store from the registry itself.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.spec import make_instance

from cargohold import locations
from cargohold.artifact_stores.base import FileStat
from cargohold.exceptions import InvalidConfigError, NotRegisteredError
from cargohold.registry import check_name, portable_url, registry_url
from cargohold.targets import Location, in_named_store, relative, same_store, segments

__all__ = ["CargoholdFileSystem"]


class CargoholdFileSystem(AbstractFileSystem):  # type: ignore[misc]  # fsspec is untyped
    """An fsspec filesystem whose top-level directories are the registered artifact stores."""

    protocol = "cargohold"
    root_marker = ""

    def __init__(self, home: str | None = None, registry: str | None = None, **kwargs: Any) -> None:
        """``home``: the registry's home folder, for processes whose ``CARGOHOLD_HOME`` differs; ``registry``: a
        shared registry's URL, by default the one this process uses (kept without its password)."""
        registry = portable_url(registry or registry_url(Path(home) if home else locations.home()))
        super().__init__(home=home, registry=registry, **kwargs)
        self.home, self.registry = home, registry

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with the registry it uses, also when that came from this process's environment and not from
        the options it was made with (fsspec keeps only those)."""
        return make_instance, (type(self), self.storage_args, {**self.storage_options, "registry": self.registry})

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        text = str(path[0] if isinstance(path, list) else path)
        return text.removeprefix("cargohold://").strip("/")

    def _location(self, path: str) -> Location:
        """The store and full path behind ``STORE/path``; the store's sandbox applies to the rest."""
        name, _, inside = self._strip_protocol(path).partition("/")
        if not name:
            raise IsADirectoryError("cargohold:// is the list of stores; give a store name, as cargohold://NAME/path")
        try:
            check_name("artifact store", name)
            return in_named_store(name, inside, self.home, self.registry)
        except (NotRegisteredError, InvalidConfigError) as exc:
            raise FileNotFoundError(str(exc)) from None

    def _name(self, store_name: str, location: Location, full: str) -> str:
        below = relative(full, location.store.path)
        return f"{store_name}/{below}" if below else store_name

    def _entry(self, path: str, stat: FileStat) -> dict[str, Any]:
        return {"name": path, "size": stat.size, "type": stat.type, "mtime": stat.mtime}

    # -- reading the tree --------------------------------------------------------------------------

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        stripped = self._strip_protocol(path)
        if not stripped:
            from cargohold.client import Client

            client = Client(Path(self.home) if self.home else None, url=self.registry)
            names = [c.name for c in client.components("artifact_store")]
            entries = [{"name": n, "size": 0, "type": "directory"} for n in sorted(names)]
        else:
            location = self._location(stripped)
            store_name = stripped.partition("/")[0]
            if not location.store.isdir(location.path):
                entries = [self.info(stripped)]
            else:
                entries = []
                for name in location.store.listdir(location.path):
                    child = location.child(name)
                    entries.append(
                        self._entry(self._name(store_name, location, child.path), child.store.stat(child.path))
                    )
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        stripped = self._strip_protocol(path)
        if not stripped:
            return {"name": "", "size": 0, "type": "directory"}
        location = self._location(stripped)
        return self._entry(stripped, location.store.stat(location.path))

    def find(
        self, path: str, maxdepth: int | None = None, withdirs: bool = False, detail: bool = False, **kwargs: Any
    ) -> Any:
        """Every file below ``path`` from one bulk listing of the store (directories from one walk)."""
        stripped = self._strip_protocol(path)
        if not stripped:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        location = self._location(stripped)
        store_name = stripped.partition("/")[0]
        depth = len(segments(location.path))
        found: dict[str, dict[str, Any]] = {}
        try:
            items = location.store.list_objects(location.path)
        except FileNotFoundError:
            items = []
        for item in items:
            name = self._name(store_name, location, item.path)
            if maxdepth is None or len(segments(item.path)) - depth <= maxdepth:
                found[name] = {"name": name, "size": item.size, "type": "file", "mtime": item.mtime}
        if withdirs and location.store.isdir(location.path):
            found[stripped] = self.info(stripped)
            for dirpath, dirs, _ in location.store.walk(location.path):
                for directory in dirs:
                    full = f"{dirpath.rstrip('/')}/{directory}"
                    if maxdepth is None or len(segments(full)) - depth <= maxdepth:
                        name = self._name(store_name, location, full)
                        found[name] = {"name": name, "size": 0, "type": "directory"}
        names = sorted(found)
        return {n: found[n] for n in names} if detail else names

    def modified(self, path: str) -> datetime.datetime:
        mtime = self.info(path).get("mtime")
        if mtime is None:
            raise NotImplementedError(f"the store behind {path!r} keeps no modification time")
        return datetime.datetime.fromtimestamp(mtime, tz=datetime.UTC)

    # -- reading and writing files -----------------------------------------------------------------

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        location = self._location(path)
        if "x" in mode and location.store.exists(location.path):
            # Refused when opened, as local files are; the store's create-only write still guards the race.
            raise FileExistsError(f"{path!r} already exists")
        return location.store.open(location.path, mode)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """Write ``value`` in one staged write; ``mode="create"`` is the store's create-only write."""
        with self.open(path, "wb" if mode == "overwrite" else "xb") as writer:
            writer.write(value)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """Copy one file (a server-side copy within a store); fsspec's ``copy`` passes directories here too."""
        source, target = self._location(path1), self._location(path2)
        if source.store.isdir(source.path):
            target.store.makedirs(target.path)
            return
        if same_store(source.store, target.store):
            source.store.copyfile(source.path, target.path, overwrite=True)
            return
        with source.store.open(source.path, "rb") as reader, target.store.open(target.path, "wb") as writer:
            while chunk := reader.read(1 << 22):
                writer.write(chunk)

    # -- changing the tree -------------------------------------------------------------------------

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        location = self._location(path)
        if create_parents:
            location.store.makedirs(location.path)
        else:
            location.store.mkdir(location.path)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        location = self._location(path)
        if not exist_ok and location.store.exists(location.path):
            raise FileExistsError(path)
        location.store.makedirs(location.path)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Delete files, and with ``recursive`` whole directories through the store's ``rmtree``."""
        if maxdepth is not None:
            super().rm(path, recursive=recursive, maxdepth=maxdepth)
            return
        for found in self.expand_path(path):
            location = self._location(found)
            if location.store.isdir(location.path):
                if not recursive:
                    raise IsADirectoryError(f"{found!r} is a directory; delete it with recursive=True")
                location.store.rmtree(location.path)
            else:
                location.store.remove(location.path)

    def rm_file(self, path: str) -> None:
        location = self._location(path)
        location.store.remove(location.path)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rmdir(self, path: str) -> None:
        location = self._location(path)
        if location.store.listdir(location.path):
            raise OSError(f"{path!r} is not empty")
        location.store.rmtree(location.path)
