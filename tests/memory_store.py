"""The memory-backed FsspecArtifactStore the core tests share: the shared base with nothing but a filesystem."""

from __future__ import annotations

import itertools
from typing import ClassVar

import fsspec

from cargohold import BaseArtifactStoreConfig, FsspecArtifactStore

_roots = itertools.count()


class MemoryConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"memory://"})


class MemoryStore(FsspecArtifactStore):
    config: MemoryConfig
    write_staging = "rename"  # the memory filesystem shows a file as soon as it is opened

    def _make_filesystem(self) -> fsspec.AbstractFileSystem:
        return fsspec.filesystem("memory")


def fresh_root(stem: str = "bucket") -> str:
    """A memory:// root no other test uses (the memory filesystem is one global dict)."""
    return f"memory://{stem}{next(_roots)}"
