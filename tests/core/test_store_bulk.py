"""The bulk store methods over fsspec's memory filesystem take one ``find`` to list and one ``rm`` to delete."""

from __future__ import annotations

import fsspec
import pytest
from memory_store import MemoryConfig, MemoryStore, fresh_root


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(MemoryConfig(path=f"{fresh_root('bulk')}/root"))


def test_list_objects_is_one_find(store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(10):
        with store.open(f"d/{i}/f", "wb") as f:
            f.write(b"x")
    calls = []
    find = store.filesystem.find
    monkeypatch.setattr(store.filesystem, "find", lambda *a, **k: calls.append(a) or find(*a, **k))
    assert len(store.list_objects("d")) == 10
    assert len(calls) == 1


def test_bulk_delete_is_one_rm_of_a_list(store: MemoryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(10):
        with store.open(f"f{i}", "wb") as f:
            f.write(b"x")
    calls = []
    rm = store.filesystem.rm
    monkeypatch.setattr(store.filesystem, "rm", lambda paths, *a, **k: calls.append(paths) or rm(paths, *a, **k))
    assert store.bulk_delete([f"f{i}" for i in range(10)]) == {}
    assert len(calls) == 1
    assert len(calls[0]) == 10


def test_the_etag_is_reported_without_quotes() -> None:
    class Tagged(MemoryStore):
        def _make_filesystem(self) -> fsspec.AbstractFileSystem:
            fs = fsspec.filesystem("memory")
            info = fs.info
            fs.info = lambda path, **kw: {**info(path, **kw), "ETag": '"abc"'}
            return fs

    store = Tagged(MemoryConfig(path=f"{fresh_root('bulk')}/root"))
    with store.open("f", "wb") as f:
        f.write(b"x")
    assert store.list_objects("f")[0].etag == "abc"
