"""FsspecArtifactStore over fsspec's memory filesystem: the shared base passes the whole conformance kit."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import fsspec
import pytest
from memory_store import MemoryConfig, MemoryStore, fresh_root

from cargohold import BaseArtifactStoreConfig, FsspecArtifactStore, OutsideStoreError
from cargohold_testkit import ArtifactStoreTests


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(MemoryConfig(path=f"{fresh_root('bucket')}/root"))


class TestMemoryConformance(ArtifactStoreTests):
    def test_a_tree_with_glob_characters_in_its_names_is_removed_whole(self, store: MemoryStore) -> None:
        for name in ("d/file1", "d/file[12]", "d/*"):
            with store.open(name, "wb") as f:
                f.write(b"x")
        store.rmtree("d")
        assert store.listdir("") == []


def test_paths_keep_the_scheme(store: MemoryStore) -> None:
    with store.open("a/b.txt", "w") as f:
        f.write("x")
    assert store.stat("a/b.txt").path == store.path + "/a/b.txt"
    assert store.glob("**/*.txt") == [store.path + "/a/b.txt"]


def test_another_scheme_is_outside(store: MemoryStore) -> None:
    with pytest.raises(OutsideStoreError):
        store.exists("s3://" + store.path.removeprefix("memory://"))


def test_constructing_touches_no_filesystem() -> None:
    class Exploding(MemoryStore):
        def _make_filesystem(self) -> fsspec.AbstractFileSystem:
            raise AssertionError("built too early")

    built = Exploding(MemoryConfig(path="memory://b/r"))
    assert built.path == "memory://b/r"


class LocalPathConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({""})


class LocalFsspecStore(FsspecArtifactStore):
    """A flavor over fsspec's LocalFileSystem whose paths carry no scheme, as a plain folder's do."""

    config: LocalPathConfig
    write_staging = "rename"

    def _make_filesystem(self) -> fsspec.AbstractFileSystem:
        return fsspec.filesystem("file", auto_mkdir=True)


def test_plain_absolute_paths_are_absolute_not_under_the_root(tmp_path: Path) -> None:
    local = LocalFsspecStore(LocalPathConfig(path=str(tmp_path / "root")))
    with local.open(str(tmp_path / "root" / "a.txt"), "w") as f:
        f.write("x")
    assert (tmp_path / "root" / "a.txt").read_text() == "x"
    assert local.stat("a.txt").path == str(tmp_path / "root" / "a.txt")
    assert local.glob(str(tmp_path / "root" / "*.txt")) == [str(tmp_path / "root" / "a.txt")]
    with pytest.raises(OutsideStoreError):
        local.exists(str(tmp_path / "elsewhere"))
