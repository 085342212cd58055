"""The local store: the interface on ``os`` directly, because fsspec's LocalFileSystem costs 3-9x on listings."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import functools
import glob as _glob
import itertools
import os
import platform
import shutil
import stat as _stat
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any, ClassVar

from cargohold.artifact_stores import BaseArtifactStore, FileStat, WalkItem
from cargohold.artifact_stores._staged import StagedFile
from cargohold.exceptions import OutsideStoreError
from cargohold_local.flavor import LocalArtifactStoreConfig

__all__ = ["LocalArtifactStore"]

_counter = itertools.count()
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC
#: open() modes (without b/t) served in place, and their flags; "w" and "x" are staged instead.
_DIRECT_FLAGS = {
    "r": os.O_RDONLY | _CLOEXEC,
    "r+": os.O_RDWR | _CLOEXEC,
    "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND | _CLOEXEC,
    "a+": os.O_RDWR | os.O_CREAT | os.O_APPEND | _CLOEXEC,
    "w+": os.O_RDWR | os.O_CREAT | os.O_TRUNC | _CLOEXEC,
}


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
        self._root_fd = -1

    # -- paths -------------------------------------------------------------------------------------

    def _resolve(self, path: str) -> str:
        """The absolute path inside the root that ``path`` names (relative paths are under the root).

        Normalised absolute paths compare equal segment by segment exactly when one is the other
        plus a separator, so the prefix test below is a segment test and ``root2`` is not in ``root``.
        """
        full = self._lexical(path)
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

    def _lexical(self, path: str) -> str:
        """``path`` made absolute and normalised, refused if it names a place outside the root."""
        if path.startswith("file://"):
            path = path[7:]
        full = os.path.normpath(os.path.join(self._root, path))
        if full != self._root and not full.startswith(self._prefix):
            full = self._from_alias(path, full)
        return full

    def _open_beneath(self, full: str, flags: int) -> int:
        """Open a lexically checked path; the kernel refuses any symlink that leaves the root.

        On Linux this is one ``openat2(RESOLVE_BENEATH)`` call, as cheap as a plain open; where the
        kernel refuses (an absolute symlink, which may still point inside) or lacks it, the
        portable check in ``_resolve`` decides.
        """
        if _openat2 is not None:
            relative = full[len(self._prefix) :] if full != self._root else "."
            for _ in range(2):
                if self._root_fd < 0:
                    self._root_fd = os.open(self._root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                fd = _openat2(self._root_fd, relative, flags)
                if fd >= 0:
                    return fd
                err = ctypes.get_errno()
                if err == errno.ENOENT and os.fstat(self._root_fd).st_nlink == 0:
                    os.close(self._root_fd)  # the root was deleted and made again: reopen it
                    self._root_fd = -1
                    continue
                if err not in (errno.EXDEV, errno.ELOOP):
                    raise OSError(err, os.strerror(err), full)
                break
        return os.open(self._resolve(full), flags, 0o666)

    def __del__(self) -> None:
        if getattr(self, "_root_fd", -1) >= 0:
            os.close(self._root_fd)

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
            return tmp, self._open_beneath(tmp, _WRITE_FLAGS)
        except FileNotFoundError:
            os.makedirs(self._resolve(head), exist_ok=True)
            return tmp, self._open_beneath(tmp, _WRITE_FLAGS)

    # -- the interface -----------------------------------------------------------------------------

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        full = self._lexical(path)
        direct = _DIRECT_FLAGS.get(mode.replace("b", "").replace("t", ""))
        if direct is not None:  # reads and appends act in place; only a whole new content is staged
            fd = self._open_beneath(full, direct)
            try:
                return open(fd, mode, encoding=_encoding(mode))
            except BaseException:
                os.close(fd)
                raise
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


class _OpenHow(ctypes.Structure):
    _fields_: ClassVar[list[tuple[str, type]]] = [
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    ]


def _load_openat2() -> Callable[[int, str, int], int] | None:
    """Linux's openat2 with RESOLVE_BENEATH, or None where the kernel or libc lacks it."""
    if not sys.platform.startswith("linux") or platform.machine() not in _OPENAT2_SYSCALL:
        return None
    syscall = ctypes.CDLL(None, use_errno=True).syscall
    syscall.restype = ctypes.c_long
    syscall.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
    number = _OPENAT2_SYSCALL[platform.machine()]
    size = ctypes.sizeof(_OpenHow)
    hows: dict[int, tuple[_OpenHow, int]] = {}  # one immutable struct per flag set, built once

    def openat2(dir_fd: int, path: str, flags: int) -> int:
        how = hows.get(flags)
        if how is None:
            struct = _OpenHow(flags, 0o666 if flags & os.O_CREAT else 0, _RESOLVE_BENEATH)
            how = hows.setdefault(flags, (struct, ctypes.addressof(struct)))
        return int(syscall(number, dir_fd, os.fsencode(path), how[1], size))

    probe = os.open("/", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fd = openat2(probe, ".", os.O_PATH | os.O_CLOEXEC)
    finally:
        os.close(probe)
    if fd < 0:
        return None  # ENOSYS, or a seccomp filter that forbids it
    os.close(fd)
    return openat2


_RESOLVE_BENEATH = 0x08
_OPENAT2_SYSCALL = {"x86_64": 437, "aarch64": 437}
_openat2 = _load_openat2()
