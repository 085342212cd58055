"""Moving artifacts in bulk between any stores: copy, move, sync and bulk_delete, in parallel, with progress.

Targets are spelled as :func:`cargohold.targets.resolve` reads them: ``NAME:path`` in a
registered store, a URL, or a local path. How each file moves:

- within one store, by the store's own ``copyfile`` (a server-side copy on object stores), and between
  two stores of one service and account (``can_copy_from``: two buckets, or two roots) inside the service;
- everything else by a pool of ``jobs`` threads, the one limit on files in flight: a small file (up to
  :data:`SMALL_FILE` bytes) of an fsspec store is read whole in one request, any other source streamed
  from its ``open`` as its destination takes it: an fsspec store's ``upload`` sends the bytes as they are
  read (in parts, or in one request of the listed size), any other store gets :data:`CHUNK_SIZE` chunks
  written into its ``open``; memory stays flat however big the file.

A copy keeps its source's modification time where the destination can (``keeps_mtime``: a filesystem sets
it, an object store records it as metadata with the upload), and with ``fsync`` (the default) is made
durable (``store.fsync``: the file and its folder, on a local disk) before it counts as copied.

Every write is a staged write of the destination store (or a single-request upload), so a
transfer that fails or is killed leaves nothing under the final name; rerun :func:`sync` to finish.
A failed file does not stop the others: the result lists it with its reason.
"""

from __future__ import annotations

import concurrent.futures
import errno
import fnmatch
import functools
import hashlib
import io
import itertools
import math
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TypeVar

from cargohold.artifact_stores._staged import READ_SIZE
from cargohold.artifact_stores.base import STAGING_SUFFIX, BaseArtifactStore, ObjectInfo
from cargohold.exceptions import CargoholdError, DeadlineError, ProtectedPathError
from cargohold.fileio import check_deletable
from cargohold.targets import Location, relative, resolve, same_store, segments

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_JOBS",
    "DELETE_BATCH",
    "RETRIES",
    "RETRY_DELAY",
    "SMALL_FILE",
    "Failure",
    "Filter",
    "Progress",
    "ProgressCallback",
    "TransferResult",
    "bulk_delete",
    "cleanup",
    "copy",
    "move",
    "sync",
]

T = TypeVar("T")

#: Files moved at once when the caller does not say: transfers wait on the network, not the CPU.
DEFAULT_JOBS = 16
#: Bytes read and written at a time when a file is streamed.
CHUNK_SIZE = READ_SIZE
#: Files up to this size move in one request each on async filesystems (held whole in memory meanwhile).
SMALL_FILE = 4 << 20
#: Files listed ahead of the ``jobs`` in flight, per thread: enough that no thread waits on the listing.
_QUEUED = 4
#: Files deleted per call of a store's ``bulk_delete`` (S3 takes a thousand keys a request).
DELETE_BATCH = 1000
#: Modification times closer than this are equal: a store's clock may keep only microseconds.
_MTIME_SLACK = 1e-3
#: Times a file is tried again after a transient error (a reset connection, a 5xx, throttling).
RETRIES = 3
#: Seconds before the first retry; each next one waits twice as long, with jitter.
RETRY_DELAY = 0.5
_TRANSIENT_ERRNOS = frozenset({errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT, errno.EAGAIN})
_TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_TRANSIENT_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError"})


class Progress:
    """Receives a transfer's progress; every method does nothing until overridden.

    Methods may be called from several threads at once.
    """

    def start(self, files: int, total_bytes: int) -> None:
        """Called once, before anything moves, with the number of files and bytes known to move by then."""

    def found(self, files: int, nbytes: int) -> None:
        """Called as a listing read while files move finds more to move: ``files`` and ``nbytes`` add to the totals."""

    def advance(self, nbytes: int) -> None:
        """Called as bytes move."""

    def done(self, path: str) -> None:
        """Called when the file at source ``path`` has been copied (or deleted)."""

    def failed(self, path: str, reason: str) -> None:
        """Called when the file at ``path`` failed; the others go on."""


#: A plain function as ``progress``: called with the number of bytes each time bytes move.
ProgressCallback = Callable[[int], object]


class _Callback(Progress):
    """A :data:`ProgressCallback` seen as a :class:`Progress`: only ``advance`` reaches it."""

    def __init__(self, callback: ProgressCallback) -> None:
        self._callback = callback

    def advance(self, nbytes: int) -> None:
        self._callback(nbytes)


