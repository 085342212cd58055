"""FsspecArtifactStore over fsspec's memory filesystem: the shared base passes the whole conformance kit."""

from __future__ import annotations

import itertools
from typing import ClassVar

import fsspec
import pytest

from cargohold import BaseArtifactStoreConfig, FsspecArtifactStore, OutsideStoreError
from cargohold_testkit import ArtifactStoreTests

_roots = itertools.count()


class MemoryConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"memory://"})


class MemoryStore(FsspecArtifactStore):
    config: MemoryConfig
    write_staging = "rename"  # the memory filesystem shows a file as soon as it is opened

    def _make_filesystem(self) -> fsspec.AbstractFileSystem:
        return fsspec.filesystem("memory")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(MemoryConfig(path=f"memory://bucket{next(_roots)}/root"))


class TestMemoryConformance(ArtifactStoreTests):
    pass


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
