"""The local store: the interface on ``os`` directly, because fsspec's LocalFileSystem costs 3-9x on listings."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import glob as _glob
import itertools
import os
import shutil
import stat as _stat
from collections.abc import Callable, Iterator
from typing import IO, Any

from cargohold.artifact_stores import BaseArtifactStore, FileStat, WalkItem
from cargohold.artifact_stores._staged import StagedFile
from cargohold.exceptions import OutsideStoreError
from cargohold_local.flavor import LocalArtifactStoreConfig

__all__ = ["LocalArtifactStore"]

_counter = itertools.count()
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class LocalArtifactStore(BaseArtifactStore):
    """Artifacts in a folder; writes land atomically and nothing escapes the root, symlinks included."""

    config: LocalArtifactStoreConfig
    atomic_rename = True
    conditional_write = True

    def __init__(self, config: LocalArtifactStoreConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._root = config.path.rstrip(os.sep) or os.sep
        self._prefix = self._root.rstrip(os.sep) + os.sep
        os.makedirs(self._root, exist_ok=True)  # a store's root always exists, as on every flavor
        self._real_root = os.path.realpath(self._root)

    # -- paths -------------------------------------------------------------------------------------

    def _resolve(self, path: str) -> str:
        """The absolute path inside the root that ``path`` names (relative paths are under the root).

        Normalised absolute paths compare equal segment by segment exactly when one is the other
        plus a separator, so the prefix test below is a segment test and ``root2`` is not in ``root``.
        """
        if path.startswith("file://"):
            path = path[7:]
        full = os.path.normpath(os.path.join(self._root, path))
        if full != self._root and not full.startswith(self._prefix):
            full = self._from_alias(path, full)
        # A symlink below the root may point anywhere: follow only those that stay inside.
        component = self._root
        for segment in full[len(self._prefix) :].split(os.sep) if full != self._root else ():
            component = component + os.sep + segment
            try:
                mode = os.lstat(component).st_mode
            except (FileNotFoundError, NotADirectoryError):
                break
            if _stat.S_ISLNK(mode):
                real = os.path.realpath(full)
                if real != self._real_root and not real.startswith(self._real_root + os.sep):
                    raise self._outside(path, f"a symlink leads to {real!r}")
                break
        return full

    def _from_alias(self, path: str, full: str) -> str:
        """Accept the same place spelled through a symlinked ancestor of the root; refuse the rest."""
        real = os.path.realpath(full)
        if real == self._real_root or real.startswith(self._real_root + os.sep):
            return self._root + real[len(self._real_root) :]
        raise self._outside(path)

    def _outside(self, path: str, why: str = "") -> OutsideStoreError:
        because = f" ({why})" if why else ""
        return OutsideStoreError(
            f"{path!r} is outside the artifact store root {self._root!r}{because}; "
            "use a path under the root, or a store whose root contains it."
        )

    def _stage(self, full: str) -> tuple[str, int]:
        """Create a hidden temporary file beside ``full`` (and any missing parents)."""
        head, name = os.path.split(full)
        tmp = f"{head}{os.sep}.{name}.{os.getpid()}-{next(_counter)}.cargohold-tmp"
        try:
            return tmp, os.open(tmp, _WRITE_FLAGS, 0o666)
        except FileNotFoundError:
            os.makedirs(head, exist_ok=True)
            self._resolve(head)  # the parents just made must still be inside the root
            return tmp, os.open(tmp, _WRITE_FLAGS, 0o666)

    # -- the interface -----------------------------------------------------------------------------

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        full = self._resolve(path)
        if "r" in mode or "a" in mode or "+" in mode:
            return open(full, mode, encoding=_encoding(mode))
        exclusive = "x" in mode
        if exclusive and os.path.lexists(full):
            raise FileExistsError(f"{full!r} already exists")
        tmp, fd = self._stage(full)
        raw = open(fd, mode.replace("x", "w"), encoding=_encoding(mode))  # noqa: SIM115

        def publish() -> None:
            try:
                raw.close()
                _publish(tmp, full, exclusive)
            except BaseException:
                _unlink_quietly(tmp)
                raise

        def abort() -> None:
            raw.close()
            _unlink_quietly(tmp)

        return StagedFile(raw, publish, abort)  # type: ignore[return-value]

    def copyfile(self, src: str, dst: str, overwrite: bool = False) -> None:
        source, target = self._resolve(src), self._resolve(dst)
        if os.path.isdir(source):
            raise IsADirectoryError(f"{source!r} is a directory; copy its files instead")
        if not overwrite and os.path.lexists(target):
            raise FileExistsError(f"{target!r} already exists")
        tmp, fd = self._stage(target)
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            _publish(tmp, target, exclusive=not overwrite)
        except BaseException:
            _unlink_quietly(tmp)
            raise

    def exists(self, path: str) -> bool:
        return os.path.exists(self._resolve(path))

    def glob(self, pattern: str) -> list[str]:
        full = self._resolve(pattern)
        prefix = self._prefix
        found = (p.rstrip(os.sep) for p in _glob.glob(full, recursive=True, include_hidden=True))
        return sorted(p for p in found if p.startswith(prefix))

    def isdir(self, path: str) -> bool:
        return os.path.isdir(self._resolve(path))

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(self._resolve(path)))

    def makedirs(self, path: str) -> None:
        os.makedirs(self._resolve(path), exist_ok=True)

    def mkdir(self, path: str) -> None:
        os.mkdir(self._resolve(path))

    def remove(self, path: str) -> None:
        os.remove(self._resolve(path))

    def rename(self, src: str, dst: str, overwrite: bool = False) -> None:
        source, target = self._resolve(src), self._resolve(dst)
        if not os.path.lexists(source):
            raise FileNotFoundError(f"{source!r} does not exist")
        if target == source or target.startswith(source + os.sep):
            raise ValueError(f"cannot move {source!r} into itself")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if overwrite:
            os.replace(source, target)
        else:
            _rename_noreplace(source, target)

    def rmtree(self, path: str) -> None:
        full = self._resolve(path)
        if not os.path.isdir(full) or os.path.islink(full):
            os.stat(full)  # FileNotFoundError when missing
            raise NotADirectoryError(f"{full!r} is not a directory; use remove")
        shutil.rmtree(full)

    def stat(self, path: str) -> FileStat:
        full = self._resolve(path)
        st = os.stat(full)
        is_dir = _stat.S_ISDIR(st.st_mode)
        return FileStat(full, 0 if is_dir else st.st_size, "directory" if is_dir else "file", st.st_mtime)

    def size(self, path: str) -> int:
        full = self._resolve(path)
        st = os.stat(full)
        if not _stat.S_ISDIR(st.st_mode):
            return st.st_size
        return sum(os.stat(os.path.join(d, f)).st_size for d, _, files in os.walk(full) for f in files)

    def walk(
        self, top: str, topdown: bool = True, onerror: Callable[[OSError], object] | None = None
    ) -> Iterator[WalkItem]:
        full = self._resolve(top)
        if not os.path.isdir(full):
            if onerror is not None:
                onerror(NotADirectoryError(f"{full!r} is not a directory"))
            return
        for dirpath, dirs, files in os.walk(full, topdown, onerror):
            dirs.sort()
            files.sort()
            yield dirpath, dirs, files


def _publish(tmp: str, final: str, exclusive: bool) -> None:
    """Move a finished temporary file into place; ``exclusive`` never replaces an existing file."""
    if exclusive:
        os.link(tmp, final)  # atomic, and fails with FileExistsError instead of clobbering
        os.unlink(tmp)
    else:
        os.replace(tmp, final)


def _encoding(mode: str) -> str | None:
    """UTF-8 for text on every store, whatever the machine's locale."""
    return None if "b" in mode else "utf-8"


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """Linux's renameat2, which can refuse to replace the target atomically; None where unavailable."""
    libc_name = ctypes.util.find_library("c")
    function = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None) if libc_name else None
    return function


def _rename_noreplace(source: str, target: str) -> None:
    """Rename without ever replacing ``target``, even if another process creates it meanwhile."""
    renameat2 = _renameat2()
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE) == 0:
            return
        err = ctypes.get_errno()
        if err not in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the filesystem cannot; fall back
            raise OSError(err, os.strerror(err), target)
    if os.path.isdir(source):
        if os.path.lexists(target):  # no atomic no-replace for folders here: documented race
            raise FileExistsError(f"{target!r} already exists")
        os.rename(source, target)
        return
    os.link(source, target)
    os.unlink(source)
