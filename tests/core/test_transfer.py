"""cargohold.transfer between memory-backed fsspec stores: copy, move, sync and bulk_delete, with progress."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import IO, Any

import pytest
from memory_store import MemoryConfig, MemoryStore, fresh_root

from cargohold import ObjectInfo, fileio, transfer
from cargohold.artifact_stores import STAGING_SUFFIX


class OtherMemoryStore(MemoryStore):
    """Another flavor over the memory filesystem: copies to it pass through the transfer, not inside the service."""


class Events(transfer.Progress):
    """Every progress call, as the CLI's bar would get them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[tuple[int, int]] = []
        #: The files and bytes to move as last told: ``start``'s, plus what a streamed listing ``found`` since.
        self.totals = (0, 0)
        self.bytes = 0
        self.finished: list[str] = []
        self.failures: list[tuple[str, str]] = []

    def start(self, files: int, total_bytes: int) -> None:
        self.started.append((files, total_bytes))
        self.totals = (files, total_bytes)

    def found(self, files: int, nbytes: int) -> None:
        with self.lock:
            self.totals = (self.totals[0] + files, self.totals[1] + nbytes)

    def advance(self, nbytes: int) -> None:
        with self.lock:
            self.bytes += nbytes

    def done(self, path: str) -> None:
        with self.lock:
            self.finished.append(path)

    def failed(self, path: str, reason: str) -> None:
        with self.lock:
            self.failures.append((path, reason))


def _store(cls: type[MemoryStore] = MemoryStore) -> MemoryStore:
    store = cls(MemoryConfig(path=f"{fresh_root('transfer')}/root"))
    fileio.mount(store)
    return store


@pytest.fixture
def src() -> Iterator[MemoryStore]:
    store = _store()
    yield store
    fileio.unmount(store)


@pytest.fixture
def dst() -> Iterator[MemoryStore]:
    store = _store()
    yield store
    fileio.unmount(store)


def _write(store: MemoryStore, path: str, data: bytes) -> None:
    with store.open(path, "wb") as f:
        f.write(data)


def _read(store: MemoryStore, path: str) -> bytes:
    with store.open(path, "rb") as f:
        data: bytes = f.read()
        return data


def _tree(store: MemoryStore, top: str = "") -> dict[str, bytes]:
    base = store.path + ("/" + top if top else "")
    return {o.path[len(base) + 1 :]: _read(store, o.path) for o in store.list_objects(top)}


TREE = {"a.txt": b"alpha", "sub/b.bin": b"\x00\x01" * 1000, "sub/deeper/c": b"", "z": b"zz"}


def _fill(store: MemoryStore, top: str = "data", tree: dict[str, bytes] = TREE) -> None:
    for name, data in tree.items():
        _write(store, f"{top}/{name}", data)


# -- copy ------------------------------------------------------------------------------------------


