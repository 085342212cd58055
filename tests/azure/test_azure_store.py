"""The azure flavor against Azurite: the kit through the store and through fileio, then what is Azure's own."""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobServiceClient, ContainerSasPermissions, generate_container_sas

from cargohold import fileio
from cargohold.artifact_stores import WalkItem
from cargohold_azure.flavor import AzureArtifactStoreFlavor
from cargohold_azure.store import AzureArtifactStore
from cargohold_testkit import ArtifactStoreTests, ArtifactStoreTestsThroughFileio, FlavorTests, UploadTests
from cargohold_testkit.servers import AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME, EmulatorServer
from cargohold_testkit.uploads import PART


class TestAzureConformance(ArtifactStoreTests):
    pass


class TestAzureConformanceThroughFileio(ArtifactStoreTestsThroughFileio):
    pass


class TestAzureFlavor(FlavorTests):
    @pytest.fixture
    def flavor_class(self) -> type[AzureArtifactStoreFlavor]:
        return AzureArtifactStoreFlavor

    @pytest.fixture
    def entry_point(self) -> str:
        return "azure"

    @pytest.fixture(
        params=[
            {"connection_string": "DefaultEndpointsProtocol=https;AccountName=kitacct;AccountKey=a2l0LWNzLWtleQ=="},
            {"account_name": "kitacct", "account_key": "a2l0LWFjY291bnQta2V5"},
            {"account_name": "kitacct", "sas_token": "sv=2024-08-04&sp=r&sig=kit-sas-signature"},
            {"account_name": "kitacct", "client_id": "kit-app", "client_secret": "kit-client-secret", "tenant_id": "t"},
        ],
        ids=["connection_string", "account_key", "sas_token", "service_principal"],
    )
    def config_values(self, request: pytest.FixtureRequest) -> dict[str, str]:
        return {"path": "az://kit-container/root", **request.param}


def _write(store: Any, path: str, data: bytes) -> None:
    with store.open(path, "wb") as f:
        f.write(data)


def _read(store: Any, path: str) -> bytes:
    with store.open(path, "rb") as f:
        data: bytes = f.read()
    return data


def test_az_and_abfs_name_the_same_place(store: AzureArtifactStore) -> None:
    _write(store, "x/y.bin", b"same")
    abfs = "abfs://" + store.path.removeprefix("az://")
    assert _read(store, abfs + "/x/y.bin") == b"same"
    assert store.glob(abfs + "/**/*.bin") == [store.path + "/x/y.bin"]  # answers keep the root's scheme


def test_a_blob_written_is_one_the_sdk_reads(store: AzureArtifactStore, connection_string: str) -> None:
    _write(store, "model/weights.bin", b"\x00weights")
    container, _, folder = store.path.removeprefix("az://").partition("/")
    with BlobServiceClient.from_connection_string(connection_string) as service:
        blob = service.get_blob_client(container, f"{folder}/model/weights.bin")
        assert blob.download_blob().readall() == b"\x00weights"


def test_a_copy_is_done_on_the_service_when_it_returns(store: AzureArtifactStore, connection_string: str) -> None:
    _write(store, "a.bin", b"a" * 100_000)
    store.copyfile("a.bin", "b.bin")
    container, _, folder = store.path.removeprefix("az://").partition("/")
    with BlobServiceClient.from_connection_string(connection_string) as service:
        copied = service.get_blob_client(container, f"{folder}/b.bin").get_blob_properties()
    assert copied.copy.status == "success"  # a server-side Copy Blob, finished before copyfile returned
    assert copied.size == 100_000


def test_two_stores_with_different_credentials_side_by_side(
    azurite: EmulatorServer, connection_string: str, new_container: Callable[[], str]
) -> None:
    keyed, signed = new_container(), new_container()
    sas = generate_container_sas(
        AZURITE_ACCOUNT_NAME,
        signed,
        account_key=AZURITE_ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, write=True, create=True, delete=True, list=True),
        expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    )
    sas_connection = f"BlobEndpoint={azurite.endpoint}/{AZURITE_ACCOUNT_NAME};SharedAccessSignature={sas}"
    flavor = AzureArtifactStoreFlavor()
    by_key = flavor.build({"path": f"az://{keyed}/data", "connection_string": connection_string})
    by_sas = flavor.build({"path": f"az://{signed}/data", "connection_string": sas_connection})
    assert isinstance(by_key, AzureArtifactStore)
    assert isinstance(by_sas, AzureArtifactStore)
    # The SAS allows nothing in the keyed container: a path sent to the wrong store would fail.
    with pytest.raises(HttpResponseError) as refused:
        by_sas.filesystem.pipe_file(f"{keyed}/data/probe.txt", b"x")
    assert refused.value.status_code == 403
    for mounted in (by_key, by_sas):
        fileio.mount(mounted)
    try:
        for mounted in (by_key, by_sas):
            with fileio.open(f"{mounted.path}/who.txt", "w") as f:
                f.write(mounted.path)
        assert fileio.store_for(f"az://{signed}/data/who.txt") is by_sas
        for mounted in (by_key, by_sas):
            with fileio.open(f"{mounted.path}/who.txt") as f:
                assert f.read() == mounted.path
        fileio.copyfile(f"{by_key.path}/who.txt", f"{by_sas.path}/from-key.txt")
        assert fileio.listdir(by_sas.path) == ["from-key.txt", "who.txt"]
    finally:
        for mounted in (by_key, by_sas):
            fileio.unmount(mounted)