def _as_progress(progress: Progress | ProgressCallback | None) -> Progress:
    """Whatever the caller gave as ``progress``, as a :class:`Progress`."""
    if progress is None:
        return Progress()
    return progress if isinstance(progress, Progress) else _Callback(progress)


@dataclass(frozen=True)
class Filter:
    """Which files a transfer takes, by glob (``*``, ``?``, ``[..]``; ``*`` also crosses ``/``).

    A pattern matches a file when it matches the file's path relative to the target it was listed
    under, or its name. A file is taken when it matches an ``include`` (or none are given) and no
    ``exclude``. ``sync --delete`` deletes only files the filter takes.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def takes(self, relative_path: str) -> bool:
        """Whether the file at ``relative_path`` (below the listed target) is taken."""
        name = relative_path.rpartition("/")[2]

        def hit(patterns: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatchcase(relative_path, p) or fnmatch.fnmatchcase(name, p) for p in patterns)

        return (not self.include or hit(self.include)) and not hit(self.exclude)


#: Takes every file.
_EVERYTHING = Filter()


@dataclass(frozen=True)
class Failure:
    """A file (or a whole target) that could not be moved, and why."""

    path: str
    reason: str


@dataclass
class TransferResult:
    """What a transfer did, or with ``dry_run`` what it would do: ``copied`` holds (source, destination) pairs."""

    copied: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    bytes: int = 0
    dry_run: bool = False
    #: Attempts made again after a transient error, over every file.
    retries: int = 0

    @property
    def ok(self) -> bool:
        """Whether every file made it."""
        return not self.failed


@dataclass(frozen=True)
class _Copy:
    """One file to copy: its source store and listing entry, and where it goes."""

    source: BaseArtifactStore
    item: ObjectInfo
    target: Location


@dataclass(frozen=True)
class _Source:
    """One source target: the files under it, as its listing goes on finding them, and the location it maps onto."""

    spelled: str
    location: Location
    items: Iterable[ObjectInfo]
    is_dir: bool
    base: Location

    def copies(self, recorder: _Recorder) -> Iterator[_Copy]:
        """A copy of each file as the listing finds it; a listing that breaks off is this source's failure."""
        try:
            for item in self.items:
                target = self.base.child(relative(item.path, self.location.path)) if self.is_dir else self.base
                yield _Copy(self.location.store, item, target)
        except (OSError, CargoholdError) as exc:
            recorder.failed(self.spelled, f"its listing broke off: {_reason(exc)}")


