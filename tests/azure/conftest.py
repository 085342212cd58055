"""Azurite for the session, containers in it, and a fresh store (a folder of its own) for each test."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from cargohold_azure.flavor import AzureArtifactStoreFlavor
from cargohold_azure.store import AzureArtifactStore
from cargohold_testkit.servers import EmulatorServer, azurite_connection_string, start_azure

_names = itertools.count()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """Azurite on a free port; if it cannot start, every test using it errors with the launcher's reason."""
    server = start_azure(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def connection_string(azurite: EmulatorServer) -> str:
    return azurite_connection_string(azurite.endpoint)


@pytest.fixture(scope="session")
def new_container(connection_string: str) -> Callable[[], str]:
    """Create a container with the SDK itself, as an operator does before registering a store."""

    def create() -> str:
        name = f"box{next(_names)}"
        with BlobServiceClient.from_connection_string(connection_string) as service:
            service.create_container(name)
        return name

    return create


@pytest.fixture(scope="session")
def container(new_container: Callable[[], str]) -> str:
    return new_container()


@pytest.fixture
def make_store(container: str, connection_string: str) -> Callable[..., AzureArtifactStore]:
    """A store in a folder no other test uses; keyword arguments override the config."""

    def make(**config: Any) -> AzureArtifactStore:
        values = {"path": f"az://{container}/t{next(_names)}", "connection_string": connection_string, **config}
        built = AzureArtifactStoreFlavor().build(values, name="azure-test")
        assert isinstance(built, AzureArtifactStore)
        return built

    return make


@pytest.fixture
def store(make_store: Callable[..., AzureArtifactStore]) -> AzureArtifactStore:
    return make_store()