def test_a_read_only_sas_is_refused_writing_and_the_signature_never_shows(
    azurite: EmulatorServer, container: str
) -> None:
    sas = generate_container_sas(
        AZURITE_ACCOUNT_NAME,
        container,
        account_key=AZURITE_ACCOUNT_KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1),
    )
    signature = dict(p.split("=", 1) for p in sas.split("&"))["sig"]
    read_only = AzureArtifactStoreFlavor().build(
        {
            "path": f"az://{container}/read-only",
            "connection_string": f"BlobEndpoint={azurite.endpoint}/{AZURITE_ACCOUNT_NAME};SharedAccessSignature={sas}",
        }
    )
    assert read_only.listdir("") == []
    with pytest.raises(PermissionError) as refused, read_only.open("x.bin", "wb") as f:
        f.write(b"x")
    assert azurite.endpoint in str(refused.value)
    assert signature not in str(refused.value)
    assert signature not in repr(read_only)
    assert not read_only.exists("x.bin")


def test_a_missing_container_is_named_on_first_write(make_store: Callable[..., AzureArtifactStore]) -> None:
    missing = make_store(path="az://no-such-container/root")
    with (
        pytest.raises(FileNotFoundError, match="The container 'no-such-container' of artifact store"),
        missing.open("x.bin", "wb") as f,
    ):
        f.write(b"x")


def test_walk_of_an_azure_folder_marker_blob(store: AzureArtifactStore, connection_string: str) -> None:
    """Tools such as Storage Explorer mark folders with an empty blob; it reads as a folder, never a file."""
    container, _, folder = store.path.removeprefix("az://").partition("/")
    with BlobServiceClient.from_connection_string(connection_string) as service:
        service.get_blob_client(container, f"{folder}/marked").upload_blob(b"", metadata={"hdi_isfolder": "true"})
    _write(store, "marked/inside.txt", b"in")
    walked: list[WalkItem] = list(store.walk(store.path))
    assert walked == [(store.path, ["marked"], []), (store.path + "/marked", [], ["inside.txt"])]
    assert store.isdir("marked")


def test_a_store_rooted_at_a_container_never_deletes_it(
    make_store: Callable[..., AzureArtifactStore], new_container: Callable[[], str], connection_string: str
) -> None:
    """adlfs deletes a whole container, full or not, when asked to remove its name; the store never lets it."""
    name = new_container()
    whole = make_store(path=f"az://{name}")
    _write(whole, "a/b.bin", b"kept")
    failures = whole.bulk_delete([whole.path])
    assert isinstance(failures[whole.path], IsADirectoryError)
    assert _read(whole, "a/b.bin") == b"kept"
    with pytest.raises(RuntimeError) as refused:  # adlfs wraps whatever its rm meets
        whole.filesystem.rm(name)
    assert isinstance(refused.value.__cause__, PermissionError)
    whole.rmtree(whole.path, force=True)
    with BlobServiceClient.from_connection_string(connection_string) as service:
        assert service.get_container_client(name).exists()
        assert list(service.get_container_client(name).list_blobs()) == []


def test_an_exclusive_write_is_refused_at_open_before_any_upload(store: AzureArtifactStore) -> None:
    _write(store, "x.bin", b"first")
    with pytest.raises(FileExistsError, match="already exists"):
        store.open("x.bin", "xb")
    assert _read(store, "x.bin") == b"first"


def test_exclusive_writers_racing_past_the_open_check_have_one_winner(store: AzureArtifactStore) -> None:
    """All open before any commits, so the early check passes for each; the service's If-None-Match decides."""
    writers = 8
    opened = threading.Barrier(writers)
    outcomes: dict[int, str] = {}

    def write(i: int) -> None:
        handle = store.open("race.bin", "xb")
        handle.write(f"writer {i}".encode())
        opened.wait()
        try:
            handle.close()
            outcomes[i] = "won"
        except FileExistsError:
            outcomes[i] = "refused"

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [i for i, outcome in outcomes.items() if outcome == "won"]
    assert len(outcomes) == writers
    assert len(winners) == 1
    assert _read(store, "race.bin") == f"writer {winners[0]}".encode()


# -- upload: blocks staged as they are read, then one commit -----------------------------------------


class TestAzureUpload(UploadTests):
    pass


# -- resumed uploads: a killed process's blocks are kept where their content is the file's --------------------


def test_blocks_a_killed_upload_staged_are_kept_only_where_their_content_is_the_files(
    store: AzureArtifactStore, connection_string: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks 1 and 2 of an older version were staged by a process that died; only block 1 is still the file's."""
    from azure.storage.blob.aio import BlobServiceClient as AsyncService

    monkeypatch.setattr(store, "upload_part_size", PART)
    old = os.urandom(2 * PART)
    new = old[:PART] + os.urandom(2 * PART + 7)
    container, _, folder = store.path.removeprefix("az://").partition("/")
    with BlobServiceClient.from_connection_string(connection_string) as service:
        blob = service.get_blob_client(container, f"{folder}/big.bin")
        for number in (1, 2):
            chunk = old[(number - 1) * PART : number * PART]
            blob.stage_block(f"{number:05d}{hashlib.md5(chunk).hexdigest()[:27]}", chunk)
    staged: list[int] = []

    def count(request: Any) -> None:
        if parse_qs(urlsplit(request.http_request.url).query).get("comp") == ["block"]:
            staged.append(len(request.http_request.body))

    filesystem = store.filesystem
    built = filesystem.service_client
    filesystem.service_client = AsyncService(
        built.url, credential=built.credential, raw_request_hook=count, **filesystem._client_options
    )
    store.upload(io.BytesIO(new), "big.bin", len(new))
    assert sorted(staged) == [7, PART, PART]  # blocks 2 (its content changed), 3 and 4
    assert _read(store, "big.bin") == new