class _Recorder:
    """Collects outcomes from worker threads and coroutines into the result, and tells ``progress``."""

    def __init__(
        self, result: TransferResult, progress: Progress, *, fsync: bool = False, bwlimit: int | None = None
    ) -> None:
        self.result = result
        self.progress = progress
        #: Whether each copy is made durable before it counts (see the module docstring).
        self.fsync = fsync
        #: The pace every byte read from a source keeps, shared by all files.
        self.throttle = _Throttle(bwlimit) if bwlimit else None
        #: Set when the transfer stops early (Ctrl-C, a bug): workers drop their files, whose writes are discarded.
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def planned(self, job: _Copy) -> None:
        """``job`` would be copied (a dry run)."""
        with self._lock:
            self.result.copied.append((job.item.path, job.target.path))

    def skipped(self, path: str) -> None:
        with self._lock:
            self.result.skipped.append(path)

    def copied(self, job: _Copy) -> None:
        with self._lock:
            self.result.copied.append((job.item.path, job.target.path))
            self.result.bytes += job.item.size
        self.progress.done(job.item.path)

    def deleted(self, path: str) -> None:
        with self._lock:
            self.result.deleted.append(path)
        self.progress.done(path)

    def retry(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to wait before trying a file again after ``error``, or None when it is not worth it."""
        if attempt >= RETRIES or not _transient(error):
            return None
        with self._lock:
            self.result.retries += 1
        return float(RETRY_DELAY * 2**attempt * random.uniform(0.5, 1.5))

    def failed(self, path: str, error: BaseException | str) -> None:
        reason = error if isinstance(error, str) else _reason(error)
        with self._lock:
            self.result.failed.append(Failure(path, reason))
        self.progress.failed(path, reason)


# -- the public operations -------------------------------------------------------------------------


def copy(
    sources: str | Sequence[str],
    destination: str,
    *,
    recursive: bool = False,
    overwrite: bool = True,
    jobs: int = DEFAULT_JOBS,
    progress: Progress | ProgressCallback | None = None,
    fsync: bool = True,
    only: Filter = _EVERYTHING,
    dry_run: bool = False,
    bwlimit: int | None = None,
) -> TransferResult:
    """Copy files (and with ``recursive``, directories) to ``destination``, ``jobs`` files at a time.

    Like ``cp``: a source goes *into* ``destination`` when that is an existing directory, ends
    with ``/``, or several sources are given; otherwise it becomes ``destination``. A source
    ending with ``/`` copies the directory's contents. ``overwrite=False`` never replaces an
    existing file, using the store's race-safe create-only write. ``progress`` is a :class:`Progress`
    or a function called with each number of bytes moved. ``only`` filters the files; ``dry_run``
    lists what would be copied and copies nothing; ``bwlimit`` caps the bytes read a second, over all files.

    Files are copied as the listing finds them, and the listing is read only as fast as they go: the first
    file moves before the last is listed, and memory stays flat however many there are.
    """
    result = TransferResult(dry_run=dry_run)
    recorder = _Recorder(result, Progress() if dry_run else _as_progress(progress), fsync=fsync, bwlimit=bwlimit)
    _check_jobs(jobs)
    recorder.progress.start(0, 0)
    planned = _plan(_as_list(sources), destination, recursive, recorder, only)
    plan = (job for source in planned for job in source.copies(recorder))
    if dry_run:
        for job in plan:
            recorder.planned(job)
        result.copied.sort()
        return result
    _execute((functools.partial(_copy_one, job, overwrite, recorder) for job in _found(plan, recorder)), jobs, recorder)
    return result


def move(
    sources: str | Sequence[str],
    destination: str,
    *,
    recursive: bool = False,
    overwrite: bool = True,
    jobs: int = DEFAULT_JOBS,
    progress: Progress | ProgressCallback | None = None,
    fsync: bool = True,
    only: Filter = _EVERYTHING,
    dry_run: bool = False,
    bwlimit: int | None = None,
) -> TransferResult:
    """Move like ``mv``: one rename within a store that renames atomically, else copy then delete each source file.

    A source file is deleted only once its copy is in place (and with ``fsync``, durable); a source
    directory goes once it is empty. ``only`` filters the files (a filtered directory moves file by
    file); ``dry_run`` lists what would be moved and moves nothing; ``bwlimit`` as for :func:`copy`.
    """
    result = TransferResult(dry_run=dry_run)
    recorder = _Recorder(result, Progress() if dry_run else _as_progress(progress), fsync=fsync, bwlimit=bwlimit)
    _check_jobs(jobs)
    recorder.progress.start(0, 0)
    # A move holds its listing: each source file is deleted once its copy has arrived, and a folder once emptied.
    planned = [(s, list(s.copies(recorder))) for s in _plan(_as_list(sources), destination, recursive, recorder, only)]
    if dry_run:
        for _, copies in planned:
            for job in copies:
                recorder.planned(job)
        result.copied.sort()
        return result
    renamed: list[tuple[_Source, list[_Copy]]] = []
    streamed: list[tuple[_Source, list[_Copy]]] = []
    for source, copies in planned:
        one_rename = (
            same_store(source.location.store, source.base.store)
            and source.location.store.atomic_rename
            and not (only and source.is_dir)
        )
        (renamed if one_rename else streamed).append((source, copies))
        recorder.progress.found(len(copies), sum(job.item.size for job in copies))
    for source, copies in renamed:
        try:
            source.location.store.rename(source.location.path, source.base.path, overwrite)
        except Exception as exc:
            recorder.failed(source.location.path, exc)
            continue
        for job in copies:
            recorder.progress.advance(job.item.size)
            recorder.copied(job)
    _execute((functools.partial(_copy_one, job, overwrite, recorder) for _, c in streamed for job in c), jobs, recorder)
    arrived = {pair[0] for pair in result.copied}
    for source, copies in streamed:
        sent = [job.item.path for job in copies if job.item.path in arrived]
        _delete_files(source.location.store, sent, jobs, recorder, report_done=False)
        if source.is_dir and len(sent) == len(copies):
            _remove_emptied_dir(source.location, recorder)
    return result


def sync(
    source: str,
    destination: str,
    *,
    delete: bool = False,
    dry_run: bool = False,
    checksum: bool = False,
    jobs: int = DEFAULT_JOBS,
    progress: Progress | ProgressCallback | None = None,
    fsync: bool = True,
    only: Filter = _EVERYTHING,
    bwlimit: int | None = None,
) -> TransferResult:
    """Make ``destination`` hold what ``source`` holds, copying only new and changed files.

    A file is copied when the destination lacks it or its size differs. At equal size, where the destination
    keeps mtimes (every bundled store: copies carry their source's), it is copied when the two mtimes differ at
    all, or the destination's is not one a copy recorded (an object that another tool wrote); a store that
    stamps its own is stale when the source is newer. ``checksum`` compares contents instead: a hash both
    services keep (MD5, CRC32C), else MD5s, computed by reading the file where its service keeps none. A second
    run copies nothing. ``delete`` also removes the files that ``source`` lacks; ``dry_run`` only reports what
    would be done; ``only`` filters the files on both sides; ``bwlimit`` as for :func:`copy`.
    """
    result = TransferResult(dry_run=dry_run)
    src, dst = resolve(source), resolve(destination)
    if same_store(src.store, dst.store) and (_within(src.path, dst.path) or _within(dst.path, src.path)):
        raise ValueError(f"Cannot sync {src.path!r} with {dst.path!r}: one contains the other.")
    recorder = _Recorder(result, Progress() if dry_run else _as_progress(progress), fsync=fsync, bwlimit=bwlimit)
    _check_jobs(jobs)
    items, is_dir = _listing(src, only)
    base, first = dst, None
    if not is_dir:
        into = destination.endswith("/") or dst.store.isdir(dst.path)
        base = dst.child(segments(src.path)[-1]) if into else dst
        first, items = _peeked(items)

    def taken(key: str) -> bool:
        """Whether a destination file is the sync's to compare with or delete: the filter takes it, or it is the
        one file, whose source the filter took."""
        return only.takes(key) if is_dir else key == "" and first is not None

    # The destination's listing is held while the source's streams past it: two listings in no set order cannot be
    # matched without one at hand. Each file the source names is taken out; what is left, the source lacks.
    try:
        listed = _unstaged(base.store.iter_objects(base.path))
        have = {key: i for i in listed if taken(key := relative(i.path, base.path))}
    except FileNotFoundError:
        have = {}
    compare = _Comparison(src.store, base.store, checksum)
    recorder.progress.start(0, 0)

    def tasks() -> Iterator[Callable[[], None]]:
        """The work of each source file: none when the listings tell it is up to date, a copy when they tell it is
        stale, else a comparison that asks the services or reads the files, in the pool, then maybe a copy."""
        for item in items:
            key = relative(item.path, src.path) if is_dir else ""
            job = _Copy(src.store, item, base.child(key) if is_dir else base)
            there = have.pop(key, None)
            if there is not None and compare.asks(item, there):
                yield functools.partial(_sync_one, job, there, compare, recorder)
            elif not compare.changed(item, there):
                recorder.skipped(item.path)
            elif dry_run:
                recorder.planned(job)
            else:
                recorder.progress.found(1, item.size)
                yield functools.partial(_copy_one, job, True, recorder)

    _execute(tasks(), jobs, recorder)
    extra = sorted(item.path for item in have.values()) if delete else []
    if dry_run:
        result.copied.sort()
        result.deleted = extra
        return result
    recorder.progress.found(len(extra), 0)
    _delete_files(dst.store, extra, jobs, recorder, report_done=True)
    return result


def bulk_delete(
    targets: str | Sequence[str],
    *,
    recursive: bool = False,
    jobs: int = DEFAULT_JOBS,
    progress: Progress | ProgressCallback | None = None,
    only: Filter = _EVERYTHING,
    dry_run: bool = False,
) -> TransferResult:
    """Delete files (and with ``recursive``, directories), in batches through each store's ``bulk_delete``.

    ``only`` filters the files; ``dry_run`` lists what would be deleted and deletes nothing.
    """
    result = TransferResult(dry_run=dry_run)
    progress = _as_progress(progress)
    recorder = _Recorder(result, progress)
    listed: list[tuple[Location, list[ObjectInfo], bool]] = []
    for spelled in _as_list(targets):
        location = resolve(spelled)
        try:
            listing, is_dir = _listing(location, only)
            items = list(listing)
        except FileNotFoundError as exc:
            recorder.failed(spelled, exc)
            continue
        if is_dir and not recursive:
            recorder.failed(spelled, "it is a directory; delete it with -r (recursive)")
            continue
        if is_dir:
            try:  # the user named it, so a store's root may be emptied; a filesystem root or a home never
                check_deletable(location.store, location.path, force=True)
            except ProtectedPathError as exc:
                recorder.failed(spelled, exc)
                continue
        listed.append((location, items, is_dir))
    if dry_run:
        result.deleted = [item.path for _, items, _ in listed for item in items]
        return result
    progress.start(sum(len(items) for _, items, _ in listed), 0)
    for location, items, is_dir in listed:
        _delete_files(location.store, [i.path for i in items], jobs, recorder, report_done=True)
        if is_dir:
            _remove_emptied_dir(location, recorder)
    return result


def cleanup(target: str, *, older_than: float = 24 * 3600, dry_run: bool = False) -> TransferResult:
    """Remove what interrupted writes left under ``target`` more than ``older_than`` seconds ago: staged
    temporary files, and the store's incomplete uploads (``abort_incomplete_uploads``). ``deleted`` lists
    them; with ``dry_run`` nothing is removed."""
    if older_than < 0:
        raise ValueError(f"older_than must be 0 seconds or more, not {older_than}")
    result = TransferResult(dry_run=dry_run)
    location = resolve(target)
    before = time.time() - older_than
    staged = sorted(
        item.path
        for item in location.store.iter_objects(location.path)
        if _is_staging(item.path) and (item.mtime is None or item.mtime < before)
    )
    failures = {} if dry_run else location.store.bulk_delete(staged)
    for path in staged:
        if path in failures:
            result.failed.append(Failure(path, _reason(failures[path])))
        else:
            result.deleted.append(path)
    result.deleted += location.store.abort_incomplete_uploads(location.path, before, dry_run)
    return result


# -- planning --------------------------------------------------------------------------------------


def _as_list(spelled: str | Sequence[str]) -> list[str]:
    return [spelled] if isinstance(spelled, str) else list(spelled)


def _plan(
    sources: list[str], destination: str, recursive: bool, recorder: _Recorder, only: Filter
) -> Iterator[_Source]:
    """Each source, its listing begun, mapped onto the destination; a missing source is a failure, the others go on."""
    if not sources:
        raise ValueError("Give at least one source to copy or move.")
    located = [(spelled, resolve(spelled)) for spelled in sources]  # a bad target fails before anything moves
    dst = resolve(destination)
    into = len(sources) > 1 or destination.endswith("/") or dst.store.isdir(dst.path)
    for spelled, location in located:
        try:
            items, is_dir = _listing(location, only)
        except FileNotFoundError as exc:
            recorder.failed(spelled, exc)
            continue
        if is_dir and not recursive:
            recorder.failed(spelled, "it is a directory; copy it with -r (recursive)")
            continue
        if only:
            first, items = _peeked(items)
            if first is None:  # the filter took none of it
                continue
        name = segments(location.path)[-1:]
        contents = is_dir and (spelled.endswith("/") or not name)
        base = dst.child(name[0]) if into and not contents else dst
        if same_store(location.store, dst.store) and _within(base.path, location.path):
            why = "cannot copy a directory into itself" if is_dir else "source and destination are the same file"
            recorder.failed(spelled, f"{why} ({base.path})")
            continue
        yield _Source(spelled, location, items, is_dir, base)


def _within(path: str, top: str) -> bool:
    """Whether ``path`` is ``top`` or below it."""
    top_segments = segments(top)
    return segments(path)[: len(top_segments)] == top_segments


def _listing(location: Location, only: Filter = _EVERYTHING) -> tuple[Iterator[ObjectInfo], bool]:
    """Every file at or below ``location`` that ``only`` takes, as the store's listing finds them, and whether it is
    a directory (a file lists as itself, and is matched by its name). The first is listed now: a missing target
    raises here."""
    first, items = _peeked(_unstaged(location.store.iter_objects(location.path)))
    is_file = first is not None and segments(first.path) == segments(location.path)
    if only:
        top = location.path if not is_file else location.path.rpartition("/")[0]
        items = (item for item in items if only.takes(relative(item.path, top)))
    return items, not is_file


def _peeked(items: Iterator[T]) -> tuple[T | None, Iterator[T]]:
    """The first of ``items`` (None when there is none), and every one of them still to be read."""
    first = next(items, None)
    return first, items if first is None else itertools.chain([first], items)


def _unstaged(items: Iterable[ObjectInfo]) -> Iterator[ObjectInfo]:
    """Drop the hidden names under which stores stage writes still in flight."""
    return (i for i in items if not _is_staging(i.path))


def _is_staging(path: str) -> bool:
    name = path.rpartition("/")[2]
    return name.startswith(".") and name.endswith(STAGING_SUFFIX)


class _Comparison:
    """How :func:`sync` tells a stale destination file from an up-to-date one; see its docstring."""

    def __init__(self, source: BaseArtifactStore, target: BaseArtifactStore, checksum: bool) -> None:
        self.source = source
        self.target = target
        self.checksum = checksum

    def asks(self, source: ObjectInfo, target: ObjectInfo) -> bool:
        """Whether telling if ``source`` changed takes more than the listings: contents to compare, or at equal
        size an mtime the listing left out (S3's); a request or a read, made in the pool."""
        return source.size == target.size and (self.checksum or None in (source.own_mtime, target.own_mtime))

    def changed(self, source: ObjectInfo, target: ObjectInfo | None) -> bool:
        """Whether ``source`` must be copied over ``target``."""
        if target is None or source.size != target.size:
            return True
        if self.checksum:
            return not self._same_content(source, target)
        if source.mtime is None or target.mtime is None:
            return True
        if self.target.keeps_mtime:  # a copy holds its source's mtime: any difference is an edit
            return not target.own_mtime or abs(source.mtime - target.mtime) > _MTIME_SLACK
        if target.mtime == math.floor(target.mtime):  # a service that keeps whole seconds may have cut it
            return math.floor(source.mtime) > target.mtime
        return source.mtime > target.mtime

    def _same_content(self, source: ObjectInfo, target: ObjectInfo) -> bool:
        """Whether two files hold the same bytes: by a hash both services keep, else by MD5s, each the service's
        or computed by reading the file."""
        if (source.md5 is None or target.md5 is None) and source.crc32c is not None and target.crc32c is not None:
            return source.crc32c == target.crc32c
        return (source.md5 or _md5(self.source, source.path)) == (target.md5 or _md5(self.target, target.path))


def _md5(store: BaseArtifactStore, path: str) -> str:
    """The MD5 of a file's content, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with store.open(path, "rb") as reader:
        while chunk := reader.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


# -- running ---------------------------------------------------------------------------------------


def _check_jobs(jobs: int) -> None:
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")


def _found(plan: Iterable[_Copy], recorder: _Recorder) -> Iterator[_Copy]:
    """``plan``, telling progress of each file as it is listed."""
    for job in plan:
        recorder.progress.found(1, job.item.size)
        yield job


def _execute(tasks: Iterable[Callable[[], None]], jobs: int, recorder: _Recorder) -> None:
    """Run every task (a file's work) in one pool of ``jobs`` threads, the one limit on files in flight, reading
    ``tasks`` only as fast as they finish: at most :data:`_QUEUED` per thread wait, so no listing is held whole."""
    slots = threading.Semaphore(jobs * _QUEUED)
    broken: list[BaseException] = []  # what a worker raised past a file's own failure: a bug, or Ctrl-C

    def finished(future: concurrent.futures.Future[None]) -> None:
        slots.release()
        if not future.cancelled() and (error := future.exception()) is not None:
            broken.append(error)

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="cargohold-transfer")
    try:
        for task in tasks:
            slots.acquire()
            if broken:
                raise broken[0]
            pool.submit(task).add_done_callback(finished)
        pool.shutdown(wait=True)
        if broken:
            raise broken[0]
    except BaseException:  # Ctrl-C or a bug: stop the workers, whose staged writes are thrown away
        recorder.stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _copy_one(job: _Copy, overwrite: bool, recorder: _Recorder) -> None:
    """Copy one file in a worker thread: the store's own copy within a store, else streamed in chunks;
    tried again after a transient error."""
    stop = recorder.stop
    target = job.target
    attempt = 0
    while True:
        try:
            item = _with_own_mtime(job.source, job.item)
            recorded = False  # whether the write itself recorded the source's mtime
            if same_store(job.source, target.store):
                job.source.copyfile(item.path, target.path, overwrite)
                recorder.progress.advance(item.size)
            elif overwrite and target.store.can_copy_from(job.source):
                target.store.copy_from(job.source, item.path, target.path)
                recorder.progress.advance(item.size)
            else:
                with _open_source(job.source, item) as reader:
                    recorded = _write(target, _Feed(reader, recorder), item, overwrite)
            _settle(target, item, recorder.fsync, recorded)
            break
        except Exception as exc:  # one file's failure, whatever it is, is reported and the others go on
            delay = None if stop.is_set() else recorder.retry(attempt, exc)
            if delay is None:
                recorder.failed(job.item.path, _translated(job, exc))
                return
            if stop.wait(delay):  # a stopped transfer does not wait out its retries
                recorder.failed(job.item.path, exc)
                return
            attempt += 1
    recorder.copied(job)


def _sync_one(job: _Copy, there: ObjectInfo, compare: _Comparison, recorder: _Recorder) -> None:
    """In a worker: whether one file is stale, where telling takes a request or a read (S3's mtimes, contents),
    then its copy if it is."""
    try:
        if not compare.checksum:  # the mtimes decide: know them
            job = _Copy(job.source, _with_own_mtime(job.source, job.item), job.target)
            there = _with_own_mtime(job.target.store, there)
        changed = compare.changed(job.item, there)
    except Exception as exc:
        recorder.failed(job.item.path, _translated(job, exc))
        return
    if not changed:
        recorder.skipped(job.item.path)
    elif recorder.result.dry_run:
        recorder.planned(job)
    else:
        recorder.progress.found(1, job.item.size)
        _copy_one(job, True, recorder)


def _with_own_mtime(store: BaseArtifactStore, item: ObjectInfo) -> ObjectInfo:
    """``item`` with its own mtime where its listing could not tell (a request on S3): what a copy keeps."""
    return item if item.own_mtime is not None else store.object_info(item.path)


def _open_source(store: BaseArtifactStore, item: ObjectInfo) -> IO[bytes]:
    """The source file to read: a small one of an fsspec store whole, in one request (opening it may cost a
    lookup first), any other opened to be streamed."""
    from cargohold.artifact_stores.fsspec_store import FsspecArtifactStore

    if item.size <= SMALL_FILE and isinstance(store, FsspecArtifactStore):
        return io.BytesIO(store.filesystem.cat_file(_fs_path(store, item.path)))
    reader: IO[bytes] = store.open(item.path, "rb")
    return reader


def _transient(error: BaseException) -> bool:
    """Whether an error may go away when the file is tried again: a dropped connection, a timeout, a 5xx
    or throttling, as the cloud libraries raise them (an ``errno``, a ``status``, or botocore's codes). A spent
    deadline is not: the store already tried again within it."""
    if isinstance(error, DeadlineError):
        return False
    if isinstance(error, (ConnectionError, TimeoutError)):
        return True
    if isinstance(error, OSError) and error.errno in _TRANSIENT_ERRNOS:
        return True
    status = getattr(error, "status", None) or getattr(error, "status_code", None) or getattr(error, "code", None)
    if isinstance(status, int) and status in _TRANSIENT_STATUS:
        return True
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    if code in _TRANSIENT_CODES:
        return True
    cause = error.__cause__ or error.__context__
    return cause is not None and cause is not error and _transient(cause)


def _settle(target: Location, item: ObjectInfo, fsync: bool, recorded: bool) -> None:
    """Once a copy is written: its source's mtime where the destination keeps one (unless the write recorded it),
    then (with ``fsync``) durable."""
    store = target.store
    if store.keeps_mtime and not recorded and item.mtime is not None:
        store.set_mtime(target.path, item.mtime)
    if fsync:
        store.fsync(target.path)


class _Throttle:
    """Paces bytes to ``rate`` a second over every thread: each read waits until the ones before it are due."""

    def __init__(self, rate: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate < 1:
            raise ValueError(f"bwlimit must be at least 1 byte a second, not {rate}")
        self._rate = rate
        self._clock = clock
        self._lock = threading.Lock()
        self._due = clock()

    def take(self, nbytes: int) -> float:
        """Count ``nbytes`` as sent; the seconds the caller must wait first."""
        with self._lock:
            now = self._clock()
            self._due = max(self._due, now)
            wait = self._due - now
            self._due += nbytes / self._rate
        return wait


class _Feed:
    """A source file as its destination reads it: progress is told, the pace kept, and a stopped transfer
    stops the read."""

    def __init__(self, reader: IO[bytes], recorder: _Recorder) -> None:
        self._reader = reader
        self._stop = recorder.stop
        self._progress = recorder.progress
        self._throttle = recorder.throttle

    def read(self, size: int = -1, /) -> bytes:
        # Checked before every read, the one that finds the end too: a cut-off source never publishes.
        if self._stop.is_set():
            raise InterruptedError("the transfer was interrupted")
        data = self._reader.read(size)
        if self._throttle is not None and self._stop.wait(self._throttle.take(len(data))):
            raise InterruptedError("the transfer was interrupted")
        self._progress.advance(len(data))
        return data


def _write(target: Location, feed: _Feed, item: ObjectInfo, overwrite: bool) -> bool:
    """Write ``feed`` to ``target``: an fsspec store sends it as it is read, recording the source's mtime with it
    (then True), any other gets it through a staged ``open``."""
    from cargohold.artifact_stores.fsspec_store import FsspecArtifactStore

    if isinstance(target.store, FsspecArtifactStore):
        target.store.upload(feed, target.path, item.size, overwrite, item.mtime)
        return True
    with target.store.open(target.path, "wb" if overwrite else "xb") as writer:
        shutil.copyfileobj(feed, writer, CHUNK_SIZE)
    return False


def _fs_path(store: BaseArtifactStore, path: str) -> str:
    """The backend path of ``path`` in an fsspec-backed store, checked against its sandbox."""
    from cargohold.artifact_stores.fsspec_store import FsspecArtifactStore

    assert isinstance(store, FsspecArtifactStore)
    return store._fs_path(store._parts(path))


def _translated(job: _Copy, exc: Exception) -> BaseException:
    """A backend error as the standard one its store would raise."""
    from cargohold.artifact_stores.fsspec_store import FsspecArtifactStore

    if isinstance(exc, (OSError, CargoholdError)):
        return exc
    for store in (job.source, job.target.store):
        if isinstance(store, FsspecArtifactStore):
            mapped = store.translate_error(exc)
            if mapped is not exc:
                return mapped
    return exc


def _delete_files(
    store: BaseArtifactStore, paths: list[str], jobs: int, recorder: _Recorder, *, report_done: bool
) -> None:
    """Delete ``paths`` through ``store.bulk_delete``, batches in parallel; failures are recorded."""

    def batch(chunk: list[str]) -> None:
        failures = store.bulk_delete(chunk)
        for path in chunk:
            if path in failures:
                recorder.failed(path, failures[path])
            elif report_done:
                recorder.deleted(path)

    batches = [paths[i : i + DELETE_BATCH] for i in range(0, len(paths), DELETE_BATCH)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="cargohold-delete") as pool:
        for future in [pool.submit(batch, chunk) for chunk in batches]:
            future.result()


def _remove_emptied_dir(location: Location, recorder: _Recorder) -> None:
    """Remove the folders left empty once every file under ``location`` is gone; a store's root itself stays."""
    store = location.store
    try:
        is_root = segments(location.path) == segments(store.path)
        tops = [location.child(name) for name in store.listdir(location.path)] if is_root else [location]
        for top in tops:
            if store.isdir(top.path) and next(_unstaged(store.iter_objects(top.path)), None) is None:
                store.rmtree(top.path)
    except (OSError, CargoholdError) as exc:
        recorder.failed(location.path, exc)


def _reason(error: BaseException) -> str:
    """One line saying why, in words a user reads under the file's path (S3's refusal speaks of "pre-conditions")."""
    if isinstance(error, FileExistsError):
        return "it already exists, and overwriting is off"
    if isinstance(error, OSError) and error.strerror and error.filename:
        return error.strerror  # the failure is listed under its path already
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, (OSError, CargoholdError)) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
