"""``cargohold fs``: list, copy, move, sync and delete artifacts in any store; a thin layer over ``cargohold.transfer``.

A target is ``NAME:path`` in a registered store (``:path`` in the active stack's store), a URL,
or a local path; ``ls`` and ``du`` without one show the root of the active stack's store.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import click

from cargohold.artifact_stores.base import FileStat
from cargohold.cli._output import F, FileErrorGroup, json_option
from cargohold.targets import Location, relative, resolve, segments
from cargohold.transfer import CHUNK_SIZE, DEFAULT_JOBS, Filter, Progress, TransferResult

__all__ = ["fs"]

#: A transfer that finishes sooner than this never shows a progress bar.
_BAR_DELAY = 0.25
#: The units a --bwlimit may end with.
_RATE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
#: Seconds between progress lines when output is not a terminal (a log, CI).
_LINE_EVERY = 10.0
#: glibc's mallopt parameter for the size from which buffers are mapped from the kernel.
_M_MMAP_THRESHOLD = -3


@click.group("fs", cls=FileErrorGroup)
def fs() -> None:
    """Move artifacts in, out and between stores: NAME:path, a URL (s3://bucket/x) or a local path."""


def _filters(command: F) -> F:
    """--include and --exclude, read as :class:`cargohold.transfer.Filter` reads them."""
    command = click.option("--exclude", multiple=True, metavar="GLOB", help="Skip files that match (repeatable).")(
        command
    )
    return click.option(
        "--include",
        multiple=True,
        metavar="GLOB",
        help="Only files whose relative path or name matches (repeatable; * also crosses /).",
    )(command)


def _jobs(command: F) -> F:
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=DEFAULT_JOBS,
        show_default=True,
        help="Files moved at once.",
    )(command)


def _quiet(command: F) -> F:
    return click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary; failures still show.")(
        command
    )


