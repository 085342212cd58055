"""Artifact stores: the interface, its config and flavor, and the fsspec-backed implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cargohold.artifact_stores.base import (
    STAGING_SUFFIX,
    BaseArtifactStore,
    BaseArtifactStoreConfig,
    BaseArtifactStoreFlavor,
    EndpointUrl,
    FileStat,
    ObjectInfo,
    RenamedField,
    WalkItem,
)

if TYPE_CHECKING:
    from cargohold.artifact_stores.fsspec_store import FsspecArtifactStore

__all__ = [
    "STAGING_SUFFIX",
    "BaseArtifactStore",
    "BaseArtifactStoreConfig",
    "BaseArtifactStoreFlavor",
    "EndpointUrl",
    "FileStat",
    "FsspecArtifactStore",
    "ObjectInfo",
    "RenamedField",
    "WalkItem",
]


def __getattr__(name: str) -> Any:
    """Import the fsspec-backed store only when asked for, so listing flavors never imports fsspec."""
    if name == "FsspecArtifactStore":
        from cargohold.artifact_stores.fsspec_store import FsspecArtifactStore

        return FsspecArtifactStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
