"""fsspec's own abstract suite, unchanged, over ``cargohold://`` backed by a registered local store.

The same suite runs over fsspec's raw LocalFileSystem here too, so the pass counts compare
in one run; the target is that every test passing on the raw filesystem passes through cargohold.
"""

from __future__ import annotations

from pathlib import Path

import fsspec
import fsspec.tests.abstract
import pytest
from fsspec.implementations.local import LocalFileSystem
from fsspec.tests.abstract import AbstractFixtures

from cargohold.client import Client

#: fsspec's suites that the installed fsspec has: the open and pipe ones came in 2024.12, core allows 2024.6.
SUITES = [
    suite
    for name in ("Copy", "Get", "Put", "Open", "Pipe")
    if (suite := getattr(fsspec.tests.abstract, f"Abstract{name}Tests", None))
]


class CargoholdLocalFixtures(AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture
    def fs(self, tmp_path: Path) -> fsspec.AbstractFileSystem:
        Client().register_component("artifact_store", "suite", "local", {"path": str(tmp_path / "store")})
        return fsspec.filesystem("cargohold")

    @pytest.fixture
    def fs_path(self) -> str:
        return "suite/work"


class RawLocalFixtures(AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture
    def fs(self) -> fsspec.AbstractFileSystem:
        return LocalFileSystem(auto_mkdir=True)

    @pytest.fixture
    def fs_path(self, tmp_path: Path) -> str:
        return str(tmp_path / "raw")


class TestCargoholdOverLocal(CargoholdLocalFixtures, *SUITES):
    pass


class TestRawLocal(RawLocalFixtures, *SUITES):
    pass