def _rate(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """Bytes a second from ``512K``, ``10M`` or ``1G`` (powers of 1024), or a plain number."""
    if value is None:
        return None
    text = value.strip().upper().removesuffix("B")
    number, unit = (text[:-1], text[-1]) if text[-1:] in _RATE_UNITS else (text, "")
    try:
        rate = int(float(number) * _RATE_UNITS[unit])
    except ValueError:
        rate = 0
    if rate < 1:
        raise click.BadParameter(f"{value!r} is not a rate; give bytes a second, such as 512K, 10M or 1G.")
    return rate


def _fsync(command: F) -> F:
    """--no-fsync, and --bwlimit: the options of the transfers that write files."""
    command = click.option(
        "--bwlimit", callback=_rate, metavar="RATE", help="At most RATE bytes a second over all files (512K, 10M, 1G)."
    )(command)
    return click.option(
        "--no-fsync", "no_fsync", is_flag=True, help="Report success before the local disk holds the copies."
    )(command)


# -- listing ---------------------------------------------------------------------------------------


@fs.command("ls")
@click.option("-l", "long", is_flag=True, help="Show type, size and modification time.")
@click.option("-R", "recursive", is_flag=True, help="List everything below, with paths relative to TARGET.")
@json_option()
@_filters
@click.argument("target", required=False)
def ls(
    target: str | None,
    long: bool,
    recursive: bool,
    as_json: bool,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
) -> None:
    """List a directory (default: the root of the active stack's store)."""
    location = resolve(target)
    top = location.store.stat(location.path)
    entries: list[tuple[str, FileStat | None]]
    if top.type == "file":
        entries = [(segments(top.path)[-1], top)]
    elif recursive:
        entries = _tree(location, detailed=long or as_json)
    elif long or as_json:  # one listing with details, not a stat per entry
        entries = [(segments(stat.path)[-1], stat) for stat in location.store.scandir(location.path)]
    else:
        entries = [(name, None) for name in location.store.listdir(location.path)]
    only = Filter(include, exclude)
    if only:  # folders of a recursive listing stay, to show where the files are
        entries = [(name, stat) for name, stat in entries if name.endswith("/") or only.takes(name)]
    if as_json:
        from cargohold.cli._output import print_json

        print_json([_as_dict(name, stat) for name, stat in entries])
        return
    for name, stat in entries:
        click.echo(_long_line(name, stat) if long else name)


def _tree(location: Location, *, detailed: bool) -> list[tuple[str, FileStat | None]]:
    """Everything below ``location``, relative names sorted; files with details from one bulk listing."""
    files = {segments(o.path): o for o in location.store.list_objects(location.path)} if detailed else {}
    entries: list[tuple[str, FileStat | None]] = []
    for dirpath, dirs, names in location.store.walk(location.path):
        below = relative(dirpath, location.path)
        for name in dirs:
            path = f"{dirpath.rstrip('/')}/{name}"
            entries.append((f"{below}/{name}/" if below else f"{name}/", FileStat(path, 0, "directory", None)))
        for name in names:
            path = f"{dirpath.rstrip('/')}/{name}"
            found = files.get(segments(path))
            stat = FileStat(path, found.size, "file", found.mtime) if found is not None else None
            entries.append((f"{below}/{name}" if below else name, stat))
    return sorted(entries, key=lambda entry: entry[0])


def _as_dict(name: str, stat: FileStat | None) -> dict[str, Any]:
    return {
        "name": name.rstrip("/"),
        "path": stat.path if stat else None,
        "type": stat.type if stat else None,
        "size": stat.size if stat and stat.type == "file" else None,
        "mtime": stat.mtime if stat else None,
    }


def _long_line(name: str, stat: FileStat | None) -> str:
    if stat is None:
        return f"? {'-':>14}  {'-':16}  {name}"
    size = str(stat.size) if stat.type == "file" else "-"
    return f"{'d' if stat.type == 'directory' else '-'} {size:>14}  {_when(stat.mtime):16}  {name}"


def _when(mtime: float | None) -> str:
    if mtime is None:
        return "-"
    return datetime.datetime.fromtimestamp(mtime).strftime("%Y-%m-%d %H:%M")


@fs.command("du")
@click.option("-s", "summary", is_flag=True, help="Only the total of TARGET.")
@json_option()
@_filters
@click.argument("target", required=False)
def du(target: str | None, summary: bool, as_json: bool, include: tuple[str, ...], exclude: tuple[str, ...]) -> None:
    """Bytes and files under each directory of TARGET, from one bulk listing (default: the active store)."""
    location = resolve(target)
    only = Filter(include, exclude)
    totals: dict[tuple[str, ...], list[int]] = {(): [0, 0]}
    for item in location.store.list_objects(location.path):
        path = relative(item.path, location.path)
        if only and not only.takes(path):
            continue
        below = segments(path)[:-1]
        for depth in range(1 if summary else len(below) + 1):
            counted = totals.setdefault(below[:depth], [0, 0])
            counted[0] += item.size
            counted[1] += 1
    rows = [(location.child("/".join(key)).path, size, files) for key, (size, files) in sorted(totals.items())]
    rows.sort(key=lambda row: (-len(segments(row[0])), row[0]))  # deepest first, the total last, as du does
    if as_json:
        from cargohold.cli._output import print_json

        print_json([{"path": path, "size": size, "files": files} for path, size, files in rows])
        return
    for path, size, _ in rows:
        click.echo(f"{size}\t{path}")


@fs.command("cat")
@click.argument("targets", nargs=-1, required=True)
def cat(targets: tuple[str, ...]) -> None:
    """Write files to standard output, streamed."""
    out = sys.stdout.buffer
    for target in targets:
        location = resolve(target)
        with location.store.open(location.path, "rb") as reader:
            shutil.copyfileobj(reader, out, CHUNK_SIZE)
    out.flush()


@fs.command("mkdir")
@click.option("-p", "parents", is_flag=True, help="Create parents too; an existing directory is fine.")
@click.argument("targets", nargs=-1, required=True)
def mkdir(targets: tuple[str, ...], parents: bool) -> None:
    """Create directories."""
    for target in targets:
        location = resolve(target)
        if parents:
            location.store.makedirs(location.path)
        else:
            location.store.mkdir(location.path)


# -- transfers -------------------------------------------------------------------------------------


def _transfer_options(command: F) -> F:
    """The options every transfer takes: filters, jobs, JSON, progress."""
    for option in (
        _filters,
        _jobs,
        _quiet,
        json_option("Print one JSON summary on stdout instead of text."),
        click.option(
            "--progress-every",
            "every",
            type=click.FloatRange(min=0),
            default=_LINE_EVERY,
            show_default=True,
            metavar="SECONDS",
            help="When output is not a terminal, one progress line on stderr this often.",
        ),
    ):
        command = option(command)
    return command


def _dry_run(command: F) -> F:
    return click.option("--dry-run", is_flag=True, help="Only say what would be done.")(command)


def _run_transfer(
    verb: str, run: Callable[[Progress | None], TransferResult], *, quiet: bool, as_json: bool, every: float
) -> None:
    """Run a transfer under the progress display that suits the output, then report it."""
    _give_back_big_buffers()
    with _progress(quiet or as_json, every) as progress:
        started = time.monotonic()
        result = run(progress)
    _report(result, verb, quiet, started, as_json=as_json)


@fs.command("cp")
@click.option("-r", "-R", "--recursive", is_flag=True, help="Copy directories and everything in them.")
@click.option("-n", "--no-clobber", is_flag=True, help="Never replace an existing file (race-safe where the store is).")
@_dry_run
@_transfer_options
@_fsync
@click.argument("sources", nargs=-1, required=True)
@click.argument("destination")
def cp(sources: tuple[str, ...], destination: str, recursive: bool, no_clobber: bool, **options: Any) -> None:
    """Copy SOURCES to DESTINATION, within a store or across stores, in parallel.

    A source goes into DESTINATION when that is a directory, ends with '/', or several sources
    are given; a source directory ending with '/' copies its contents.
    """
    from cargohold import transfer

    def run(progress: Progress | None) -> TransferResult:
        return transfer.copy(
            sources,
            destination,
            recursive=recursive,
            overwrite=not no_clobber,
            jobs=options["jobs"],
            progress=progress,
            fsync=not options["no_fsync"],
            only=_filter(options),
            bwlimit=options["bwlimit"],
            dry_run=options["dry_run"],
        )

    _run_transfer("Copied", run, quiet=options["quiet"], as_json=options["as_json"], every=options["every"])


@fs.command("mv")
@click.option("-n", "--no-clobber", is_flag=True, help="Never replace an existing file.")
@_dry_run
@_transfer_options
@_fsync
@click.argument("sources", nargs=-1, required=True)
@click.argument("destination")
def mv(sources: tuple[str, ...], destination: str, no_clobber: bool, **options: Any) -> None:
    """Move files and directories: a rename within a store that can, else copy, then delete each source file."""
    from cargohold import transfer

    def run(progress: Progress | None) -> TransferResult:
        return transfer.move(
            sources,
            destination,
            recursive=True,
            overwrite=not no_clobber,
            jobs=options["jobs"],
            progress=progress,
            fsync=not options["no_fsync"],
            only=_filter(options),
            bwlimit=options["bwlimit"],
            dry_run=options["dry_run"],
        )

    _run_transfer("Moved", run, quiet=options["quiet"], as_json=options["as_json"], every=options["every"])


@fs.command("rm")
@click.option("-r", "-R", "--recursive", is_flag=True, help="Delete directories and everything in them.")
@_dry_run
@_transfer_options
@click.argument("targets", nargs=-1, required=True)
def rm(targets: tuple[str, ...], recursive: bool, **options: Any) -> None:
    """Delete files, in batches through each store's bulk delete."""
    from cargohold import transfer

    def run(progress: Progress | None) -> TransferResult:
        return transfer.bulk_delete(
            targets,
            recursive=recursive,
            jobs=options["jobs"],
            progress=progress,
            only=_filter(options),
            dry_run=options["dry_run"],
        )

    _run_transfer("Deleted", run, quiet=options["quiet"], as_json=options["as_json"], every=options["every"])


@fs.command("sync")
@click.option("--delete", is_flag=True, help="Also delete files in DESTINATION that SOURCE lacks.")
@click.option("--checksum", is_flag=True, help="Compare contents (MD5 or CRC32C), not sizes and modification times.")
@_dry_run
@_transfer_options
@_fsync
@click.argument("source")
@click.argument("destination")
def sync(source: str, destination: str, delete: bool, checksum: bool, **options: Any) -> None:
    """Copy what is new or changed in SOURCE to DESTINATION; reruns finish the job.

    Changed means another size or modification time, newer or older (copies keep their source's; object
    stores record it as metadata), or with --checksum other contents.
    """
    from cargohold import transfer

    def run(progress: Progress | None) -> TransferResult:
        return transfer.sync(
            source,
            destination,
            delete=delete,
            dry_run=options["dry_run"],
            checksum=checksum,
            jobs=options["jobs"],
            progress=progress,
            fsync=not options["no_fsync"],
            only=_filter(options),
            bwlimit=options["bwlimit"],
        )

    _run_transfer("Synced", run, quiet=options["quiet"], as_json=options["as_json"], every=options["every"])


@fs.command("cleanup")
@click.option(
    "--older-than",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    metavar="HOURS",
    help="Only what was left this long ago (a write may still be running).",
)
@_dry_run
@click.argument("target")
def cleanup(target: str, older_than: float, dry_run: bool) -> None:
    """Remove what interrupted writes left under TARGET: staged temporary files and unfinished uploads."""
    from cargohold import transfer

    result = transfer.cleanup(target, older_than=older_than * 3600, dry_run=dry_run)
    for path in result.deleted:
        click.echo(f"{'would remove' if dry_run else 'removed'} {path}")
    if result.failed:
        for failure in result.failed:
            click.echo(f"  {failure.path}: {failure.reason}", err=True)
        raise click.exceptions.Exit(1)


def _filter(options: dict[str, Any]) -> Filter:
    return Filter(tuple(options["include"]), tuple(options["exclude"]))


def _give_back_big_buffers() -> None:
    """Fix glibc's mmap threshold at its ceiling, so freed upload parts go back to the kernel.

    By default glibc raises the threshold, and twice that its heap trim threshold, each time a big
    buffer is freed, so every worker thread's heap keeps its parts' memory: peak RSS grew well past what
    the copy ever held. A fixed threshold keeps the trim threshold small; parts still come from the heap
    (an mmap per part would cost a page fault per 4 KiB: 1 MiB made a 200 MB upload 20% slower).
    Other C libraries have no such setting, or no such habit.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, 32 << 20)


# -- progress and summary --------------------------------------------------------------------------


class _Bar(Progress):
    """A rich progress bar, in bytes and files with rate and ETA, shown once a transfer outlasts a moment."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as RichProgress

        self._rich = RichProgress(
            TextColumn("{task.fields[files]}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        self._lock = threading.Lock()
        self._task = self._rich.add_task("", total=None, files="")
        self._files = self._total = self._finished = self._failed = 0
        self._since = time.monotonic()
        self._shown = False

    def start(self, files: int, total_bytes: int) -> None:
        self._files = files
        self._total = total_bytes
        self._rich.update(self._task, total=total_bytes or None, files=self._count())  # a delete moves no bytes

    def found(self, files: int, nbytes: int) -> None:
        with self._lock:
            self._files += files
            self._total += nbytes
            total = self._total
        self._rich.update(self._task, total=total or None, files=self._count())

    def advance(self, nbytes: int) -> None:
        self._rich.advance(self._task, nbytes)
        self._show_when_slow()

    def done(self, path: str) -> None:
        with self._lock:
            self._finished += 1
        self._rich.update(self._task, files=self._count())
        self._show_when_slow()

    def failed(self, path: str, reason: str) -> None:
        with self._lock:
            self._finished += 1
            self._failed += 1
        self._rich.update(self._task, files=self._count())

    def _count(self) -> str:
        failed = f", {self._failed} failed" if self._failed else ""
        return f"{self._finished}/{self._files} files{failed}"

    def _show_when_slow(self) -> None:
        if not self._shown and time.monotonic() - self._since > _BAR_DELAY:
            with self._lock:
                if not self._shown:
                    self._shown = True
                    self._rich.start()

    def close(self) -> None:
        """Take the bar down, leaving its last state on the terminal."""
        if self._shown:
            self._rich.stop()


class _Lines(Progress):
    """Progress for a log: one line on stderr at most every ``every`` seconds (0: one per file)."""

    def __init__(self, every: float) -> None:
        self._every = every
        self._lock = threading.Lock()
        self._files = self._total = self._finished = self._failed = self._bytes = 0
        self._since = self._last = time.monotonic()

    def start(self, files: int, total_bytes: int) -> None:
        self._files, self._total = files, total_bytes

    def found(self, files: int, nbytes: int) -> None:
        with self._lock:
            self._files += files
            self._total += nbytes

    def advance(self, nbytes: int) -> None:
        self._tell(max(self._every, _BAR_DELAY), nbytes=nbytes)  # a line per file at most, not per chunk

    def done(self, path: str) -> None:
        self._tell(self._every, finished=1)

    def failed(self, path: str, reason: str) -> None:
        self._tell(self._every, finished=1, failed=1)

    def _tell(self, every: float, *, nbytes: int = 0, finished: int = 0, failed: int = 0) -> None:
        """Count, then print a line if one is due: both under one lock, so that the lines of many threads
        count up in the order they print and the last file's line is never skipped."""
        with self._lock:
            self._bytes += nbytes
            self._finished += finished
            self._failed += failed
            now = time.monotonic()
            if now - self._last < every:
                return
            self._last = now
            failures = f", {self._failed} failed" if self._failed else ""
            rate = self._bytes / max(now - self._since, 1e-9)
            click.echo(
                f"{self._finished}/{self._files} files{failures}, {_size(self._bytes)} of {_size(self._total)}, "
                f"{_size(int(rate))}/s",
                err=True,
            )


@contextlib.contextmanager
def _progress(quiet: bool, every: float = _LINE_EVERY) -> Iterator[Progress | None]:
    """A progress bar when standard output is a terminal, else lines every ``every`` seconds; none with
    ``quiet``. rich is imported only for the bar."""
    if quiet:
        yield None
        return
    if not sys.stdout.isatty():
        yield _Lines(every)
        return
    bar = _Bar()
    try:
        yield bar
    finally:
        bar.close()


def _report(result: TransferResult, verb: str, quiet: bool, started: float, *, as_json: bool = False) -> None:
    """What happened on stderr (what would happen on stdout, for a dry run), or with ``as_json`` one summary
    object on stdout; exit 1 if any file failed."""
    if as_json:
        from cargohold.cli._output import print_json

        summary: dict[str, Any] = {
            "files": len(result.deleted if verb == "Deleted" else result.copied),
            "bytes": result.bytes,
            "seconds": round(time.monotonic() - started, 3),
            "skipped": len(result.skipped),
            "deleted": len(result.deleted),
            "retries": result.retries,
            "failures": [{"path": f.path, "reason": f.reason} for f in result.failed],
            "dry_run": result.dry_run,
        }
        if result.dry_run:
            summary["planned"] = {"copy": [list(pair) for pair in result.copied], "delete": result.deleted}
        print_json(summary)
        if result.failed:
            raise click.exceptions.Exit(1)
        return
    if result.dry_run:
        action = "move" if verb == "Moved" else "copy"
        for source, target in result.copied:
            click.echo(f"{action} {source} -> {target}")
        for path in result.deleted:
            click.echo(f"delete {path}")
    elif not quiet:
        if verb == "Deleted":
            head = f"Deleted {_files(len(result.deleted))}"
        else:
            head = f"{verb} {_files(len(result.copied))} ({_size(result.bytes)})"
        parts = [f"{head} in {time.monotonic() - started:.1f} s"]
        if result.skipped:
            parts.append(f"{len(result.skipped)} up to date")
        if result.deleted and verb != "Deleted":
            parts.append(f"deleted {_files(len(result.deleted))}")
        if result.retries:
            parts.append(f"{result.retries} retried after transient errors")
        click.echo("; ".join(parts) + ".", err=True)
    if result.failed:
        click.echo(f"{len(result.failed)} failed:", err=True)
        for failure in result.failed:
            click.echo(f"  {failure.path}: {failure.reason}", err=True)
        raise click.exceptions.Exit(1)


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    size = count / 1024
    for unit in ("KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"
