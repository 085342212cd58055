"""Failures arrive fast and named: a dead or hung endpoint, no credentials, and an upload cut off by the server."""

from __future__ import annotations

import base64
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from cargohold.client import Client
from cargohold_azure.flavor import AzureArtifactStoreFlavor
from cargohold_azure.store import AzureArtifactStore
from cargohold_testkit import StoreFailureTests
from cargohold_testkit.servers import (
    AZURITE_ACCOUNT_KEY,
    EmulatorServer,
    HungServer,
    azurite_connection_string,
    start_azure,
)

#: Bigger than adlfs's 50 MiB block, so that a block is staged on the service before the upload is cut off.
UPLOAD = 51 * 2**20


def build(**values: object) -> AzureArtifactStore:
    store = AzureArtifactStoreFlavor().build({"path": "az://box/root", **values})
    assert isinstance(store, AzureArtifactStore)
    return store


class TestAzureFailures(StoreFailureTests):
    @pytest.fixture
    def missing_bucket_store(self, connection_string: str) -> AzureArtifactStore:
        return build(path=f"az://missing-{uuid.uuid4().hex[:10]}/root", connection_string=connection_string)

    @pytest.fixture
    def dead_endpoint_store(self, closed_port: int) -> AzureArtifactStore:
        return build(connection_string=azurite_connection_string(f"http://127.0.0.1:{closed_port}"), retries=0)

    @pytest.fixture
    def refused_login_store(self, azurite: EmulatorServer, container: str) -> AzureArtifactStore:
        wrong = base64.b64encode(b"not the account's key").decode()
        connection = azurite_connection_string(azurite.endpoint).replace(AZURITE_ACCOUNT_KEY, wrong)
        return build(path=f"az://{container}/root", connection_string=connection, retries=0)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def hung_endpoint() -> Iterator[str]:
    """A server that accepts connections and never answers a byte."""
    with HungServer() as hung:
        yield hung.endpoint


def test_building_a_store_makes_no_connection(closed_port: int) -> None:
    store = build(connection_string=azurite_connection_string(f"http://127.0.0.1:{closed_port}"))
    assert store.path == "az://box/root"
    assert store._filesystem is None


def test_a_dead_endpoint_fails_within_seconds_with_the_defaults(closed_port: int) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    store = build(connection_string=azurite_connection_string(endpoint))
    started = time.monotonic()
    with pytest.raises(ConnectionError) as failed:
        store.exists("x.bin")
    assert time.monotonic() - started < 10  # two retries, 1.5 s and 2.25 s apart; the SDK alone takes ~80 s
    assert f"{endpoint}/devstoreaccount1" in str(failed.value)
    assert AZURITE_ACCOUNT_KEY not in str(failed.value)


def test_a_hung_endpoint_times_out(hung_endpoint: str) -> None:
    store = build(connection_string=azurite_connection_string(hung_endpoint), read_timeout=1, retries=0)
    for attempt in (lambda: store.listdir(""), lambda: store.open("x.bin", "wb").close()):
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=f"{hung_endpoint}/devstoreaccount1 did not answer in time"):
            attempt()
        assert time.monotonic() - started < 5  # the SDK alone waits for minutes


def test_no_credentials_in_the_environment_is_one_sentence_naming_it_on_first_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME"):
        monkeypatch.delenv(name, raising=False)
    store = build(credentials="environment")  # valid: adlfs looks in the environment
    with pytest.raises(PermissionError) as caught:
        store.exists("x")
    assert "cannot log in with credentials from the environment's default chain (AZURE_STORAGE_*" in str(caught.value)
    assert "set connection_string, or account_name with a credential" in str(caught.value)


def test_the_environment_source_is_the_default_chain(
    monkeypatch: pytest.MonkeyPatch, connection_string: str, container: str
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection_string)
    store = build(path=f"az://{container}/from-env", credentials="environment")
    with store.open("x.bin", "wb") as f:
        f.write(b"from the environment")
    assert store.listdir("") == ["x.bin"]


def test_a_login_the_service_refuses_names_the_source_and_never_the_key(
    monkeypatch: pytest.MonkeyPatch, azurite: EmulatorServer, container: str
) -> None:
    wrong = base64.b64encode(b"not the account's key").decode()
    connection = azurite_connection_string(azurite.endpoint).replace(AZURITE_ACCOUNT_KEY, wrong)
    from_config = build(path=f"az://{container}/root", connection_string=connection, retries=0)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection)
    from_environment = build(path=f"az://{container}/root", credentials="environment", retries=0)
    for store, source in [
        (from_config, "credentials from the config's connection_string"),
        (from_environment, "credentials from the environment's default chain (AZURE_STORAGE_*"),
    ]:
        with pytest.raises(PermissionError) as caught:
            store.listdir("")
        assert source in str(caught.value)
        assert wrong not in str(caught.value)
        assert AZURITE_ACCOUNT_KEY not in str(caught.value)


def test_an_upload_cut_off_by_the_server_leaves_nothing_under_its_name(tmp_path: Path) -> None:
    server = start_azure(tmp_path)
    try:
        connection = azurite_connection_string(server.endpoint)
        with BlobServiceClient.from_connection_string(connection) as service:
            service.create_container("box")
        store = build(connection_string=connection, connect_timeout=2, read_timeout=2, retries=1)
        with store.open("kept.bin", "wb") as f:
            f.write(b"committed before the cut")
        upload = store.open("big.bin", "wb")
        upload.write(os.urandom(UPLOAD))  # a full block: staged on the service now, committed only on close
        with BlobServiceClient.from_connection_string(connection) as service:
            staged = service.get_blob_client("box", "root/big.bin").get_block_list("uncommitted")[1]
        assert staged, "the upload should be under way, with blocks on the service"
        server.stop()
        started = time.monotonic()
        with pytest.raises(ConnectionError, match=server.endpoint):
            upload.close()
        assert time.monotonic() - started < 10
    finally:
        server.stop()
    # The same data folder, served again: the committed blob is there, the cut-off one is not.
    server = start_azure(tmp_path)
    try:
        store = build(connection_string=azurite_connection_string(server.endpoint))
        assert store.listdir("") == ["kept.bin"]
        assert not store.exists("big.bin")
    finally:
        server.stop()


def test_a_proxy_the_environment_names_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch, connection_string: str, container: str, hung_endpoint: str
) -> None:
    """A store built where the environment names no proxy never looks for one again; one built where it does uses
    it (a hung one here, so the request times out)."""
    path = f"az://{container}/proxied"
    assert not build(path=path, connection_string=connection_string).exists("x")
    monkeypatch.setenv("HTTP_PROXY", hung_endpoint)
    with pytest.raises(TimeoutError):
        build(path=path, connection_string=connection_string, read_timeout=1, retries=0).exists("x")


def test_a_refused_login_of_a_registered_store_names_the_secret_it_came_from(
    azurite: EmulatorServer, container: str
) -> None:
    wrong = base64.b64encode(b"not the account's key").decode()
    connection = azurite_connection_string(azurite.endpoint).replace(AZURITE_ACCOUNT_KEY, wrong)
    client = Client()
    client.create_secret("azure-wrong", {"connection_string": connection})
    config = {"path": f"az://{container}/root", "connection_string": "{{azure-wrong.connection_string}}", "retries": 0}
    client.register_component("artifact_store", "wrong-azure", "azure", config)
    with pytest.raises(PermissionError) as caught:
        client.get_artifact_store("wrong-azure").listdir("")
    assert "credentials from the config's connection_string (kept in secret 'azure-wrong')" in str(caught.value)
    assert wrong not in str(caught.value)
