"""The local store: the interface on ``os`` directly, because fsspec's LocalFileSystem costs 3-9x on listings."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fnmatch
import functools
import glob as _glob
import io
import itertools
import os
import platform
import shutil
import stat as _stat
import sys
from collections.abc import Callable, Iterator
from typing import IO, Any, ClassVar, Literal

from cargohold.plugin import (
    STAGING_SUFFIX,
    BaseArtifactStore,
    FileStat,
    ObjectInfo,
    OutsideStoreError,
    ProtectedPathError,
    WalkItem,
)
from cargohold_local.flavor import LocalArtifactStoreConfig

__all__ = ["LocalArtifactStore"]

_counter = itertools.count()
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC
#: open() modes (without b/t) and their flags; reads and appends act in place, "w" and "x" are staged.
_MODE_FLAGS = {
    "r": os.O_RDONLY | _CLOEXEC,
    "r+": os.O_RDWR | _CLOEXEC,
    "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND | _CLOEXEC,
    "a+": os.O_RDWR | os.O_CREAT | os.O_APPEND | _CLOEXEC,
    "w+": os.O_RDWR | os.O_CREAT | os.O_TRUNC | _CLOEXEC,
    "w": _WRITE_FLAGS,
    "x": _WRITE_FLAGS,
}
#: An unnamed file in a folder, named at publish time by linkat (Linux).
_UNNAMED_FLAGS = getattr(os, "O_TMPFILE", 0) | os.O_WRONLY | _CLOEXEC
_SEP = os.sep
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_LIST_FLAGS = os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC
_AT_EMPTY_PATH = 0x1000
#: An explicit buffer size spares the isatty() ioctl that open() makes to choose one; a store's file is no tty.
_BUFFER = io.DEFAULT_BUFFER_SIZE
_COPY_CHUNK = 1 << 20
_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


class LocalArtifactStore(BaseArtifactStore):
    """Artifacts in a folder; writes land atomically and nothing escapes the root, symlinks included."""

    config: LocalArtifactStoreConfig
    atomic_rename = True
    supports_symlinks = True
    conditional_write = True
    keeps_mtime = True

    def __init__(self, config: LocalArtifactStoreConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._root = config.path.rstrip(os.sep) or os.sep
        self._prefix = self._root.rstrip(os.sep) + os.sep
        self._cut = len(self._prefix)  # full[self._cut:] is the path relative to the root ("" for the root)
        os.makedirs(self._root, exist_ok=True)  # a store's root always exists, as on every flavor
        self._real_root = os.path.realpath(self._root)
        self._root_fd = -1
        #: Whether writes are staged in unnamed files: None until the first write finds out.
        self._unnamed: bool | None = None if _openat2 is not None and _linkat is not None else False

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
        if path and "//" not in path and "/." not in path and path[0] not in "./" and path[-1] != "/":
            return self._prefix + path  # relative, with no "", "." or ".." segment: already normal and inside
        if path[:7].lower() == "file://":  # schemes compare in lower case everywhere
            path = path[7:]
        full = os.path.normpath(path if path.startswith(os.sep) else self._prefix + path)
        if full != self._root and not full.startswith(self._prefix):
            full = self._from_alias(path, full)
        return full

    def _open_beneath(self, full: str, flags: int) -> int:
        """Open a lexically checked path; the kernel refuses any symlink that leaves the root.

        On Linux a name directly in the root is one ``openat`` on the root's descriptor that refuses a
        symlink (``O_NOFOLLOW``), and a deeper path one ``openat2(RESOLVE_BENEATH)``; where the kernel
        refuses a symlink (which may still point inside) or lacks openat2, the check in ``_resolve`` decides.
        """
        if _openat2 is None:
            return os.open(self._resolve(full), flags, 0o666)
        if self._root_fd < 0:
            self._root_fd = _open_folder(self._root)
        relative = full[self._cut :] or "."
        if _SEP not in relative:  # os.open costs a microsecond less than openat2 through ctypes
            try:
                return os.open(relative, flags | _NOFOLLOW, 0o666, dir_fd=self._root_fd)
            except OSError as exc:
                return self._after_refusal(full, flags, exc.errno or errno.EIO)
        fd = _openat2(self._root_fd, relative, flags)
        return fd if fd >= 0 else self._after_refusal(full, flags, ctypes.get_errno())

    def _after_refusal(self, full: str, flags: int, err: int) -> int:
        """Why the open refused, turned into an error, or into a second try where one can succeed."""
        if self._reopen_replaced_root():  # ENOENT, or EPERM for O_TMPFILE on ext4: try the new root
            return self._open_beneath(full, flags)
        if err in (errno.EXDEV, errno.ELOOP, errno.ENOTDIR):  # ENOTDIR: O_NOFOLLOW met a symlink to a folder
            return os.open(self._resolve(full), flags, 0o666)
        raise OSError(err, os.strerror(err), full)

    def __del__(self, _close: Callable[[int], None] = os.close) -> None:
        """Closes the root folder's descriptor; ``os.close`` is bound early since ``os`` may be gone at exit."""
        if getattr(self, "_root_fd", -1) >= 0:
            _close(self._root_fd)

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

    def _stage_carefully(self, full: str) -> tuple[int, str | None]:
        """A staged file for ``full`` when ``open``'s quick way failed or is not known to work yet: make the
        folder, learn what works. Its descriptor, and its temporary name (None for an unnamed file)."""
        head = full.rpartition(os.sep)[0] or os.sep
        if self._unnamed is not False:
            try:
                fd = self._open_creating(head, _UNNAMED_FLAGS, head)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR):  # EISDIR: a kernel without O_TMPFILE
                    raise
            else:
                if self._unnamed is None:
                    self._unnamed = self._can_link(fd)
                if self._unnamed:
                    return fd, None
                os.close(fd)
        tmp = _temporary_name(full)
        return self._open_creating(tmp, _WRITE_FLAGS, head), tmp

    def _open_creating(self, full: str, flags: int, folder: str) -> int:
        """``_open_beneath``, making ``folder`` (and its parents) first if it is missing."""
        try:
            return self._open_beneath(full, flags)
        except FileNotFoundError:
            os.makedirs(self._resolve(folder), exist_ok=True)
            return self._open_beneath(full, flags)

    def _can_link(self, fd: int) -> bool:
        """Whether this process may name an unnamed file (Linux 6.10+, or CAP_DAC_READ_SEARCH).

        Naming it ``.`` fails with EEXIST where linking is allowed and with ENOENT where it is not,
        and creates nothing either way.
        """
        return self._link_as(fd, ".") == errno.EEXIST

    def _link_refused(self, fd: int, full: str, exclusive: bool) -> None:
        """linkat could not name ``fd`` ``full``: a replaced root is reopened and the link tried again; unless
        ``exclusive``, an existing file is replaced atomically; any other refusal is raised."""
        err = ctypes.get_errno()  # linkat's, read before any other foreign call replaces it
        relative = full[self._cut :]
        if self._reopen_replaced_root():
            err = self._link_as(fd, relative)
        if err == errno.EEXIST and not exclusive:
            # The name is taken: link under a temporary name, then rename over it, the one atomic replace.
            tmp = _temporary_name(relative)
            err = self._link_as(fd, tmp)
            if not err:
                try:
                    os.replace(tmp, relative, src_dir_fd=self._root_fd, dst_dir_fd=self._root_fd)
                except BaseException:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp, dir_fd=self._root_fd)
                    raise
        if err:
            raise OSError(err, os.strerror(err), full)

    def _link_as(self, fd: int, relative: str) -> int:
        """Name the unnamed file ``fd`` ``relative`` (a path under the root): 0, or why linkat refused."""
        assert _linkat is not None
        done = _linkat(fd, b"", self._root_fd, relative.encode(_FS_ENCODING, _FS_ERRORS), _AT_EMPTY_PATH) == 0
        return 0 if done else ctypes.get_errno()

    def _reopen_replaced_root(self) -> bool:
        """Whether the root was deleted since its descriptor was opened; if so, the root (made again if need
        be, as a store's root always exists) is opened again under the same number, which pending writers hold."""
        if os.fstat(self._root_fd).st_nlink:
            return False
        os.makedirs(self._root, exist_ok=True)
        fresh = _open_folder(self._root)
        os.dup2(fresh, self._root_fd, inheritable=False)
        os.close(fresh)
        return True

    # -- the interface -----------------------------------------------------------------------------

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        full = self._lexical(path)
        flags, staged, encoding = _plan(mode)
        if not staged:
            fd = self._open_beneath(full, flags)
            try:
                return open(fd, mode, _BUFFER, encoding)
            except IsADirectoryError:
                os.close(fd)
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), full) from None  # not the fd
            except BaseException:
                os.close(fd)
                raise
        # A write is staged where the kernel and filesystem allow in an unnamed file (O_TMPFILE) that linkat names
        # on a clean close: a crash leaves nothing behind, and a new file costs one link instead of a create and
        # a rename. Elsewhere it is a hidden temporary file renamed into place. Written out here, not in a helper,
        # as each Python call costs a fiftieth of a small write.
        exclusive = "x" in mode
        if exclusive and os.path.lexists(full):
            raise FileExistsError(f"{full!r} already exists")
        relative = full[self._cut :]
        fd = -1
        if self._unnamed:
            try:  # directly in the root, the root's own descriptor serves and needs no resolving
                if _SEP in relative:
                    fd = self._open_beneath(full.rpartition(_SEP)[0], _UNNAMED_FLAGS)
                else:
                    fd = os.open(".", _UNNAMED_FLAGS, 0o666, dir_fd=self._root_fd)
            except OSError:
                pass  # a missing folder, a deleted root, no O_TMPFILE: the careful way says which, and makes folders
        tmp = None
        if fd < 0:
            fd, tmp = self._stage_carefully(full)
        try:
            writer = _StagedWriter(io.FileIO(fd, "wb"), _BUFFER)
        except BaseException:
            os.close(fd)
            if tmp is not None:
                _unlink_quietly(tmp)
            raise
        writer._store = self
        writer._full = full
        writer._exclusive = exclusive
        writer._tmp = tmp
        writer._link = (fd, b"", self._root_fd, relative.encode(_FS_ENCODING, _FS_ERRORS), _AT_EMPTY_PATH)
        return writer if encoding is None else _StagedText(writer, encoding)

    def copyfile(self, src: str, dst: str, overwrite: bool = False) -> None:
        source, target = self._resolve(src), self._resolve(dst)
        if os.path.isdir(source):
            raise IsADirectoryError(f"{source!r} is a directory; copy its files instead")
        with open(source, "rb") as fsrc, self.open(target, "wb" if overwrite else "xb") as fdst:
            shutil.copyfileobj(fsrc, fdst, _COPY_CHUNK)

    def exists(self, path: str) -> bool:
        return os.path.exists(self._resolve(path))

    def glob(self, pattern: str) -> list[str]:
        """Matches found by scanning folders ourselves (not ``glob.glob``, which follows every symlink): a link that
        leaves the root is never entered nor matched, and ``**`` descends no symlinked folder, as in pathlib."""
        full = self._resolve(pattern)
        found: list[str] = []
        self._glob_below(self._root, full[self._cut :].split(os.sep) if full != self._root else [], found)
        return sorted({p for p in found if p != self._root})

    def _glob_below(self, folder: str, segments: list[str], found: list[str]) -> None:
        if not segments:
            found.append(folder)
            return
        head, rest = segments[0], segments[1:]
        if head == "**":
            self._glob_below(folder, rest, found)  # ** may stand for no folder at all
            for entry in self._entries(folder):
                if entry.is_dir(follow_symlinks=False):
                    self._glob_below(entry.path, segments, found)
                elif not rest and (not entry.is_symlink() or self._stays_inside(entry.path)):
                    found.append(entry.path)  # a trailing ** matches files too, as glob.glob's does
            return
        if not _glob.has_magic(head):
            path = folder + os.sep + head
            if os.path.lexists(path) and self._stays_inside(path) and (not rest or os.path.isdir(path)):
                self._glob_below(path, rest, found)
            return
        for entry in self._entries(folder):
            if not fnmatch.fnmatchcase(entry.name, head) or (entry.is_symlink() and not self._stays_inside(entry.path)):
                continue
            if not rest or entry.is_dir():
                self._glob_below(entry.path, rest, found)

    def _stays_inside(self, path: str) -> bool:
        """Whether ``path`` (below the root, its parent already inside) resolves inside the root."""
        real = os.path.realpath(path)
        return real == self._real_root or real.startswith(self._real_root + os.sep)

    @staticmethod
    def _entries(folder: str) -> list[os.DirEntry[str]]:
        try:
            with os.scandir(folder) as entries:
                return list(entries)
        except (NotADirectoryError, FileNotFoundError, PermissionError):
            return []

    def _split(self, folder: str) -> tuple[list[str], list[str]]:
        """The folders and files directly in ``folder``, sorted, without the links that leave the root."""
        dirs: list[str] = []
        files: list[str] = []
        for entry in self._entries(folder):
            if entry.is_symlink() and not self._stays_inside(entry.path):
                continue
            (dirs if entry.is_dir() else files).append(entry.name)
        dirs.sort()
        files.sort()
        return dirs, files

    def isdir(self, path: str) -> bool:
        return os.path.isdir(self._resolve(path))

    def listdir(self, path: str) -> list[str]:
        fd = self._open_beneath(self._lexical(path), _LIST_FLAGS)  # one race-free open, not an lstat per segment
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

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

    def rmtree(self, path: str, force: bool = False) -> None:
        full = self._resolve(path)
        if not os.path.isdir(full) or os.path.islink(full):
            os.stat(full)  # FileNotFoundError when missing
            raise NotADirectoryError(f"{full!r} is not a directory; use remove")
        if full == self._root and not force:
            raise ProtectedPathError(
                f"Refusing to delete {full!r}: it is the root of this artifact store; pass force=True to delete it."
            )
        shutil.rmtree(full)  # removes a symlink found below, never what it points to

    def stat(self, path: str) -> FileStat:
        full = self._resolve(path)
        st = os.stat(full)
        is_dir = _stat.S_ISDIR(st.st_mode)
        return FileStat(full, 0 if is_dir else st.st_size, "directory" if is_dir else "file", st.st_mtime)

    def scandir(self, path: str) -> list[FileStat]:
        full = self._resolve(path)
        found = []
        with os.scandir(full) as entries:
            for entry in entries:
                if entry.is_symlink():  # where it leads is checked against the root, as stat() checks it
                    found.append(self.stat(entry.path))
                    continue
                st = entry.stat()
                is_dir = _stat.S_ISDIR(st.st_mode)
                kind: Literal["file", "directory"] = "directory" if is_dir else "file"
                found.append(FileStat(entry.path, 0 if is_dir else st.st_size, kind, st.st_mtime))
        return sorted(found, key=lambda stat: stat.path)

    def list_objects(self, path: str) -> list[ObjectInfo]:
        return sorted(self.iter_objects(path), key=lambda o: o.path)

    def iter_objects(self, path: str) -> Iterator[ObjectInfo]:
        top = self.stat(path)
        if top.type == "file":
            yield ObjectInfo(top.path, top.size, top.mtime, own_mtime=True)
            return
        yield from self._objects(top.path)

    def _objects(self, folder: str) -> Iterator[ObjectInfo]:
        """The files below ``folder`` as ``walk`` finds them (links that leave the root left out, linked folders
        not followed), a folder at a time from its ``scandir``: each entry's own stat, no path resolved again."""
        below = []
        try:
            entries = os.scandir(folder)
        except (NotADirectoryError, FileNotFoundError, PermissionError):
            return
        with entries:
            for entry in entries:
                if entry.is_symlink():
                    if entry.is_dir() or not self._stays_inside(entry.path):
                        continue
                elif entry.is_dir():
                    below.append(entry.path)
                    continue
                found = entry.stat()
                yield ObjectInfo(entry.path, found.st_size, found.st_mtime, own_mtime=True)
        for sub in below:
            yield from self._objects(sub)

    def set_mtime(self, path: str, mtime: float) -> None:
        os.utime(self._resolve(path), (mtime, mtime))

    def fsync(self, path: str) -> None:
        full = self._resolve(path)
        for target, flags in ((full, os.O_RDONLY | _CLOEXEC), (os.path.dirname(full), _LIST_FLAGS)):
            fd = os.open(target, flags)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def size(self, path: str) -> int:
        full = self._resolve(path)
        st = os.stat(full)
        if not _stat.S_ISDIR(st.st_mode):
            return st.st_size
        return sum(os.stat(d + os.sep + f).st_size for d, _, files in self.walk(full) for f in files)

    def walk(
        self, top: str, topdown: bool = True, onerror: Callable[[OSError], object] | None = None
    ) -> Iterator[WalkItem]:
        full = self._resolve(top)
        if not os.path.isdir(full):
            if onerror is not None:
                onerror(NotADirectoryError(f"{full!r} is not a directory"))
            return
        yield from self._walk(full, topdown)

    def _walk(self, folder: str, topdown: bool) -> Iterator[WalkItem]:
        """``os.walk`` without following symlinked folders, and without listing links that leave the root."""
        dirs, files = self._split(folder)
        if topdown:
            yield folder, dirs, files
        for name in dirs:
            below = folder + os.sep + name
            if not os.path.islink(below):
                yield from self._walk(below, topdown)
        if not topdown:
            yield folder, dirs, files


