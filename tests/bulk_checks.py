"""Checks of the bulk store methods (``list_objects``, ``bulk_delete``) that every store must pass.

A test module subclasses :class:`BulkStoreTests` and gives it a ``store`` fixture yielding a fresh,
empty store; the memory-backed fsspec store and the local store both run it.
"""

from __future__ import annotations

import pytest

from cargohold import BaseArtifactStore, OutsideStoreError


def _write(store: BaseArtifactStore, path: str, data: bytes) -> None:
    with store.open(path, "wb") as f:
        f.write(data)


class BulkStoreTests:
    def test_list_objects_gives_every_file_below_sorted(self, store: BaseArtifactStore) -> None:
        for path, data in {"d/b.txt": b"bb", "d/a.txt": b"a", "d/sub/c.bin": b"ccc", "other.txt": b"o"}.items():
            _write(store, path, data)
        store.makedirs("d/empty")
        found = store.list_objects("d")
        root = store.path.rstrip("/")
        assert [o.path for o in found] == [f"{root}/d/a.txt", f"{root}/d/b.txt", f"{root}/d/sub/c.bin"]
        assert [o.size for o in found] == [1, 2, 3]
        assert all(o.mtime is None or o.mtime > 0 for o in found)

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
