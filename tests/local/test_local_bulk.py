"""The bulk store methods on the local store, which uses the interface's defaults (walk and stat, remove)."""

from __future__ import annotations

from pathlib import Path

import pytest
from bulk_checks import BulkStoreTests

from cargohold_local.flavor import LocalArtifactStoreFlavor
from cargohold_local.store import LocalArtifactStore


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    built = LocalArtifactStoreFlavor().build({"path": str(tmp_path / "root")}, name="t")
    assert isinstance(built, LocalArtifactStore)
    return built


class TestLocalBulk(BulkStoreTests):
    pass