class _StagedWriter(io.BufferedWriter):
    """A new file's writer: ``close()`` or a clean ``with`` publishes it; an exception, ``abort()`` or
    dropping it unclosed discards it. A subclass of the builtin writer, not a wrapper, so that it
    costs what the builtin costs; it keeps plain fields, not closures, which would cost a tenth of a small write."""

    __slots__ = ("_exclusive", "_full", "_link", "_store", "_tmp")
    _store: LocalArtifactStore
    #: The final name, and whether an existing file there is kept (``x``) rather than replaced.
    _full: str
    _exclusive: bool
    #: The hidden temporary name it is written under, or None for an unnamed (``O_TMPFILE``) file.
    _tmp: str | None
    #: linkat's arguments that give an unnamed file its final name.
    _link: tuple[int, bytes, int, bytes, int]

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        """A clean exit publishes, an exception discards. The work (linkat included) is here, not in ``close``
        or a helper, as ``with`` is the usual way out and each Python call costs a fiftieth of a small write."""
        if exc_type is not None:
            self.abort()
        elif not self.closed:
            try:
                self.flush()
                if self._tmp is not None:
                    _publish(self._tmp, self._full, self._exclusive)
                else:
                    assert _linkat is not None
                    if _linkat(*self._link):
                        self._store._link_refused(self._link[0], self._full, self._exclusive)
            except BaseException:
                self.abort()
                raise
            io.BufferedWriter.close(self)

    def close(self) -> None:
        """Finish the write and make it visible under its final name."""
        self.__exit__(None, None, None)

    def abort(self) -> None:
        """Throw the write away; nothing appears under the final name."""
        if not self.closed:
            self.raw.close()
            if self._tmp is not None:
                _unlink_quietly(self._tmp)

    def __del__(self) -> None:
        if not self.closed:
            self.abort()


