"""Shared fixtures: a private CARGOHOLD_HOME for every test, so no test touches the user's registry."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def cargohold_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("cargohold-home")
    monkeypatch.setenv("CARGOHOLD_HOME", str(home))
    return home