def test_copy_a_tree_across_stores(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    events = Events()
    result = transfer.copy(f"{src.path}/data", f"{dst.path}/copy", recursive=True, progress=events)
    assert result.ok
    assert _tree(dst, "copy") == TREE
    total = sum(map(len, TREE.values()))
    assert result.bytes == total
    assert len(events.started) == 1
    assert events.totals == (4, total)
    assert events.bytes == total
    assert sorted(events.finished) == sorted(o.path for o in src.list_objects("data"))


def test_copy_into_an_existing_directory_nests_the_source(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    dst.makedirs("existing")
    _write(dst, "existing/keep", b"k")
    assert transfer.copy(f"{src.path}/data", f"{dst.path}/existing", recursive=True).ok
    assert _tree(dst, "existing") == {"keep": b"k", **{f"data/{k}": v for k, v in TREE.items()}}


def test_a_trailing_slash_on_the_source_copies_its_contents(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    _write(dst, "existing/keep", b"k")
    assert transfer.copy(f"{src.path}/data/", f"{dst.path}/existing", recursive=True).ok
    assert _tree(dst, "existing") == {"keep": b"k", **TREE}


def test_copy_a_file_to_a_name_and_into_a_directory(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    assert transfer.copy(f"{src.path}/data/a.txt", f"{dst.path}/renamed.txt").ok
    assert transfer.copy(f"{src.path}/data/a.txt", f"{dst.path}/into/").ok
    assert _tree(dst) == {"renamed.txt": b"alpha", "into/a.txt": b"alpha"}


def test_several_sources_go_into_the_destination(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    assert transfer.copy([f"{src.path}/data/a.txt", f"{src.path}/data/z"], f"{dst.path}/both").ok
    assert _tree(dst) == {"both/a.txt": b"alpha", "both/z": b"zz"}


def test_copy_within_one_store_uses_its_own_copy(src: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(src)
    used = []
    copyfile = src.copyfile
    monkeypatch.setattr(src, "copyfile", lambda *a: used.append(a) or copyfile(*a))
    assert transfer.copy(f"{src.path}/data", f"{src.path}/again", recursive=True).ok
    assert len(used) == len(TREE)
    assert _tree(src, "again") == TREE


def test_two_stores_of_one_account_copy_inside_the_service(
    src: MemoryStore, dst: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(src)

    def no_streaming(path: str, mode: str = "r") -> IO[Any]:
        raise AssertionError(f"{path} was streamed through the client")

    monkeypatch.setattr(src, "open", no_streaming)
    assert dst.can_copy_from(src)
    assert transfer.copy(f"{src.path}/data", f"{dst.path}/copy", recursive=True).ok
    monkeypatch.undo()
    assert _tree(dst, "copy") == TREE


def test_scandir_gives_what_stat_gives_for_each_entry(src: MemoryStore) -> None:
    _fill(src)
    assert src.scandir("data") == [src.stat(f"data/{name}") for name in src.listdir("data")]


def test_two_objects_of_one_store_count_as_one() -> None:
    from cargohold.targets import same_store

    first, twin = (MemoryStore(MemoryConfig(path="memory://same/root")) for _ in range(2))
    assert same_store(first, twin)
    assert not same_store(first, MemoryStore(MemoryConfig(path="memory://same/other")))


def test_a_directory_needs_recursive(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    result = transfer.copy(f"{src.path}/data", f"{dst.path}/copy")
    assert not result.ok
    assert "-r" in result.failed[0].reason
    assert dst.list_objects("") == []


def test_a_missing_source_fails_and_the_others_are_copied(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    events = Events()
    result = transfer.copy([f"{src.path}/nope", f"{src.path}/data/z"], f"{dst.path}/out", progress=events)
    assert [f.path for f in result.failed] == [f"{src.path}/nope"]
    assert events.failures[0][0] == f"{src.path}/nope"
    assert _tree(dst) == {"out/z": b"zz"}


def test_a_directory_cannot_be_copied_into_itself(src: MemoryStore) -> None:
    _fill(src)
    result = transfer.copy(f"{src.path}/data", f"{src.path}/data/inner", recursive=True)
    assert "into itself" in result.failed[0].reason
    assert _tree(src, "data") == TREE


def test_no_clobber_keeps_existing_files(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    _write(dst, "copy/a.txt", b"mine")
    result = transfer.copy(f"{src.path}/data/", f"{dst.path}/copy", recursive=True, overwrite=False)
    assert [(f.path, f.reason) for f in result.failed] == [
        (f"{src.path}/data/a.txt", "it already exists, and overwriting is off")
    ]
    assert _tree(dst, "copy") == {**TREE, "a.txt": b"mine"}


def test_overwrite_replaces(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    _write(dst, "copy/a.txt", b"old")
    assert transfer.copy(f"{src.path}/data/", f"{dst.path}/copy", recursive=True).ok
    assert _read(dst, "copy/a.txt") == b"alpha"


def test_a_failed_read_leaves_nothing_under_the_final_name(dst: MemoryStore) -> None:
    class Breaking(MemoryStore):
        """Reads fail after the first chunk, as when a server goes away mid-transfer."""

        def open(self, path: str, mode: str = "r") -> IO[Any]:
            handle = super().open(path, mode)
            if "r" in mode:
                read, served = handle.read, [0]

                def failing_read(size: int = -1) -> bytes:
                    if served[0] >= transfer.CHUNK_SIZE:
                        raise ConnectionError("the server went away")
                    data: bytes = read(size)
                    served[0] += len(data)
                    return data

                handle.read = failing_read  # type: ignore[method-assign]
            return handle

    source = _store(Breaking)
    try:
        _write(source, "big", b"x" * (transfer.CHUNK_SIZE + 10))
        _write(source, "small", b"fine")
        result = transfer.copy([f"{source.path}/big", f"{source.path}/small"], f"{dst.path}/out")
    finally:
        fileio.unmount(source)
    assert [(f.path, f.reason) for f in result.failed] == [(f"{source.path}/big", "the server went away")]
    assert dst.listdir("out") == ["small"]  # neither the final name nor a staging name is left


def test_staging_files_are_never_copied(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    _write(src, "data/.a.txt.0123456789ab.cargohold-tmp", b"half")
    assert transfer.copy(f"{src.path}/data", f"{dst.path}/copy", recursive=True).ok
    assert _tree(dst, "copy") == TREE


def test_a_thousand_small_files_in_parallel_arrive_byte_for_byte(src: MemoryStore, dst: MemoryStore) -> None:
    files = {f"d{i % 10}/f{i}": i.to_bytes(4, "big") * (i % 50) for i in range(1000)}
    _fill(src, "many", files)
    result = transfer.copy(f"{src.path}/many", f"{dst.path}/many", recursive=True, jobs=32)
    assert result.ok
    assert len(result.copied) == 1000
    assert _tree(dst, "many") == files


class StreamedListing(MemoryStore):
    """Hands out its listing one file at a time and notes, once the last is handed out, how many files ``watched``
    already held: a transfer that read the whole listing first holds none by then."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watched: MemoryStore | None = None
        self.held_when_listed: int | None = None
        self.broken_after: int | None = None

    def iter_objects(self, path: str) -> Iterator[ObjectInfo]:
        for count, item in enumerate(super().iter_objects(path)):
            if count == self.broken_after:
                raise ConnectionResetError("the listing's connection was reset")
            yield item
        assert self.watched is not None
        # One snapshot of the memory filesystem's keys, not a listing: copies are still running, and
        # MemoryFileSystem.ls raises KeyError when a staged name is renamed between its snapshot and its lookups.
        root = f"{self.watched.filesystem._strip_protocol(self.watched.path)}/"
        keys = tuple(self.watched.filesystem.store)
        self.held_when_listed = sum(1 for key in keys if key.startswith(root) and not key.endswith(STAGING_SUFFIX))


@pytest.fixture
def streamed(dst: MemoryStore) -> Iterator[StreamedListing]:
    store = StreamedListing(MemoryConfig(path=f"{fresh_root('transfer')}/root"))
    store.watched = dst
    fileio.mount(store)
    yield store
    fileio.unmount(store)


MANY = {f"d{i % 7}/f{i:03d}": bytes([i % 256]) * (i % 40) for i in range(300)}
JOBS = 2


def test_copy_moves_files_before_the_listing_ends(streamed: StreamedListing, dst: MemoryStore) -> None:
    _fill(streamed, "many", MANY)
    events = Events()
    result = transfer.copy(f"{streamed.path}/many", f"{dst.path}/many", recursive=True, jobs=JOBS, progress=events)
    assert result.ok
    assert _tree(dst, "many") == MANY
    # At most JOBS files in flight and _QUEUED per job waiting: the rest had arrived when the listing ended.
    assert streamed.held_when_listed is not None
    assert streamed.held_when_listed >= len(MANY) - JOBS * (transfer._QUEUED + 1)
    assert events.totals == (len(MANY), sum(map(len, MANY.values())))
    assert len(events.finished) == len(MANY)


def test_sync_moves_files_before_the_source_listing_ends(streamed: StreamedListing, dst: MemoryStore) -> None:
    _fill(streamed, "many", MANY)
    _fill(dst, "many", {"d0/f000": b"", "d1/f001": b"stale", "gone": b"x"})
    result = transfer.sync(f"{streamed.path}/many", f"{dst.path}/many", delete=True, jobs=JOBS)
    assert result.ok
    assert _tree(dst, "many") == MANY
    assert result.deleted == [f"{dst.path}/many/gone"]
    assert streamed.held_when_listed is not None
    assert streamed.held_when_listed >= len(MANY) - JOBS * (transfer._QUEUED + 1)
    again = transfer.sync(f"{streamed.path}/many", f"{dst.path}/many", delete=True, jobs=JOBS)
    assert (again.copied, again.deleted, len(again.skipped)) == ([], [], len(MANY))


def test_a_listing_that_breaks_off_fails_its_source_and_keeps_what_was_copied(
    streamed: StreamedListing, dst: MemoryStore
) -> None:
    _fill(streamed, "many", MANY)
    _fill(streamed, "other", {"x": b"x"})
    streamed.broken_after = 100
    result = transfer.copy([f"{streamed.path}/many", f"{streamed.path}/other"], f"{dst.path}/out", recursive=True)
    assert [(f.path, f.reason) for f in result.failed] == [
        (f"{streamed.path}/many", "its listing broke off: the listing's connection was reset")
    ]
    assert len(result.copied) == 100 + 1  # the files listed before the break, and the next source whole
    assert _read(dst, "out/other/x") == b"x"


def test_a_dry_run_of_a_streamed_copy_lists_every_file_sorted(streamed: StreamedListing, dst: MemoryStore) -> None:
    _fill(streamed, "many", MANY)
    result = transfer.copy(f"{streamed.path}/many/", f"{dst.path}/out", recursive=True, dry_run=True, jobs=JOBS)
    assert result.copied == [(f"{streamed.path}/many/{k}", f"{dst.path}/out/{k}") for k in sorted(MANY)]
    assert not dst.exists("out")


def test_small_files_of_an_fsspec_store_are_read_in_one_request_each(
    src: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    dst = _store(OtherMemoryStore)  # another flavor: the bytes pass through the transfer
    files = {f"f{i}": bytes([i]) * i for i in range(200)}
    _fill(src, "many", files)
    read: list[str] = []
    cat_file = src.filesystem.cat_file
    monkeypatch.setattr(src.filesystem, "cat_file", lambda p, **k: read.append(p) or cat_file(p, **k))
    try:
        result = transfer.copy(f"{src.path}/many", f"{dst.path}/many", recursive=True)
        assert result.ok
        assert len(read) == 200
        assert _tree(dst, "many") == files
    finally:
        fileio.unmount(dst)


class CountingStore(MemoryStore):
    """Counts its files open for reading at once. Each read waits until ``expected`` are open (or a deadline
    passes), so a transfer that runs ``expected`` files at a time shows exactly that many."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = 1
        self.most = self.now = self.waves = 0
        self.gate = threading.Condition()

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        if "r" not in mode:
            return super().open(path, mode)
        with self.gate:
            self.now += 1
            self.most = max(self.most, self.now)
            if self.now >= self.expected:  # a full wave: every reader waiting in it goes on
                self.waves += 1
                self.gate.notify_all()
            else:
                wave = self.waves
                self.gate.wait_for(lambda: self.waves > wave, timeout=5)
        with super().open(path, mode) as reader:
            data = reader.read()
        store = self

        class Reader(io.BytesIO):
            def close(self) -> None:
                if not self.closed:
                    with store.gate:
                        store.now -= 1
                super().close()

        return Reader(data)


@pytest.mark.parametrize("jobs", [1, 4])
def test_no_more_than_jobs_files_move_at_once(jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """One limit for every file, and all of it used."""
    monkeypatch.setattr(transfer, "SMALL_FILE", -1)  # every file read through the store's open, which counts
    source = CountingStore(MemoryConfig(path=f"{fresh_root('transfer')}/root"))
    target = _store(OtherMemoryStore)
    fileio.mount(source)
    try:
        _fill(source, tree={f"f{i}": b"s" * i for i in range(16)})
        source.expected = jobs
        result = transfer.copy(f"{source.path}/data/", target.path, recursive=True, jobs=jobs)
    finally:
        fileio.unmount(source)
        fileio.unmount(target)
    assert result.ok
    assert len(result.copied) == 16
    assert source.most == jobs


class RecordingStore(MemoryStore):
    """A memory store that keeps mtimes (as object stores do, in metadata) and can be fsynced: it records both."""

    keeps_mtime = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.mtimes: dict[str, float] = {}
        self.synced: list[str] = []

    def _add_metadata(self, fs_path: str, metadata: dict[str, str]) -> None:
        self.mtimes[self._full(self._parts_of_fs_path(fs_path))] = float(metadata[self.mtime_metadata])

    def fsync(self, path: str) -> None:
        self.synced.append(path)


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "inside-the-service"])
def test_each_copy_keeps_its_mtime_and_is_fsynced_before_it_counts(streamed: bool) -> None:
    source = _store(MemoryStore if streamed else RecordingStore)
    target = RecordingStore(MemoryConfig(path=f"{fresh_root('transfer')}/root"))
    fileio.mount(target)
    try:
        _fill(source)
        copied = transfer.copy(f"{source.path}/data/", target.path, recursive=True)
        listed = {o.path: o.mtime for o in source.list_objects("data")}
        assert sorted(target.synced) == sorted(t for _, t in copied.copied)
        assert target.mtimes == {t: listed[s] for s, t in copied.copied}
        target.synced.clear()
        _write(source, "data/a.txt", b"ALPHA")
        assert transfer.sync(f"{source.path}/data", target.path, fsync=False).copied
        assert target.synced == []
    finally:
        fileio.unmount(source)
        fileio.unmount(target)


class FlakyStore(MemoryStore):
    """Its first read of each file fails with ``error``; the next ones work."""

    error: type[OSError] = ConnectionResetError

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tried: set[str] = set()

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        if "r" in mode and path not in self.tried:
            self.tried.add(path)
            raise self.error(f"{path}: the first read fails")
        return super().open(path, mode)


@pytest.mark.parametrize(("error", "transient"), [(ConnectionResetError, True), (PermissionError, False)])
def test_a_transient_error_is_retried_and_counted_a_lasting_one_is_not(
    error: type[OSError], transient: bool, dst: MemoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transfer, "RETRY_DELAY", 0.0)
    monkeypatch.setattr(transfer, "SMALL_FILE", -1)  # every file read through the store's open, which fails first
    source = FlakyStore(MemoryConfig(path=f"{fresh_root('transfer')}/root"))
    source.error = error
    fileio.mount(source)
    try:
        _fill(source)
        target = _store(OtherMemoryStore)
        result = transfer.copy(f"{source.path}/data/", target.path, recursive=True)
        fileio.unmount(target)
    finally:
        fileio.unmount(source)
    assert result.retries == (len(TREE) if transient else 0)
    assert len(result.copied) == (len(TREE) if transient else 0)
    assert len(result.failed) == (0 if transient else len(TREE))


def test_bwlimit_paces_every_read_over_all_files() -> None:
    now = [100.0]
    throttle = transfer._Throttle(1000, clock=lambda: now[0])
    assert throttle.take(500) == 0  # the first read goes at once
    assert throttle.take(500) == 0.5  # then each waits for the bytes before it, whichever thread reads
    now[0] += 2.0  # idle time is not saved up for a burst
    assert throttle.take(2000) == 0
    assert throttle.take(1) == 2.0


def test_a_copy_under_bwlimit_waits_for_its_bytes(src: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Into another kind of store, so that the bytes pass through (no copy inside a service)."""
    dst = RecordingStore(MemoryConfig(path=f"{fresh_root('transfer')}/root"))
    fileio.mount(dst)
    _fill(src)
    asked: list[float] = []
    real_take = transfer._Throttle.take

    def take(self: Any, nbytes: int) -> float:
        asked.append(real_take(self, nbytes))
        return 0.0  # the pace is checked above; the test does not sleep

    monkeypatch.setattr(transfer._Throttle, "take", take)
    try:
        assert transfer.copy(f"{src.path}/data", f"{dst.path}/copy", recursive=True, bwlimit=1 << 20).ok
    finally:
        fileio.unmount(dst)
    assert sum(asked) > 0  # every read was counted, so some had to wait
    assert _tree(dst, "copy") == TREE


def test_progress_may_be_a_plain_function(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    moved: list[int] = []
    assert transfer.copy(f"{src.path}/data", f"{dst.path}/copy", recursive=True, progress=moved.append).ok
    assert sum(moved) == sum(len(data) for data in TREE.values())


def test_jobs_must_be_positive(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    with pytest.raises(ValueError, match="jobs"):
        transfer.copy(f"{src.path}/data", f"{dst.path}/x", recursive=True, jobs=0)


# -- move ------------------------------------------------------------------------------------------


def test_move_across_stores_copies_then_deletes(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    result = transfer.move(f"{src.path}/data", f"{dst.path}/moved", recursive=True)
    assert result.ok
    assert _tree(dst, "moved") == TREE
    assert not src.exists("data")


def test_move_keeps_a_source_file_whose_copy_failed(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    _write(dst, "moved/a.txt", b"mine")
    result = transfer.move(f"{src.path}/data/", f"{dst.path}/moved", recursive=True, overwrite=False)
    assert [f.path for f in result.failed] == [f"{src.path}/data/a.txt"]
    assert _tree(src, "data") == {"a.txt": b"alpha"}
    assert _read(dst, "moved/a.txt") == b"mine"


# -- sync ------------------------------------------------------------------------------------------


def test_sync_is_idempotent(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    first = transfer.sync(f"{src.path}/data", f"{dst.path}/mirror")
    assert len(first.copied) == len(TREE)
    again = transfer.sync(f"{src.path}/data", f"{dst.path}/mirror")
    assert again.copied == []
    assert len(again.skipped) == len(TREE)
    assert _tree(dst, "mirror") == TREE


def test_sync_copies_what_changed(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    transfer.sync(f"{src.path}/data", f"{dst.path}/mirror")
    _write(src, "data/a.txt", b"alpha, longer now")
    _write(src, "data/new", b"n")
    result = transfer.sync(f"{src.path}/data", f"{dst.path}/mirror")
    assert sorted(s for s, _ in result.copied) == [f"{src.path}/data/a.txt", f"{src.path}/data/new"]
    assert _read(dst, "mirror/a.txt") == b"alpha, longer now"


def test_sync_delete_removes_only_what_the_source_lacks(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    transfer.sync(f"{src.path}/data", f"{dst.path}/mirror")
    _write(dst, "mirror/extra", b"e")
    _write(dst, "mirror/sub/extra2", b"e")
    _write(dst, "outside-the-mirror", b"o")
    result = transfer.sync(f"{src.path}/data", f"{dst.path}/mirror", delete=True)
    assert sorted(result.deleted) == [f"{dst.path}/mirror/extra", f"{dst.path}/mirror/sub/extra2"]
    assert _tree(dst, "mirror") == TREE
    assert dst.exists("outside-the-mirror")


def test_sync_dry_run_changes_nothing(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    _write(dst, "mirror/extra", b"e")
    result = transfer.sync(f"{src.path}/data", f"{dst.path}/mirror", delete=True, dry_run=True)
    assert result.dry_run
    assert len(result.copied) == len(TREE)
    assert result.deleted == [f"{dst.path}/mirror/extra"]
    assert _tree(dst, "mirror") == {"extra": b"e"}


def test_sync_of_one_file(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    assert len(transfer.sync(f"{src.path}/data/z", f"{dst.path}/z").copied) == 1
    assert transfer.sync(f"{src.path}/data/z", f"{dst.path}/z").copied == []


def test_sync_refuses_overlapping_trees(src: MemoryStore) -> None:
    _fill(src)
    with pytest.raises(ValueError, match="contains"):
        transfer.sync(f"{src.path}/data", f"{src.path}/data/backup")


class KeepsMtimeStore(MemoryStore):
    """A memory store that says it keeps mtimes, as the local store does: only the comparison reads it."""

    keeps_mtime = True


@pytest.mark.parametrize(
    ("keeps", "source", "target", "changed"),
    [
        (False, {"size": 1, "mtime": 10.0}, None, True),
        (False, {"size": 1, "mtime": 10.0}, {"size": 2, "mtime": 20.0}, True),
        (False, {"size": 1, "mtime": 20.0}, {"size": 1, "mtime": 10.0}, True),
        (False, {"size": 1, "mtime": 10.0}, {"size": 1, "mtime": 20.0}, False),
        (False, {"size": 1, "mtime": 10.7}, {"size": 1, "mtime": 10.0}, False),  # a service keeping whole seconds
        (False, {"size": 1, "mtime": 10.7}, {"size": 1, "mtime": 10.5}, True),  # one keeping fractions
        (False, {"size": 1, "mtime": None}, {"size": 1, "mtime": None}, True),
        # A destination that keeps its source's mtime: any difference is an edit, newer or older.
        (True, {"size": 1, "mtime": 10.25}, {"size": 1, "mtime": 10.25, "own_mtime": True}, False),
        (True, {"size": 1, "mtime": 10.5}, {"size": 1, "mtime": 10.25, "own_mtime": True}, True),  # same second
        (True, {"size": 1, "mtime": 5.0}, {"size": 1, "mtime": 10.25, "own_mtime": True}, True),  # older, different
        # An object no copy recorded an mtime on (another tool wrote it): its time says nothing of its source.
        (True, {"size": 1, "mtime": 10.25}, {"size": 1, "mtime": 10.25, "own_mtime": False}, True),
    ],
)
def test_what_sync_counts_as_changed(
    keeps: bool, source: dict[str, Any], target: dict[str, Any] | None, changed: bool
) -> None:
    from cargohold import ObjectInfo

    stores = (
        MemoryStore(MemoryConfig(path=fresh_root())),
        (KeepsMtimeStore if keeps else MemoryStore)(MemoryConfig(path=fresh_root())),
    )
    before = ObjectInfo("s", **source)
    after = ObjectInfo("t", **target) if target is not None else None
    assert transfer._Comparison(*stores, checksum=False).changed(before, after) is changed


@pytest.mark.parametrize(
    ("source", "target", "same"),
    [
        ({"md5": "aa"}, {"md5": "aa"}, True),
        ({"md5": "aa"}, {"md5": "bb", "crc32c": "cc"}, False),  # MD5 first, where both keep it
        ({"crc32c": "cc"}, {"md5": "bb", "crc32c": "cc"}, True),
        ({"etag": "e"}, {"etag": "e"}, False),  # etags are no hash: the contents are read (and differ here)
    ],
)
def test_checksum_compares_a_hash_both_services_keep(
    source: dict[str, Any], target: dict[str, Any], same: bool, src: MemoryStore, dst: MemoryStore
) -> None:
    from cargohold import ObjectInfo

    _write(src, "f", b"one")
    _write(dst, "f", b"two")
    compare = transfer._Comparison(src, dst, checksum=True)
    assert (
        compare.changed(ObjectInfo(f"{src.path}/f", 3, 1.0, **source), ObjectInfo(f"{dst.path}/f", 3, 1.0, **target))
        is not same
    )


def test_sync_with_checksum_sees_an_edit_that_kept_size_and_mtime(src: MemoryStore, dst: MemoryStore) -> None:
    _fill(src)
    transfer.sync(f"{src.path}/data", f"{dst.path}/mirror")
    _write(dst, "mirror/a.txt", b"ALPHA")  # same size, newer than the source: mtimes say it is up to date
    assert transfer.sync(f"{src.path}/data", f"{dst.path}/mirror").copied == []
    result = transfer.sync(f"{src.path}/data", f"{dst.path}/mirror", checksum=True)
    assert [s for s, _ in result.copied] == [f"{src.path}/data/a.txt"]
    assert len(result.skipped) == len(TREE) - 1
    assert _read(dst, "mirror/a.txt") == TREE["a.txt"]


# -- bulk delete -----------------------------------------------------------------------------------


def test_bulk_delete_of_a_tree(src: MemoryStore) -> None:
    _fill(src)
    _write(src, "other", b"o")
    events = Events()
    result = transfer.bulk_delete(f"{src.path}/data", recursive=True, progress=events)
    assert result.ok
    assert len(result.deleted) == len(TREE)
    assert events.started == [(len(TREE), 0)]
    assert not src.exists("data")
    assert src.exists("other")


def test_bulk_delete_of_a_whole_store_keeps_its_root(src: MemoryStore) -> None:
    _fill(src)
    assert transfer.bulk_delete(f"{src.path}/", recursive=True).ok
    assert src.list_objects("") == []
    assert src.isdir("")


def test_bulk_delete_of_a_directory_needs_recursive(src: MemoryStore) -> None:
    _fill(src)
    result = transfer.bulk_delete([f"{src.path}/data", f"{src.path}/data/z"])
    assert "-r" in result.failed[0].reason
    assert result.deleted == [f"{src.path}/data/z"]
    assert src.exists("data/a.txt")