class _StagedText(io.TextIOWrapper):
    """The text face of a ``_StagedWriter``, under the same rule: only a clean close publishes."""

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def abort(self) -> None:
        """Throw the write away; nothing appears under the final name."""
        writer = self.buffer
        assert isinstance(writer, _StagedWriter)
        writer.abort()

    def __del__(self) -> None:
        if not self.closed:
            self.abort()


def _temporary_name(path: str) -> str:
    """A hidden name beside ``path``, unique to this process and write."""
    head, _, name = path.rpartition(os.sep)
    return f"{head}{os.sep if head else ''}.{name}.{os.getpid()}-{next(_counter)}{STAGING_SUFFIX}"


def _publish(tmp: str, final: str, exclusive: bool) -> None:
    """Move a finished temporary file into place; ``exclusive`` never replaces an existing file."""
    if exclusive:
        os.link(tmp, final)  # atomic, and fails with FileExistsError instead of clobbering
        os.unlink(tmp)
    else:
        os.replace(tmp, final)


@functools.cache
def _plan(mode: str) -> tuple[int, bool, str | None]:
    """The open flags of ``mode``, whether its write is staged, and its encoding (UTF-8 for text, whatever
    the locale); cached, as a store sees few distinct modes and opens many files."""
    kind = mode.replace("b", "").replace("t", "")
    flags = _MODE_FLAGS.get(kind)
    if flags is None:
        raise ValueError(f"invalid mode {mode!r}; use r, w, x or a, with + and b or t as open() takes them")
    return flags, kind in ("w", "x"), None if "b" in mode else "utf-8"


