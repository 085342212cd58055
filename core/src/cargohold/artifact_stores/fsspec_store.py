"""The whole artifact store interface, written once over any fsspec filesystem."""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import io
import os
import shutil
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, cast

from cargohold._paths import inside, normalize, split_scheme
from cargohold.artifact_stores._staged import READ_SIZE, PartUpload, Reader, SizedStream, StagedFile
from cargohold.artifact_stores._upload_records import UploadRecord
from cargohold.artifact_stores.base import STAGING_SUFFIX, BaseArtifactStore, FileStat, ObjectInfo, WalkItem
from cargohold.exceptions import CargoholdError, OutsideStoreError, ProtectedPathError, timeout_raised

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["FsspecArtifactStore", "PartUpload", "Reader", "SizedStream", "UploadRecord"]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
Parts = tuple[str, ...]
_Tree = dict[str, "_Tree | None"]
_MAGIC = frozenset("*?[")


def _translated(method: F) -> F:
    """Turn a backend's own exception types into the standard ones, keeping the original chained.

    A standard error leaves the store reading well: its traceback starts at the store's method, and each
    exception chained below it shows as its one-line message, without the library's frames.
    """

    @functools.wraps(method)
    def wrapper(self: FsspecArtifactStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (ValueError, TypeError):
            raise
        except Exception as exc:
            error = exc if isinstance(exc, CargoholdError) else self._standard_error(exc, args)
        if not isinstance(error, OSError):
            raise error
        chained = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
        while chained is not None:
            chained.__traceback__ = None
            chained = chained.__cause__ or (None if chained.__suppress_context__ else chained.__context__)
        raise error.with_traceback(None)

    return cast(F, wrapper)


#: How many leading arguments of each interface method are paths in the store.
_PATH_ARGUMENTS = {
    "open": 1, "copyfile": 2, "exists": 1, "glob": 1, "isdir": 1, "listdir": 1, "makedirs": 1, "mkdir": 1,
    "remove": 1, "rename": 2, "rmtree": 1, "stat": 1, "walk": 1, "size": 1,
}  # fmt: skip


def _sandboxed(method: F, count: int) -> F:
    """``method`` with its first ``count`` path arguments refused outside the root and passed on as full paths."""
    signature = inspect.signature(method)
    names = list(signature.parameters)[1 : 1 + count]

    @functools.wraps(method)
    def wrapper(self: FsspecArtifactStore, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        for name in names:
            if name in bound.arguments:
                bound.arguments[name] = self._full(self._parts(bound.arguments[name]))
        return method(*bound.args, **bound.kwargs)

    wrapper._cargohold_sandboxed = True  # type: ignore[attr-defined]
    return cast(F, wrapper)


class FsspecArtifactStore(BaseArtifactStore):
    """An artifact store over an fsspec filesystem: a flavor supplies ``_make_filesystem`` and nothing else.

    Backend differences live in hooks, not in copies of the interface: ``_make_filesystem``,
    ``translate_error``, the capability flags and ``mtime_keys``.
    """

    #: Keys of ``fs.info`` that may hold a modification time, most preferred first.
    mtime_keys: ClassVar[tuple[str, ...]] = ("mtime", "LastModified", "last_modified", "updated", "created")
    #: Keys of ``fs.info`` that may hold an etag, most preferred first; ``list_objects`` reports it.
    etag_keys: ClassVar[tuple[str, ...]] = ("ETag", "etag")
    #: The user metadata under which a store that ``keeps_mtime`` records a copy's source mtime (POSIX seconds,
    #: as ``repr`` of a float): a name every service accepts (Azure's must be an identifier).
    mtime_metadata: ClassVar[str] = "cargohold_mtime"
    #: Whether ``fs.info`` and listings hold an object's user metadata (``"metadata"``); where not (S3),
    #: ``object_info`` asks for it.
    listing_has_metadata: ClassVar[bool] = True
    #: How a write stays invisible until it is finished; see ``_open_staged``.
    write_staging: ClassVar[Literal["close", "rename"]] = "close"
    #: The parts of a flavor's ``PartUpload``: four of 6 MiB in flight keep up with a service and keep
    #: a copy's memory small.
    upload_part_size: ClassVar[int] = 6 << 20
    upload_concurrency: ClassVar[int] = 4
    #: How a streamed read fetches: ranged requests reaching ``read_block_size`` bytes past each read, one
    #: block held at a time ("readahead"), so a read of any size stays flat in memory. The libraries' own
    #: defaults (50 MB blocks in s3fs and adlfs, gcsfs's adaptive prefetch of up to 256 MB) held the block
    #: about three times over while the next arrived: 240 MB peaks streaming a 1 GB file.
    read_block_size: ClassVar[int] = 8 << 20
    read_cache_type: ClassVar[str] = "readahead"
    #: Names a page of a paged listing asks for (``_listing_pages``); None takes the service's own (S3's 1000).
    listing_page_size: ClassVar[int | None] = None
    #: What a root's first segment names on this service ("bucket", "container"); set, a missing one is
    #: reported as missing instead of looking like an empty store (or, on S3, being created by ``makedirs``).
    bucket_kind: ClassVar[str | None] = None
    _filesystem: AbstractFileSystem | None = None
    _bucket_seen = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A store whose backend comes from its own ``filesystem`` property (as ZenML's guide writes one) hands
        paths to that filesystem itself, so its overrides of the interface get the sandbox here."""
        super().__init_subclass__(**kwargs)
        if not any("filesystem" in vars(c) for c in cls.__mro__[: cls.__mro__.index(FsspecArtifactStore)]):
            return
        for name, count in _PATH_ARGUMENTS.items():
            method = vars(cls).get(name)
            if callable(method) and not getattr(method, "_cargohold_sandboxed", False):
                setattr(cls, name, _sandboxed(method, count))

    def _make_filesystem(self) -> AbstractFileSystem:
        """Build the fsspec filesystem from ``self.config``; called once, on first use."""
        raise NotImplementedError(f"{type(self).__name__} must implement _make_filesystem()")

    def translate_error(self, exc: Exception) -> BaseException:
        """Map a backend's own exception (any but a built-in one, e.g. botocore's timeouts, which are OSErrors)
        to a standard one; the default keeps it."""
        return exc

    @property
    def filesystem(self) -> AbstractFileSystem:
        """The fsspec filesystem, built on first use so that constructing a store costs nothing."""
        if self._filesystem is None:
            self._filesystem = self._make_filesystem()
        return self._filesystem

    @functools.cached_property
    def _root(self) -> tuple[str, Parts]:
        """The prefix full paths are shown with (the scheme, or ``/`` for a plain local root) and the root's parts."""
        scheme, rest = split_scheme(self.config.path)
        return scheme or ("/" if rest.startswith("/") else ""), normalize(rest) or ()

    # -- paths -------------------------------------------------------------------------------------

    def _parts(self, path: str) -> Parts:
        """Normalised segments of ``path``, refused unless they lie inside the root."""
        root = self._root[1]
        given_scheme, rest = split_scheme(path)
        if given_scheme:
            parts = normalize(rest) if given_scheme in self.schemes else None
        elif rest.startswith("/") and self._root[0] == "/":  # an absolute local path, not one under the root
            parts = normalize(rest)
        else:
            parts = normalize("/".join(root) + "/" + rest)
        if parts is None or not inside(parts, root):
            raise OutsideStoreError(
                f"{path!r} is outside the artifact store root {self.config.path!r}; "
                "use a path under the root, or a store whose root contains it."
            )
        return parts

    def _shown(self, path: str) -> str:
        """``path`` as a full URL of this store, for messages (as given, where it cannot be read as one)."""
        try:
            return self._full(self._parts(path))
        except OutsideStoreError:
            return path

    def _fs_path(self, parts: Parts) -> str:
        return cast(str, self.filesystem.root_marker) + "/".join(parts)

    def _full(self, parts: Parts) -> str:
        return self._root[0] + "/".join(parts)

    def _parts_of_fs_path(self, fs_path: str) -> Parts:
        return normalize(cast(str, self.filesystem._strip_protocol(fs_path))) or ()

    def _bucket_missing(self) -> bool:
        """Whether the service says the root's bucket does not exist: asked once per store until it does.

        Only a not-found answer counts; a caller allowed objects but not the bucket itself (a 403) goes on as
        before. Asked only where a missing bucket would otherwise pass unnoticed: after a not-found, at the root.
        """
        if self.bucket_kind is None or self._bucket_seen or not self._root[1]:
            return False
        try:
            self.filesystem.info(self._fs_path(self._root[1][:1]))
        except FileNotFoundError:
            return True
        except Exception as exc:
            if not isinstance(exc, PermissionError) and not isinstance(self.translate_error(exc), PermissionError):
                raise
        self._bucket_seen = True
        return False

    def _check_bucket(self) -> None:
        """Raise, in one sentence, when the root's bucket does not exist."""
        if self._bucket_missing():
            raise FileNotFoundError(
                errno.ENOENT,
                f"The {self.bucket_kind} {self._root[1][0]!r} of artifact store {self.name or self.path!r} does "
                f"not exist; create it, or point the store at a {self.bucket_kind} that exists",
                self.path,
            )

    def _standard_error(self, exc: Exception, args: tuple[Any, ...]) -> BaseException:
        """What a call that raised ``exc`` raises instead: a standard exception chained to it, or ``exc``."""
        if isinstance(exc, FileNotFoundError):
            try:
                self._check_bucket()
            except FileNotFoundError as missing:
                return missing
            if "://" in str(exc) or not args or not isinstance(args[0], str):
                return exc
            # The libraries name the missing object by their own inner path (``bucket/key``, ``b/x/o/key``): say
            # which URL of this store was missing instead. Chained, in case the library's words help.
            mapped: BaseException = FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), self._shown(args[0]))
        elif type(exc).__module__ == "builtins":  # already standard; a library's OSError subclass is not
            return exc
        else:
            mapped = self.translate_error(exc)
            if mapped is exc:
                return exc
        mapped.__cause__ = exc
        return mapped

    def _info(self, parts: Parts) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], self.filesystem.info(self._fs_path(parts)))
        except FileNotFoundError:
            if parts == self._root[1]:  # the root always exists, even with nothing under it yet: if its bucket does
                self._check_bucket()
                return {"name": self._fs_path(parts), "type": "directory", "size": 0}
            raise

    def _recorded_mtime(self, info: dict[str, Any]) -> float | None:
        """The source mtime a copy recorded with the object, if the info holds one."""
        value = (info.get("metadata") or {}).get(self.mtime_metadata)
        try:
            return float(value) if value is not None else None
        except ValueError:  # not ours after all
            return None

    def _mtime_record(self, mtime: float | None) -> dict[str, str]:
        """The user metadata recording ``mtime`` with an object, for stores that ``keeps_mtime``."""
        return {self.mtime_metadata: repr(float(mtime))} if mtime is not None and self.keeps_mtime else {}

    def _hashes(self, info: dict[str, Any]) -> tuple[str | None, str | None]:
        """The content's MD5 and CRC32C in hex, as the service keeps them in ``info``; none by default."""
        return None, None

    def _mtime(self, info: dict[str, Any]) -> float | None:
        recorded = self._recorded_mtime(info)
        if recorded is not None:
            return recorded
        for key in self.mtime_keys:
            value = info.get(key)
            if isinstance(value, (int, float)):
                return float(value)
            if isinstance(value, datetime):
                return value.timestamp()
            if isinstance(value, str):
                try:
                    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
                except ValueError:
                    continue
        return None

    # -- the interface -----------------------------------------------------------------------------

    @_translated
    def open(self, path: str, mode: str = "r") -> IO[Any]:
        parts = self._parts(path)
        binary = mode.replace("t", "") if "b" in mode else mode.replace("t", "") + "b"
        fs_path = self._fs_path(parts)
        if "r" in binary:
            raw = self._open_read(fs_path, binary)
            # Object stores' files open a folder as an empty file; what they looked up says which it was
            # (asking isdir first would cost every read a request).
            if getattr(raw, "details", {}).get("type") == "directory":
                raw.close()
                raise IsADirectoryError(f"{self._full(parts)!r} is a directory")
            return cast(IO[Any], raw if "b" in mode else io.TextIOWrapper(raw, encoding="utf-8"))
        raw, publish_raw, abort = self._open_staged(fs_path, binary)

        def publish() -> None:
            try:
                publish_raw()
            except FileNotFoundError:  # a missing bucket shows only here, at close, in the service's own words
                self._check_bucket()
                raise

        if "b" in mode:
            return cast(IO[Any], StagedFile(raw, publish, abort))
        text = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)

        def publish_text() -> None:
            text.flush()
            publish()

        return cast(IO[Any], StagedFile(text, publish_text, abort))

    def _open_read(self, fs_path: str, mode: str = "rb") -> Any:
        """The raw file at ``fs_path`` open for reading, with the store's read policy (``read_block_size``)."""
        return self.filesystem.open(fs_path, mode, block_size=self.read_block_size, cache_type=self.read_cache_type)

    def _open_staged(self, fs_path: str, mode: str) -> tuple[Any, Callable[[], None], Callable[[], None]]:
        """Open for writing as ``(handle, publish, abort)``; nothing shows under ``fs_path`` before publish.

        ``write_staging = "close"``: object stores publish the object on close and nothing before,
        so abort only discards the upload. ``"rename"``: for filesystems that show a file as soon as
        it is opened, write under a hidden temporary name and move it into place on publish.
        """
        fs = self.filesystem
        if self.write_staging == "close":
            raw = fs.open(fs_path, mode)

            def abort() -> None:
                try:
                    getattr(raw, "discard", lambda: None)()  # aborts a multipart or resumable upload
                finally:  # even when the server is gone: close() from __del__ must never commit a partial file
                    with contextlib.suppress(AttributeError):
                        raw.closed = True

            return raw, raw.close, abort
        head, _, name = fs_path.rpartition("/")
        temp = f"{head}/.{name}.{uuid.uuid4().hex[:12]}{STAGING_SUFFIX}"
        if "x" in mode and fs.exists(fs_path):
            raise FileExistsError(f"{fs_path!r} already exists")
        raw = fs.open(temp, "wb")

        def publish() -> None:
            try:
                raw.close()
                if "x" in mode and fs.exists(fs_path):
                    raise FileExistsError(f"{fs_path!r} already exists")
                if _MAGIC.intersection(fs_path):  # fs.mv would read the names as glob patterns
                    fs.cp_file(temp, fs_path)
                else:
                    fs.mv(temp, fs_path)
            finally:
                if fs.exists(temp):
                    fs.rm_file(temp)

        def discard() -> None:
            raw.close()
            fs.rm_file(temp)

        return raw, publish, discard

    @_translated
    def upload(self, reader: Reader, path: str, size: int, overwrite: bool = True, mtime: float | None = None) -> None:
        """Write everything ``reader`` holds to ``path``, all or nothing, as ``open(path, "wb")`` would.

        ``size`` is what the source was listed with; a flavor may send the bytes in one request of that
        length, and fails the write when the source turns out to differ. ``overwrite=False`` writes as "xb".
        A store that ``keeps_mtime`` records ``mtime`` (the source's) with the object, in the same request.
        """
        fs_path = self._fs_path(self._parts(path))
        self._upload(fs_path, reader, size, "wb" if overwrite else "xb", self._mtime_record(mtime))

    def _upload(self, fs_path: str, reader: Reader, size: int, mode: str, metadata: dict[str, str]) -> None:
        """Stream ``reader`` into a staged write; a flavor whose service takes uploads in parts, or one
        request of a known length, sends the bytes as they are read instead (``PartUpload``, ``SizedStream``),
        with ``metadata`` in the same request; here it is added once the file is written."""
        with StagedFile(*self._open_staged(fs_path, mode)) as writer:
            shutil.copyfileobj(reader, writer, READ_SIZE)
        if metadata:
            self._add_metadata(fs_path, metadata)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Wait for ``coroutine`` on the filesystem's event loop, from any thread but that loop's own; a timeout
        comes out as what was raised, not fsspec's bare stand-in."""
        from fsspec.asyn import sync
        from fsspec.exceptions import FSTimeoutError

        try:
            return cast(T, sync(self.filesystem.loop, lambda: coroutine))
        except FSTimeoutError as exc:
            if (raised := timeout_raised(exc)) is None:
                raise
            raise raised from None

    @_translated
    def copyfile(self, src: str, dst: str, overwrite: bool = False) -> None:
        src_parts, dst_parts = self._parts(src), self._parts(dst)
        if self._info(src_parts)["type"] == "directory":
            raise IsADirectoryError(f"{self._full(src_parts)!r} is a directory; copy its files instead")
        if overwrite:
            self.filesystem.cp_file(self._fs_path(src_parts), self._fs_path(dst_parts))
        else:
            self._copy_if_absent(src_parts, dst_parts)

    def can_copy_from(self, source: BaseArtifactStore) -> bool:
        """Stores of one flavor whose configs differ only in their root reach one account of one service."""
        if type(source) is not type(self):
            return False
        fields = type(self.config).model_fields
        return all(getattr(source.config, name) == getattr(self.config, name) for name in fields if name != "path")

    @_translated
    def copy_from(self, source: BaseArtifactStore, src: str, dst: str) -> None:
        if not isinstance(source, FsspecArtifactStore) or not self.can_copy_from(source):
            raise NotImplementedError(f"{self.name or self.path!r} cannot copy from {source.name or source.path!r}")
        self.filesystem.cp_file(source._fs_path(source._parts(src)), self._fs_path(self._parts(dst)))

    def _copy_if_absent(self, src: Parts, dst: Parts) -> None:
        """Copy without clobbering; the default streams into an exclusive ("x") write, which the
        backend makes atomic where ``conditional_write`` is true and checks up front where not."""
        with self._open_read(self._fs_path(src)) as reader, self.open(self._full(dst), "xb") as writer:
            while chunk := reader.read(1 << 22):
                writer.write(chunk)

    @_translated
    def exists(self, path: str) -> bool:
        parts = self._parts(path)
        if parts == self._root[1]:
            return not self._bucket_missing()
        return bool(self.filesystem.exists(self._fs_path(parts)))

    @_translated
    def glob(self, pattern: str) -> list[str]:
        parts = self._parts(pattern)
        _, root = self._root
        found = (self._parts_of_fs_path(p) for p in self.filesystem.glob(self._fs_path(parts)))
        return sorted(self._full(p) for p in found if inside(p, root) and p != root)

    @_translated
    def isdir(self, path: str) -> bool:
        parts = self._parts(path)
        if parts == self._root[1]:
            return not self._bucket_missing()
        return bool(self.filesystem.isdir(self._fs_path(parts)))

    @_translated
    def listdir(self, path: str) -> list[str]:
        parts = self._parts(path)
        info = self._info(parts)
        if info["type"] != "directory":
            raise NotADirectoryError(f"{self._full(parts)!r} is a file")
        try:
            entries = self.filesystem.ls(self._fs_path(parts), detail=False)
        except FileNotFoundError:
            if parts != self._root[1]:
                raise
            entries = []
        names = (self._parts_of_fs_path(e) for e in entries)
        return sorted(p[-1] for p in names if len(p) == len(parts) + 1)

    @_translated
    def scandir(self, path: str) -> list[FileStat]:
        parts = self._parts(path)
        if self._info(parts)["type"] != "directory":
            raise NotADirectoryError(f"{self._full(parts)!r} is a file")
        try:
            entries = self.filesystem.ls(self._fs_path(parts), detail=True)
        except FileNotFoundError:
            if parts != self._root[1]:
                raise
            entries = []
        found = {}
        for entry in entries:
            entry_parts = self._parts_of_fs_path(entry["name"])
            if len(entry_parts) == len(parts) + 1:
                is_dir = entry["type"] == "directory"
                size = 0 if is_dir else int(entry.get("size") or 0)
                kind: Literal["file", "directory"] = "directory" if is_dir else "file"
                found[entry_parts[-1]] = FileStat(self._full(entry_parts), size, kind, self._mtime(entry))
        return [found[name] for name in sorted(found)]

    @_translated
    def makedirs(self, path: str) -> None:
        parts = self._parts(path)
        fs_path = self._fs_path(parts)
        self._check_bucket()  # s3fs would create a missing bucket
        if self.filesystem.isfile(fs_path):
            raise FileExistsError(f"{self._full(parts)!r} is a file")
        self.filesystem.makedirs(fs_path, exist_ok=True)

    @_translated
    def mkdir(self, path: str) -> None:
        parts = self._parts(path)
        self._check_bucket()
        if self.filesystem.exists(self._fs_path(parts)):
            raise FileExistsError(f"{self._full(parts)!r} already exists")
        if self.supports_empty_dirs and not self.isdir(self._full(parts[:-1])):
            raise FileNotFoundError(f"the parent of {self._full(parts)!r} does not exist; use makedirs")
        self.filesystem.mkdir(self._fs_path(parts), create_parents=False)

    @_translated
    def remove(self, path: str) -> None:
        parts = self._parts(path)
        if self._info(parts)["type"] == "directory":
            raise IsADirectoryError(f"{self._full(parts)!r} is a directory; use rmtree")
        self.filesystem.rm_file(self._fs_path(parts))

    @_translated
    def rename(self, src: str, dst: str, overwrite: bool = False) -> None:
        src_parts, dst_parts = self._parts(src), self._parts(dst)
        if inside(dst_parts, src_parts):
            raise ValueError(f"cannot move {self._full(src_parts)!r} into itself")
        if self._info(src_parts)["type"] != "directory":
            self.copyfile(self._full(src_parts), self._full(dst_parts), overwrite)
            self.filesystem.rm_file(self._fs_path(src_parts))
            return
        if not overwrite and self.filesystem.exists(self._fs_path(dst_parts)):
            raise FileExistsError(f"{self._full(dst_parts)!r} already exists")
        # fs.mv(recursive=True) leaves the source behind on some backends, so move file by file.
        for dirpath, _, files in self.walk(self._full(src_parts)):
            below = self._parts(dirpath)[len(src_parts) :]
            for name in files:
                self.copyfile(self._full((*src_parts, *below, name)), self._full((*dst_parts, *below, name)), overwrite)
        self.rmtree(self._full(src_parts))

    @_translated
    def rmtree(self, path: str, force: bool = False) -> None:
        parts = self._parts(path)
        if self._info(parts)["type"] != "directory":
            raise NotADirectoryError(f"{self._full(parts)!r} is a file; use remove")
        if parts == self._root[1] and not force:
            raise ProtectedPathError(
                f"Refusing to delete {self._full(parts)!r}: it is the root of this artifact store; "
                "pass force=True to delete it."
            )
        fs = self.filesystem
        files = [
            name for name, info in fs.find(self._fs_path(parts), detail=True).items() if info["type"] != "directory"
        ]
        failures = self.bulk_delete(self._full(self._parts_of_fs_path(name)) for name in files)
        if failures:
            raise next(iter(failures.values()))
        if self.supports_empty_dirs and fs.exists(self._fs_path(parts)):
            fs.rm(self._fs_path(parts), recursive=True)
        fs.invalidate_cache()

    @_translated
    def stat(self, path: str) -> FileStat:
        parts = self._parts(path)
        info = self._info(parts)
        is_dir = info["type"] == "directory"
        size = 0 if is_dir else int(info.get("size") or 0)
        return FileStat(self._full(parts), size, "directory" if is_dir else "file", self._mtime(info))

    @_translated
    def size(self, path: str) -> int:
        parts = self._parts(path)
        info = self._info(parts)
        if info["type"] != "directory":
            return int(info.get("size") or 0)
        found = self.filesystem.find(self._fs_path(parts), detail=True).values()
        return sum(int(i.get("size") or 0) for i in found if i["type"] != "directory")

    def walk(
        self, top: str, topdown: bool = True, onerror: Callable[[OSError], object] | None = None
    ) -> Iterator[WalkItem]:
        parts = self._parts(top)
        try:
            tree = self._tree(parts)
        except OSError as exc:
            if onerror is not None:
                onerror(exc)
            return
        yield from self._walk_tree(parts, tree, topdown)

    @_translated
    def _tree(self, parts: Parts) -> _Tree:
        """The whole subtree under ``parts`` from one recursive listing: one round trip on object stores."""
        if self._info(parts)["type"] != "directory":
            raise NotADirectoryError(f"{self._full(parts)!r} is not a directory")
        tree: _Tree = {}
        for name, info in self.filesystem.find(self._fs_path(parts), withdirs=True, detail=True).items():
            below = self._parts_of_fs_path(name)[len(parts) :]
            if not below:
                continue
            node = tree
            for segment in below[:-1]:
                sub = node.get(segment)
                if sub is None:  # an object store may hold both "x" and "x/y": the folder wins
                    sub = node[segment] = {}
                node = sub
            if info["type"] == "directory":
                node[below[-1]] = node.get(below[-1]) or {}
            else:
                node.setdefault(below[-1], None)
        return tree

    def _walk_tree(self, parts: Parts, tree: _Tree, topdown: bool) -> Iterator[WalkItem]:
        dirs = sorted(name for name, sub in tree.items() if sub is not None)
        files = sorted(name for name, sub in tree.items() if sub is None)
        if topdown:
            yield self._full(parts), dirs, files
        for name in dirs:
            if name in tree:
                yield from self._walk_tree((*parts, name), cast(_Tree, tree[name]), topdown)
        if not topdown:
            yield self._full(parts), dirs, files

    def list_objects(self, path: str) -> list[ObjectInfo]:
        """Every file at or below ``path``, sorted: ``iter_objects``, one paged listing on object stores."""
        return sorted(self.iter_objects(path), key=lambda o: o.path)

    def iter_objects(self, path: str) -> Iterator[ObjectInfo]:
        """Every file at or below ``path``, a page of the backend's listing at a time (``_listing_pages``)."""
        parts, info = self._listed(path)
        if info["type"] != "directory":
            yield self._object(parts, info)
            return
        pages = self._listing_pages(self._fs_path(parts))
        while (page := self._next_page(pages)) is not None:
            for found in page:
                if found["type"] == "directory":
                    continue
                found_parts = self._parts_of_fs_path(found["name"])
                if inside(found_parts, parts) and found_parts != parts:
                    yield self._object(found_parts, found)

    @_translated
    def _listed(self, path: str) -> tuple[Parts, dict[str, Any]]:
        parts = self._parts(path)
        return parts, self._info(parts)

    @_translated
    def _next_page(self, pages: Iterator[list[dict[str, Any]]]) -> list[dict[str, Any]] | None:
        return next(pages, None)

    def _listing_pages(self, fs_path: str) -> Iterator[list[dict[str, Any]]]:
        """The infos of every object below the folder ``fs_path``, a page at a time: one page from ``fs.find`` here;
        a flavor whose library hands out its listing's pages yields each as it arrives."""
        yield list(self.filesystem.find(fs_path, detail=True).values())

    @_translated
    def object_info(self, path: str) -> ObjectInfo:
        parts = self._parts(path)
        if not self.listing_has_metadata:
            return self._object(parts, self._info_with_metadata(self._fs_path(parts)))
        return super().object_info(self._full(parts))

    def _info_with_metadata(self, fs_path: str) -> dict[str, Any]:
        """``fs.info`` of a file with its user metadata under ``"metadata"``; a flavor whose info lacks it
        (``listing_has_metadata = False``) asks its service here."""
        return cast(dict[str, Any], self.filesystem.info(fs_path))

    @_translated
    def set_mtime(self, path: str, mtime: float) -> None:
        if not self.keeps_mtime:
            super().set_mtime(path, mtime)
        self._add_metadata(self._fs_path(self._parts(path)), self._mtime_record(mtime))

    def _add_metadata(self, fs_path: str, metadata: dict[str, str]) -> None:
        """Add ``metadata`` to the user metadata of the object at ``fs_path``, keeping the rest; flavors that
        ``keeps_mtime`` implement it."""
        raise NotImplementedError(f"{type(self).__name__} cannot record modification times")

    def _object(self, parts: Parts, info: dict[str, Any]) -> ObjectInfo:
        etag = next((str(info[k]).strip('"') for k in self.etag_keys if info.get(k)), None)
        own: bool | None = self._recorded_mtime(info) is not None
        if not own and self.keeps_mtime and not self.listing_has_metadata and "metadata" not in info:
            own = None  # recorded or not, the listing cannot say
        md5, crc32c = self._hashes(info)
        return ObjectInfo(self._full(parts), int(info.get("size") or 0), self._mtime(info), etag, own, md5, crc32c)

    def bulk_delete(self, paths: Iterable[str]) -> dict[str, OSError]:
        """One batched ``fs.rm`` (S3 deletes a thousand keys a request); on error, file by file to say which failed.

        ``fs.rm`` expands glob characters, so a name holding ``*``, ``?`` or ``[`` is removed on its own.
        """
        failures: dict[str, OSError] = {}
        targets: dict[str, str] = {}
        for path in paths:
            try:
                targets[path] = self._fs_path(self._parts(path))
            except OSError as exc:
                failures[path] = exc
        literal = [p for p in targets.values() if not _MAGIC.intersection(p)]
        try:
            if literal:
                self.filesystem.rm(literal)
            one_by_one = [(path, p) for path, p in targets.items() if _MAGIC.intersection(p)]
        except Exception:
            one_by_one = list(targets.items())
        for path, fs_path in one_by_one:
            try:
                self._remove_one(fs_path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                failures[path] = exc
        self.filesystem.invalidate_cache()
        return failures

    @_translated
    def _remove_one(self, fs_path: str) -> None:
        self.filesystem.rm_file(fs_path)
