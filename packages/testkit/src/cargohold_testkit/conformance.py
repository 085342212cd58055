"""The artifact store conformance suite: every behaviour of the interface, written down once.

Subclass :class:`ArtifactStoreTests` and give it a ``store`` fixture that yields a fresh, empty store;
each test that needs a capability the store lacks is skipped, naming the flag.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from cargohold.artifact_stores import BaseArtifactStore, FileStat
from cargohold.exceptions import OutsideStoreError, ProtectedPathError

__all__ = ["ArtifactStoreTests", "advice", "requires"]

T = TypeVar("T", bound=Callable[..., Any])


def requires(flag: str) -> Callable[[T], T]:
    """Mark a test as needing a capability flag of the store, e.g. ``supports_empty_dirs``."""

    def mark(test: T) -> T:
        test.__dict__.setdefault("_cargohold_requires", []).append(flag)
        return test

    return mark


def _write(store: BaseArtifactStore, path: str, data: bytes = b"data") -> str:
    with store.open(path, "wb") as f:
        f.write(data)
    return path


def _staging_advice(store: BaseArtifactStore, what: str) -> str:
    """What to change when an interrupted write showed under its final name."""
    staging = getattr(store, "write_staging", None)
    if staging == "close":
        fix = (
            f'{type(store).__name__}.write_staging is "close", which suits only object stores that publish an upload '
            'when it is closed; your filesystem shows a file as soon as it is opened, so set write_staging = "rename"'
        )
    elif staging is not None:
        fix = f"{type(store).__name__}.write_staging is {staging!r}; check that its filesystem's rename replaces a file"
    else:
        fix = "stage each write under a temporary name and move it into place only when it is closed without error"
    return f"An interrupted write {what}: {fix}."


#: The interface methods, longest first so that ``list_objects`` is found before ``listdir`` would be.
_METHODS = sorted(BaseArtifactStore.__abstractmethods__ | {"list_objects", "bulk_delete"}, key=len, reverse=True)
_ALIASES = {"copies": "copyfile", "empty": "makedirs"}
_SANDBOX = ("dotdot", "sibling", "outside", "stays_inside")


def advice(test_name: str, store: object) -> str:
    """What to change when a kit test fails: the method it exercises and the promise that method's docstring makes."""
    owner = type(store).__name__
    if any(word in test_name for word in _SANDBOX):
        return (
            f"{owner} let a path leave its root or refused one inside it: every method must compare paths as "
            "normalised segments under config.path and raise OutsideStoreError (cargohold.plugin) for any outside."
        )
    words = test_name.removeprefix("test_")
    named = [*_METHODS, *_ALIASES]
    found = next((m for m in named if f"_{m}_" in f"_{words}_"), "open")  # the rest read and write files
    method = _ALIASES.get(found, found)
    promise = " ".join((getattr(BaseArtifactStore, method).__doc__ or "").split())
    return (
        f"{owner}.{method} does not keep the promise of BaseArtifactStore.{method}: {promise} "
        f"Change {owner}.{method} (or, on FsspecArtifactStore, the hook it relies on) so that it does."
    )


def _read(store: BaseArtifactStore, path: str) -> bytes:
    with store.open(path, "rb") as f:
        data: bytes = f.read()
    return data


