"""An azure store registered before connect_timeout replaced connection_timeout still loads and works against
Azurite, and says which field to use instead."""

from __future__ import annotations

import pytest

from cargohold import DeprecatedFieldWarning
from cargohold.client import Client
from cargohold_azure.store import AzureArtifactStore


def test_a_store_registered_with_connection_timeout_loads_works_and_says_it_is_deprecated(
    container: str, connection_string: str
) -> None:
    client = Client()
    config = {"path": f"az://{container}/old-fields", "connection_string": connection_string}
    record = client.register_component("artifact_store", "old", "azure", config)
    row = {k: v for k, v in record.config.items() if k != "connect_timeout"}  # as the code before the rename wrote it
    with client.registry.write() as tx:
        tx.set_component_config(record.id, {**row, "connection_timeout": 3.0})
    message = r"'connection_timeout' is deprecated .*: it is read as connect_timeout = 3.0\. Use 'connect_timeout'"
    with pytest.warns(DeprecatedFieldWarning, match=message):
        store = client.get_artifact_store("old")
    assert isinstance(store, AzureArtifactStore)
    assert store.config.connect_timeout == 3.0
    assert store.filesystem._client_options["connection_timeout"] == 3.0  # what the SDK client is built with
    with store.open("x.bin", "wb") as f:
        f.write(b"still works")
    with store.open("x.bin", "rb") as f:
        assert f.read() == b"still works"