def _open_folder(path: str) -> int:
    """A descriptor that stands for the folder ``path`` in ``*at`` calls, and opens nothing else."""
    return os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)


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
    # No argtypes: converting declared arguments costs as much as the call itself. Unconverted, ints go
    # as sign-extended C ints, bytes as char*, and each flag set's struct as a pointer built once.
    number = _OPENAT2_SYSCALL[platform.machine()]
    size = ctypes.sizeof(_OpenHow)
    hows: dict[int, Any] = {}

    def openat2(dir_fd: int, path: str, flags: int) -> int:
        how = hows.get(flags)
        if how is None:
            creates = flags & os.O_CREAT or flags & os.O_TMPFILE == os.O_TMPFILE
            struct = _OpenHow(flags, 0o666 if creates else 0, _RESOLVE_BENEATH)
            how = hows.setdefault(flags, ctypes.pointer(struct))
        return int(syscall(number, dir_fd, path.encode(_FS_ENCODING, _FS_ERRORS), how, size))

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


def _load_linkat() -> Callable[..., int] | None:
    """libc's linkat, which can name an unnamed file by its descriptor; None off Linux."""
    if not sys.platform.startswith("linux") or not hasattr(os, "O_TMPFILE"):
        return None
    function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).linkat
    return function


_linkat = _load_linkat()
