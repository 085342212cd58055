"""fileio and the active stack in one process: what the process changes in the registry, fileio uses next."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cargohold import fileio
from cargohold.client import Client
from cargohold_local.flavor import LocalArtifactStoreConfig
from cargohold_local.store import LocalArtifactStore


@pytest.fixture
def client(tmp_path: Path) -> Client:
    """A registry with two local stores, each alone in a stack of its own name."""
    client = Client()
    for name in ("first", "second"):
        client.register_component("artifact_store", name, "local", {"path": str(tmp_path / name)})
        client.register_stack(name, {"artifact_store": name})
    return client


def _mounted() -> list[tuple[str, str]]:
    return [(store.name, store.path) for store in fileio.mounted()]


def test_activating_a_stack_moves_fileio_to_its_store(client: Client, tmp_path: Path) -> None:
    client.activate_stack("first")
    with fileio.open(str(tmp_path / "first" / "a.txt"), "w") as f:
        f.write("a")
    assert _mounted() == [("first", str(tmp_path / "first"))]
    client.activate_stack("second")
    assert _mounted() == [("second", str(tmp_path / "second"))]
    assert fileio.store_for(str(tmp_path / "second" / "b.txt")).name == "second"


def test_changing_the_active_store_is_used_from_the_next_call(client: Client, tmp_path: Path) -> None:
    client.activate_stack("first")
    assert _mounted() == [("first", str(tmp_path / "first"))]
    client.update_component("artifact_store", "first", {"path": str(tmp_path / "moved")})
    assert _mounted() == [("first", str(tmp_path / "moved"))]


@pytest.fixture
def by_hand(tmp_path: Path) -> Iterator[LocalArtifactStore]:
    store = LocalArtifactStore(LocalArtifactStoreConfig(path=str(tmp_path / "first")), name="by-hand")
    fileio.mount(store)
    yield store
    fileio.unmount(store)


def test_a_store_mounted_by_hand_keeps_its_root_over_the_active_stack(
    client: Client, by_hand: LocalArtifactStore, tmp_path: Path
) -> None:
    client.activate_stack("first")  # the same root as the store mounted by hand
    assert fileio.store_for(str(tmp_path / "first" / "a.txt")) is by_hand
    client.activate_stack("second")
    assert sorted(_mounted()) == [("by-hand", str(tmp_path / "first")), ("second", str(tmp_path / "second"))]
