"""Shared fixtures: a private CARGOHOLD_HOME and cache for every test, so no test touches the user's files."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from postgres_server import PostgresServer


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


@pytest.fixture(autouse=True, scope="session")
def cargohold_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the key that seals secrets is kept: never the user's own config folder. One for the session, as a
    user has one, since registries that fixtures share across tests hold values sealed with it."""
    config = tmp_path_factory.mktemp("cargohold-config")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARGOHOLD_CONFIG_DIR", str(config))
        patch.delenv("CARGOHOLD_SECRETS_KEY", raising=False)
        yield config


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Everything any logger says at DEBUG while the test runs, formatted as a handler would write it."""
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield captured
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session (Debian's binaries, on loopback), started only when a test asks."""
    from postgres_server import postgres

    with postgres() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once on the embedded SQLite registry and once on a fresh PostgreSQL database, which every
    process the test starts uses too (through CARGOHOLD_REGISTRY_URL)."""
    if request.param == "postgresql":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        monkeypatch.setenv("CARGOHOLD_REGISTRY_URL", server.new_database())
    else:
        monkeypatch.delenv("CARGOHOLD_REGISTRY_URL", raising=False)
    return str(request.param)
