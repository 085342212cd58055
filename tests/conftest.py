"""Shared fixtures: a private CARGOHOLD_HOME and cache for every test, so no test touches the user's files."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def cargohold_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("cargohold-home")
    monkeypatch.setenv("CARGOHOLD_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def cargohold_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.mktemp("cargohold-cache")
    monkeypatch.setenv("CARGOHOLD_CACHE_DIR", str(cache))
    return cache