class ArtifactStoreTests:
    """Conformance tests for an artifact store; provide a ``store`` fixture yielding a fresh empty store."""

    @pytest.fixture(autouse=True)
    def _capabilities(self, request: pytest.FixtureRequest, store: BaseArtifactStore) -> None:
        for flag in getattr(request.function, "_cargohold_requires", ()):
            if not getattr(store, flag, False):
                pytest.skip(f"{type(store).__name__}.{flag} is False")

    def url(self, store: BaseArtifactStore, *segments: str) -> str:
        """A full path under the store's root."""
        return "/".join([store.path.rstrip("/"), *segments])

    def tree(self, store: BaseArtifactStore) -> None:
        """a.txt, b.bin, sub/c.txt, sub/deep/d.txt."""
        for name in ("a.txt", "b.bin", "sub/c.txt", "sub/deep/d.txt"):
            _write(store, self.url(store, name), name.encode())

    # -- open ----------------------------------------------------------------------------------

    def test_write_then_read_bytes(self, store: BaseArtifactStore) -> None:
        path = _write(store, self.url(store, "x.bin"), b"\x00\x01payload")
        assert _read(store, path) == b"\x00\x01payload"

    def test_text_mode_is_utf8(self, store: BaseArtifactStore) -> None:
        with store.open(self.url(store, "t.txt"), "w") as f:
            f.write("grüße\n")
        with store.open(self.url(store, "t.txt"), "r") as f:
            assert f.read() == "grüße\n"
        assert _read(store, self.url(store, "t.txt")) == "grüße\n".encode()

    def test_relative_paths_are_under_the_root(self, store: BaseArtifactStore) -> None:
        _write(store, "rel/x.bin", b"r")
        assert _read(store, self.url(store, "rel", "x.bin")) == b"r"
        assert store.exists(self.url(store, "rel", "x.bin"))

    def test_parents_are_created_on_write(self, store: BaseArtifactStore) -> None:
        _write(store, self.url(store, "p", "q", "r.bin"), b"deep")
        assert store.isdir(self.url(store, "p", "q"))

    def test_read_missing_raises_file_not_found(self, store: BaseArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.open(self.url(store, "missing.bin"), "rb")

    def test_failed_write_leaves_nothing(self, store: BaseArtifactStore) -> None:
        path = self.url(store, "half.bin")
        with pytest.raises(RuntimeError), store.open(path, "wb") as f:
            f.write(b"partial")
            raise RuntimeError("interrupted")
        assert not store.exists(path), _staging_advice(store, "left a file under its final name")

    def test_failed_overwrite_keeps_the_old_content(self, store: BaseArtifactStore) -> None:
        path = _write(store, self.url(store, "keep.bin"), b"old")
        with pytest.raises(RuntimeError), store.open(path, "wb") as f:
            f.write(b"new but unfinished")
            raise RuntimeError("interrupted")
        assert _read(store, path) == b"old", _staging_advice(store, "replaced the old content")

    def test_exclusive_mode_refuses_an_existing_file(self, store: BaseArtifactStore) -> None:
        path = _write(store, self.url(store, "x.bin"), b"first")
        with pytest.raises(FileExistsError), store.open(path, "xb") as f:
            f.write(b"second")
        assert _read(store, path) == b"first"

    # -- copyfile and rename -------------------------------------------------------------------

    def test_copyfile(self, store: BaseArtifactStore) -> None:
        src = _write(store, self.url(store, "src.bin"), b"copy me")
        store.copyfile(src, self.url(store, "dir", "dst.bin"))
        assert _read(store, self.url(store, "dir", "dst.bin")) == b"copy me"
        assert _read(store, src) == b"copy me"

    def test_copyfile_without_overwrite_never_clobbers(self, store: BaseArtifactStore) -> None:
        src = _write(store, self.url(store, "src.bin"), b"new")
        dst = _write(store, self.url(store, "dst.bin"), b"old")
        with pytest.raises(FileExistsError):
            store.copyfile(src, dst, overwrite=False)
        assert _read(store, dst) == b"old"

    def test_copyfile_with_overwrite_replaces(self, store: BaseArtifactStore) -> None:
        src = _write(store, self.url(store, "src.bin"), b"new")
        dst = _write(store, self.url(store, "dst.bin"), b"old")
        store.copyfile(src, dst, overwrite=True)
        assert _read(store, dst) == b"new"

    def test_copyfile_of_missing_source(self, store: BaseArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.copyfile(self.url(store, "nope.bin"), self.url(store, "dst.bin"))

    @requires("conditional_write")
    def test_concurrent_copies_without_overwrite_have_one_winner(self, store: BaseArtifactStore) -> None:
        sources = [_write(store, self.url(store, f"s{i}.bin"), f"writer {i}".encode()) for i in range(8)]
        dst = self.url(store, "race.bin")
        outcomes: list[str] = []
        barrier = threading.Barrier(len(sources))

        def copy(src: str) -> None:
            barrier.wait()
            try:
                store.copyfile(src, dst, overwrite=False)
                outcomes.append(src)
            except FileExistsError:
                outcomes.append("refused")

        threads = [threading.Thread(target=copy, args=(s,)) for s in sources]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [o for o in outcomes if o != "refused"]
        assert len(winners) == 1, outcomes
        assert _read(store, dst) == _read(store, winners[0])

    def test_rename_file(self, store: BaseArtifactStore) -> None:
        src = _write(store, self.url(store, "a.bin"), b"move")
        store.rename(src, self.url(store, "moved", "b.bin"))
        assert not store.exists(src)
        assert _read(store, self.url(store, "moved", "b.bin")) == b"move"

    def test_rename_without_overwrite_never_clobbers(self, store: BaseArtifactStore) -> None:
        src = _write(store, self.url(store, "a.bin"), b"new")
        dst = _write(store, self.url(store, "b.bin"), b"old")
        with pytest.raises(FileExistsError):
            store.rename(src, dst)
        assert _read(store, dst) == b"old"
        assert _read(store, src) == b"new"

    def test_rename_with_overwrite_replaces(self, store: BaseArtifactStore) -> None:
        src = _write(store, self.url(store, "a.bin"), b"new")
        dst = _write(store, self.url(store, "b.bin"), b"old")
        store.rename(src, dst, overwrite=True)
        assert _read(store, dst) == b"new"
        assert not store.exists(src)

    def test_rename_directory(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        store.rename(self.url(store, "sub"), self.url(store, "renamed"))
        assert not store.exists(self.url(store, "sub"))
        assert _read(store, self.url(store, "renamed", "deep", "d.txt")) == b"sub/deep/d.txt"
        assert store.listdir(self.url(store, "renamed")) == ["c.txt", "deep"]

    def test_rename_of_missing_source(self, store: BaseArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.rename(self.url(store, "nope"), self.url(store, "dst"))

    # -- listing -------------------------------------------------------------------------------

    def test_exists_and_isdir(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        assert store.exists(self.url(store, "a.txt"))
        assert store.exists(self.url(store, "sub"))
        assert not store.exists(self.url(store, "nope"))
        assert store.isdir(self.url(store, "sub"))
        assert not store.isdir(self.url(store, "a.txt"))
        assert not store.isdir(self.url(store, "nope"))

    def test_listdir_returns_sorted_names(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        assert store.listdir(store.path) == ["a.txt", "b.bin", "sub"]
        assert store.listdir(self.url(store, "sub")) == ["c.txt", "deep"]

    def test_listdir_errors(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        with pytest.raises(FileNotFoundError):
            store.listdir(self.url(store, "nope"))
        with pytest.raises(NotADirectoryError):
            store.listdir(self.url(store, "a.txt"))

    def test_glob_keeps_the_scheme_and_sorts(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        assert store.glob(self.url(store, "*.txt")) == [self.url(store, "a.txt")]
        assert store.glob(self.url(store, "**", "*.txt")) == [
            self.url(store, "a.txt"),
            self.url(store, "sub", "c.txt"),
            self.url(store, "sub", "deep", "d.txt"),
        ]
        assert store.glob(self.url(store, "sub", "?.txt")) == [self.url(store, "sub", "c.txt")]

    def test_walk_top_down(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        top = store.path.rstrip("/")
        assert list(store.walk(top)) == [
            (top, ["sub"], ["a.txt", "b.bin"]),
            (self.url(store, "sub"), ["deep"], ["c.txt"]),
            (self.url(store, "sub", "deep"), [], ["d.txt"]),
        ]

    def test_walk_bottom_up(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        top = store.path.rstrip("/")
        assert [d for d, _, _ in store.walk(top, topdown=False)] == [
            self.url(store, "sub", "deep"),
            self.url(store, "sub"),
            top,
        ]

    def test_walk_prunes_when_dirnames_is_edited(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        seen = []
        for dirpath, dirs, _ in store.walk(store.path):
            seen.append(dirpath)
            dirs.clear()
        assert seen == [store.path.rstrip("/")]

    def test_walk_of_missing_top_calls_onerror(self, store: BaseArtifactStore) -> None:
        errors: list[OSError] = []
        assert list(store.walk(self.url(store, "nope"), onerror=errors.append)) == []
        assert len(errors) == 1
        assert isinstance(errors[0], OSError)

    # -- directories ---------------------------------------------------------------------------

    def test_makedirs_is_idempotent(self, store: BaseArtifactStore) -> None:
        store.makedirs(self.url(store, "m", "n"))
        store.makedirs(self.url(store, "m", "n"))
        _write(store, self.url(store, "m", "n", "f.bin"))
        assert store.isdir(self.url(store, "m", "n"))

    def test_makedirs_over_a_file_fails(self, store: BaseArtifactStore) -> None:
        path = _write(store, self.url(store, "f.bin"))
        with pytest.raises(FileExistsError):
            store.makedirs(path)

    @requires("supports_empty_dirs")
    def test_empty_directories_exist(self, store: BaseArtifactStore) -> None:
        store.mkdir(self.url(store, "empty"))
        assert store.isdir(self.url(store, "empty"))
        assert store.listdir(self.url(store, "empty")) == []
        with pytest.raises(FileExistsError):
            store.mkdir(self.url(store, "empty"))

    @requires("supports_empty_dirs")
    def test_mkdir_needs_its_parent(self, store: BaseArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.mkdir(self.url(store, "no", "parent"))

    def test_mkdir_over_a_file_fails(self, store: BaseArtifactStore) -> None:
        path = _write(store, self.url(store, "f.bin"))
        with pytest.raises(FileExistsError):
            store.mkdir(path)

    # -- remove and rmtree ---------------------------------------------------------------------

    def test_remove(self, store: BaseArtifactStore) -> None:
        path = _write(store, self.url(store, "gone.bin"))
        store.remove(path)
        assert not store.exists(path)

    def test_remove_missing_raises_file_not_found(self, store: BaseArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.remove(self.url(store, "never.bin"))

    def test_a_missing_file_is_named_by_its_full_path(self, store: BaseArtifactStore) -> None:
        """A user reads "No such file or directory: s3://bucket/root/x", never a backend's inner ``bucket/root/x``."""
        _write(store, self.url(store, "dir", "there.bin"))
        missing = self.url(store, "dir", "missing.txt")
        for call in (lambda: store.open(missing, "rb"), lambda: store.stat(missing), lambda: store.remove(missing)):
            with pytest.raises(FileNotFoundError) as caught:
                call()
            assert missing in str(caught.value), f"{caught.value} does not name {missing}"

    def test_remove_of_a_directory_is_refused(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        with pytest.raises(IsADirectoryError):
            store.remove(self.url(store, "sub"))
        assert store.exists(self.url(store, "sub", "c.txt"))

    def test_rmtree(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        store.rmtree(self.url(store, "sub"))
        assert not store.exists(self.url(store, "sub"))
        assert not store.exists(self.url(store, "sub", "deep", "d.txt"))
        assert store.listdir(store.path) == ["a.txt", "b.bin"]

    def test_rmtree_of_the_root_needs_force(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        with pytest.raises(ProtectedPathError):
            store.rmtree(store.path)
        assert store.exists(self.url(store, "sub", "c.txt"))
        store.rmtree(store.path, force=True)
        assert not store.exists(self.url(store, "sub", "c.txt"))

    def test_rmtree_of_a_file_raises_not_a_directory(self, store: BaseArtifactStore) -> None:
        path = _write(store, self.url(store, "f.bin"))
        with pytest.raises(NotADirectoryError):
            store.rmtree(path)
        assert store.exists(path)

    def test_rmtree_of_missing_raises_file_not_found(self, store: BaseArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.rmtree(self.url(store, "nope"))

    # -- stat and size -------------------------------------------------------------------------

    def test_stat_of_a_file(self, store: BaseArtifactStore) -> None:
        before = time.time()
        path = _write(store, self.url(store, "s.bin"), b"12345")
        info = store.stat(path)
        assert isinstance(info, FileStat)
        assert (info.path, info.size, info.type) == (path, 5, "file")
        assert info.mtime is not None
        assert before - 300 < info.mtime < time.time() + 300  # clocks of emulators may drift a little

    def test_stat_of_a_directory(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        info = store.stat(self.url(store, "sub"))
        assert (info.path, info.type, info.size) == (self.url(store, "sub"), "directory", 0)

    def test_stat_of_missing_raises_file_not_found(self, store: BaseArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.stat(self.url(store, "nope"))

    def test_size_of_file_and_directory(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        assert store.size(self.url(store, "a.txt")) == len(b"a.txt")
        assert store.size(self.url(store, "sub")) == len(b"sub/c.txt") + len(b"sub/deep/d.txt")
        assert store.size(store.path) == sum(len(n) for n in (b"a.txt", b"b.bin", b"sub/c.txt", b"sub/deep/d.txt"))

    # -- the sandbox ---------------------------------------------------------------------------

    def test_dotdot_cannot_leave_the_root(self, store: BaseArtifactStore) -> None:
        for path in ("a/../../x", "../x", self.url(store, "..", "x")):
            with pytest.raises(OutsideStoreError):
                store.open(path, "wb")
        with pytest.raises(OutsideStoreError):
            store.exists("../../../etc/passwd")

    def test_a_sibling_with_the_root_as_prefix_is_outside(self, store: BaseArtifactStore) -> None:
        sibling = store.path.rstrip("/") + "2/file.bin"
        with pytest.raises(OutsideStoreError, match="outside"):
            store.open(sibling, "wb")
        with pytest.raises(OutsideStoreError):
            store.copyfile(_write(store, self.url(store, "a.bin")), sibling)

    def test_dotdot_that_stays_inside_is_fine(self, store: BaseArtifactStore) -> None:
        _write(store, self.url(store, "sub", "..", "back.bin"), b"ok")
        assert _read(store, self.url(store, "back.bin")) == b"ok"

    def test_glob_never_returns_outside_paths(self, store: BaseArtifactStore) -> None:
        self.tree(store)
        assert all(p.startswith(store.path.rstrip("/") + "/") for p in store.glob(self.url(store, "**")))

    def test_a_name_holding_a_scheme_never_leaves_the_root(self, store: BaseArtifactStore) -> None:
        """``a://b`` below a root is a plain name or refused, never a URL of its own: ``..`` may not climb out."""
        for path in ("a://../../x", "a://../../../etc/passwd", "x/FILE://../../../y"):
            with pytest.raises(OutsideStoreError):
                store.open(path, "wb")
            with pytest.raises(OutsideStoreError):
                store.exists(path)
        try:
            _write(store, self.url(store, "a:", "b"), b"plain")
        except OutsideStoreError:
            return  # refusing such a name is allowed too
        assert _read(store, self.url(store, "a:", "b")) == b"plain"

    # -- links that leave the root (stores whose paths can hold symlinks) ------------------------

    def _outside_links(self, store: BaseArtifactStore, tmp_path: Any) -> Any:
        """``lnk_dir`` (a folder) and ``lnk_file`` in the root and in ``sub``, pointing outside the root."""
        import os

        outside = tmp_path / "outside-the-root"
        (outside / "deep").mkdir(parents=True)
        (outside / "deep" / "secret.txt").write_bytes(b"secret")
        self.tree(store)
        for folder in (store.path, self.url(store, "sub")):
            os.symlink(outside, os.path.join(folder, "lnk_dir"))
            os.symlink(outside / "deep" / "secret.txt", os.path.join(folder, "lnk_file"))
        return outside

    @requires("supports_symlinks")
    def test_glob_neither_follows_nor_lists_a_link_that_leaves(self, store: BaseArtifactStore, tmp_path: Any) -> None:
        self._outside_links(store, tmp_path)
        for pattern in ("**", "*", "*/*", "?nk_dir/*", "lnk_*", "**/secret.txt", "**/lnk_dir/**", "sub/*"):
            found = store.glob(self.url(store, pattern))
            assert not [p for p in found if "lnk_" in p or "secret" in p], pattern
        assert self.url(store, "sub", "c.txt") in store.glob(self.url(store, "**"))

    @requires("supports_symlinks")
    def test_walk_size_and_listing_skip_a_link_that_leaves(self, store: BaseArtifactStore, tmp_path: Any) -> None:
        self._outside_links(store, tmp_path)
        walked = [(top, dirs, files) for top, dirs, files in store.walk(store.path)]
        assert not [entry for _, dirs, files in walked for entry in dirs + files if "lnk_" in entry]
        assert store.size(store.path) == sum(len(n) for n in (b"a.txt", b"b.bin", b"sub/c.txt", b"sub/deep/d.txt"))
        assert not [o.path for o in store.list_objects(store.path) if "lnk_" in o.path]
        for path in ("lnk_file", "lnk_dir/deep/secret.txt", "sub/lnk_file"):
            with pytest.raises(OutsideStoreError):
                store.copyfile(self.url(store, path), self.url(store, "copied.txt"))
            with pytest.raises(OutsideStoreError):
                store.rename(self.url(store, path), self.url(store, "moved.txt"))

    @requires("supports_symlinks")
    def test_rmtree_never_deletes_through_a_link(self, store: BaseArtifactStore, tmp_path: Any) -> None:
        outside = self._outside_links(store, tmp_path)
        store.rmtree(self.url(store, "sub"))
        assert not store.exists(self.url(store, "sub"))
        assert (outside / "deep" / "secret.txt").read_bytes() == b"secret"
        with pytest.raises(OutsideStoreError):
            store.rmtree(self.url(store, "lnk_dir", "deep"))
        assert (outside / "deep" / "secret.txt").read_bytes() == b"secret"

    # -- bulk methods ----------------------------------------------------------------------------

    def test_list_objects_gives_every_file_below_sorted(self, store: BaseArtifactStore) -> None:
        for path, data in {"d/b.txt": b"bb", "d/a.txt": b"a", "d/sub/c.bin": b"ccc", "other.txt": b"o"}.items():
            _write(store, path, data)
        store.makedirs("d/empty")
        found = store.list_objects("d")
        assert [o.path for o in found] == [self.url(store, p) for p in ("d/a.txt", "d/b.txt", "d/sub/c.bin")]
        assert [o.size for o in found] == [1, 2, 3]
        assert all(o.mtime is None or o.mtime > 0 for o in found)

    def test_iter_objects_streams_what_list_objects_gives(self, store: BaseArtifactStore) -> None:
        for path in ("d/b.txt", "d/a.txt", "d/sub/c.bin", "d/sub/deeper/e", "other.txt"):
            _write(store, path, path.encode())
        listed = store.iter_objects("d")
        assert not isinstance(listed, list)  # an iterator: transfers copy while it is read
        assert sorted(listed, key=lambda o: o.path) == store.list_objects("d")
        assert list(store.iter_objects("d/a.txt")) == store.list_objects("d/a.txt")

    def test_a_listing_read_in_pages_of_two_gives_every_file(
        self, store: BaseArtifactStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A flavor whose service lists in pages (``listing_page_size``) joins them into one listing."""
        names = ("p/a", "p/b", "p/c/d", "p/c/e", "p/f")
        for path in names:
            _write(store, path, b"x")
        monkeypatch.setattr(type(store), "listing_page_size", 2, raising=False)
        assert [o.path for o in store.list_objects("p")] == [self.url(store, p) for p in names]

    def test_list_objects_of_a_file_is_the_file(self, store: BaseArtifactStore) -> None:
        _write(store, "f.txt", b"12345")
        (only,) = store.list_objects("f.txt")
        assert (only.path, only.size) == (store.stat("f.txt").path, 5)

    def test_list_objects_of_missing_raises(self, store: BaseArtifactStore) -> None:
        with pytest.raises(FileNotFoundError):
            store.list_objects("missing")

    def test_list_objects_of_the_empty_root(self, store: BaseArtifactStore) -> None:
        assert store.list_objects("") == []

    def test_list_objects_stays_inside(self, store: BaseArtifactStore) -> None:
        with pytest.raises(OutsideStoreError):
            store.list_objects("../elsewhere")

    def test_bulk_delete_removes_every_file_and_skips_missing_ones(self, store: BaseArtifactStore) -> None:
        names = [f"d/f{i}" for i in range(25)]
        for name in names:
            _write(store, name, b"x")
        _write(store, "keep", b"k")
        assert store.bulk_delete([*names, "d/never-was"]) == {}
        assert store.list_objects("") == store.list_objects("keep")

    def test_bulk_delete_of_a_name_with_glob_characters_deletes_only_it(self, store: BaseArtifactStore) -> None:
        for name in ("file1", "file2", "file[12]"):
            _write(store, name, b"x")
        assert store.bulk_delete(["file[12]"]) == {}
        assert sorted(store.listdir("")) == ["file1", "file2"]

    def test_bulk_delete_reports_a_path_outside_and_deletes_the_rest(self, store: BaseArtifactStore) -> None:
        _write(store, "a", b"x")
        failures = store.bulk_delete(["a", "../outside"])
        assert list(failures) == ["../outside"]
        assert isinstance(failures["../outside"], OutsideStoreError)
        assert not store.exists("a")
