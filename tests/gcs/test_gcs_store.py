"""The gcs flavor against fake-gcs-server: the conformance kit (directly and through fileio), create-only
writes, credentials and fileio routing."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cargohold import DeprecatedFieldWarning, InvalidConfigError, fileio
from cargohold.client import Client
from cargohold_gcs.flavor import GCSArtifactStoreConfig, GCSArtifactStoreFlavor
from cargohold_gcs.store import GCSArtifactStore
from cargohold_testkit import ArtifactStoreTests, ArtifactStoreTestsThroughFileio, FlavorTests, UploadTests
from cargohold_testkit.servers import EmulatorServer
from cargohold_testkit.uploads import PART

StoreFactory = Callable[..., GCSArtifactStore]


class TestGCSConformance(ArtifactStoreTests):
    pass


class TestGCSConformanceThroughFileio(ArtifactStoreTestsThroughFileio):
    pass


class TestGCSFlavor(FlavorTests):
    @pytest.fixture
    def flavor_class(self) -> type[GCSArtifactStoreFlavor]:
        return GCSArtifactStoreFlavor

    @pytest.fixture
    def entry_point(self) -> str:
        return "gcs"

    @pytest.fixture
    def config_values(self, service_account_key: dict[str, str]) -> dict[str, Any]:
        return {"path": "gs://some-bucket/root", "token": json.dumps(service_account_key)}


def _read(store: GCSArtifactStore, path: str) -> bytes:
    with store.open(path, "rb") as f:
        data: bytes = f.read()
    return data


# -- config ------------------------------------------------------------------------------------------


def _invalid(**values: Any) -> str:
    with pytest.raises(InvalidConfigError) as caught:
        GCSArtifactStoreFlavor().validate_config({"path": "gs://bucket/root", **values})
    return str(caught.value)


@pytest.mark.parametrize("path", ["gs://my-bucket", "gs://my-bucket/a/b", "gcs://my.bucket.example/x", "gs://b_1-2"])
def test_paths_in_a_valid_bucket_are_accepted(path: str) -> None:
    assert GCSArtifactStoreConfig(credentials="anonymous", path=path).path == path


@pytest.mark.parametrize(
    ("bucket", "why"),
    [
        ("My-Bucket", "lowercase"),
        ("ab", "3-63"),
        ("-bucket", "starting and ending"),
        ("x" * 64, "at most 63"),
        ("googlebucket", "goog"),
        ("my-google-bucket", "google"),
        ("192.168.1.1", "IP address"),
        ("a..b", "1-63 characters"),
    ],
)
def test_a_bucket_gcs_refuses_is_refused_with_a_sentence(bucket: str, why: str) -> None:
    message = _invalid(path=f"gs://{bucket}/root")
    assert message.startswith("Invalid config for the 'gcs' flavor: path: ")
    assert f"the bucket {bucket!r}" in message
    assert why in message


def test_another_scheme_is_refused() -> None:
    assert "use gcs://, gs://" in _invalid(path="s3://bucket/root")


@pytest.mark.parametrize("url", ["ftp://host", "127.0.0.1:4443", "http://", "http://host/?q=1"])
def test_an_endpoint_that_is_not_an_http_url_is_refused(url: str) -> None:
    assert "endpoint_url" in _invalid(endpoint_url=url)


def test_the_endpoint_loses_its_trailing_slash() -> None:
    config = GCSArtifactStoreConfig(credentials="anonymous", path="gs://bucket", endpoint_url="http://127.0.0.1:4443/")
    assert config.endpoint_url == "http://127.0.0.1:4443"


@pytest.mark.parametrize("field", ["connect_timeout", "read_timeout"])
def test_timeouts_must_be_positive(field: str) -> None:
    assert field in _invalid(**{field: 0})


def test_retries_cannot_be_negative() -> None:
    assert "retries" in _invalid(retries=-1)


def test_a_project_id_is_checked() -> None:
    assert "project 'My Project'" in _invalid(project="My Project")
    assert (
        GCSArtifactStoreConfig(credentials="anonymous", path="gs://bucket", project="my-project-123").project
        == "my-project-123"
    )


@pytest.mark.parametrize("token", ["{{gcs-creds.token}}", "{{ other.key }}"])
def test_secret_references_are_accepted(token: str) -> None:
    config = GCSArtifactStoreConfig(path="gs://bucket", token=token)
    assert (config.token, config.credentials_source) == (token, "config")


@pytest.mark.parametrize(
    ("token", "source"), [("anon", "anonymous"), ("google_default", "environment"), ("cloud", "environment")]
)
def test_a_login_method_in_token_is_read_as_its_source_with_a_deprecation(token: str, source: str) -> None:
    with pytest.warns(DeprecatedFieldWarning, match=f"read as credentials = {source!r}"):
        config = GCSArtifactStoreFlavor().validate_config({"path": "gs://bucket", "token": token})
    assert isinstance(config, GCSArtifactStoreConfig)
    assert (config.token, config.credentials_source) == (None, source)


def test_a_new_config_naming_no_credentials_is_told_what_to_set() -> None:
    message = _invalid()
    assert "say where the credentials come from: give a JSON key in token, or set credentials to 'environment'" in (
        message
    )
    assert "GOOGLE_APPLICATION_CREDENTIALS" in message


def test_a_json_key_is_accepted_as_text_or_as_an_object(service_account_key: dict[str, str]) -> None:
    as_text = GCSArtifactStoreConfig(path="gs://bucket", token=json.dumps(service_account_key))
    as_object = GCSArtifactStoreFlavor().validate_config({"path": "gs://bucket", "token": service_account_key})
    assert isinstance(as_object, GCSArtifactStoreConfig)
    assert as_object.token is not None
    assert json.loads(as_object.token) == json.loads(as_text.token or "") == service_account_key


@pytest.mark.parametrize(
    ("token", "said"),
    [
        ("hunter2-not-a-key", "not a JSON key nor a known login method"),
        ('{"private_key": "hunter2-not-a-key"', "not valid JSON"),
        ('["hunter2-not-a-key"]', "not an object"),
        ('{"type": "hunter2-not-a-key"}', "'type' is not"),
        ('{"type": "service_account", "private_key": "hunter2-not-a-key"}', "without 'client_email', 'token_uri'"),
    ],
)
def test_a_bad_token_is_refused_without_showing_it(token: str, said: str) -> None:
    message = _invalid(token=token)
    assert "token" in message
    assert said in message
    assert "hunter2" not in message


def test_the_token_never_shows_in_repr(service_account_key: dict[str, str]) -> None:
    config = GCSArtifactStoreConfig(path="gs://bucket", token=json.dumps(service_account_key))
    store = GCSArtifactStoreFlavor().build(config)
    for text in (repr(config), str(config), repr(store)):
        assert service_account_key["private_key"][40:80] not in text
        assert "********" in text


def test_the_schema_marks_the_token_secret() -> None:
    properties = GCSArtifactStoreFlavor().config_schema["properties"]
    assert properties["token"]["secret"] is True
    assert GCSArtifactStoreConfig.secret_fields() == ("token",)


# -- building and first use --------------------------------------------------------------------------


def test_building_a_store_makes_no_request(store_on: StoreFactory, unused_endpoint: str) -> None:
    built = store_on(unused_endpoint, "gs://bucket/root")
    assert built._filesystem is None  # nothing connected, nothing to connect to


def test_a_dead_endpoint_fails_within_seconds_naming_it(store_on: StoreFactory, unused_endpoint: str) -> None:
    dead = store_on(unused_endpoint, "gs://bucket/root")  # the default retries and timeouts
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=f"cannot reach GCS at {unused_endpoint}") as caught:
        dead.listdir(dead.path)
    assert time.monotonic() - started < 10
    assert caught.value.__cause__ is not None  # aiohttp's own error stays chained


def test_gcs_scheme_aliases_reach_the_same_objects(store: GCSArtifactStore) -> None:
    alias = "gcs://" + store.path.removeprefix("gs://")
    with store.open(alias + "/a/x.txt", "w") as f:
        f.write("via gcs://")
    assert store.listdir(store.path + "/a") == ["x.txt"]
    assert store.glob(alias + "/**/*.txt") == [store.path + "/a/x.txt"]


def test_the_plain_filesystem_class_is_used_unless_zonal_hns_is_asked_for(make_store: StoreFactory) -> None:
    from gcsfs.core import GCSFileSystem
    from gcsfs.extended_gcsfs import ExtendedGcsFileSystem

    plain = make_store().filesystem
    assert isinstance(plain, GCSFileSystem)
    assert not isinstance(plain, ExtendedGcsFileSystem)
    assert isinstance(make_store(zonal_hns_support=True).filesystem, ExtendedGcsFileSystem)


def test_another_process_sees_changes_at_once(make_store: StoreFactory) -> None:
    """No listing cache: two stores (as two processes would) on one prefix agree after every change."""
    first = make_store()
    second = GCSArtifactStoreFlavor().build(first.config)
    assert second.listdir(first.path) == []
    with first.open("new.txt", "w") as f:
        f.write("x")
    assert second.listdir(first.path) == ["new.txt"]
    first.remove("new.txt")
    assert not second.exists("new.txt")


def test_list_objects_and_bulk_delete(store: GCSArtifactStore) -> None:
    for name in ("a.txt", "sub/b.txt", "sub/deep/c.txt"):
        with store.open(name, "w") as f:
            f.write(name)
    found = store.list_objects(store.path)
    assert [(o.path, o.size) for o in found] == [
        (f"{store.path}/a.txt", 5),
        (f"{store.path}/sub/b.txt", 9),
        (f"{store.path}/sub/deep/c.txt", 14),
    ]
    assert all(o.etag and o.mtime for o in found)
    assert store.bulk_delete([o.path for o in found[1:]] + [f"{store.path}/never.txt"]) == {}
    assert store.listdir(store.path) == ["a.txt"]


# -- create-only writes ------------------------------------------------------------------------------


class SmallBufferStore(GCSArtifactStore):
    """Streams create-only writes past 256 KiB, so the resumable path is tested without big buffers."""

    create_only_buffer = 2**18


@pytest.fixture
def streaming_store(store: GCSArtifactStore) -> SmallBufferStore:
    return SmallBufferStore(store.config, name="streaming")


BIG = bytes(range(256)) * 4096 * 7  # 7 MiB: more than the buffer, and more than one 5 MiB upload chunk


def test_a_large_create_only_write_streams_and_lands_whole(streaming_store: SmallBufferStore) -> None:
    with streaming_store.open("big.bin", "xb") as f:
        for start in range(0, len(BIG), 1 << 20):
            f.write(BIG[start : start + (1 << 20)])
    assert _read(streaming_store, "big.bin") == BIG


def test_a_large_create_only_write_refuses_an_existing_object(streaming_store: SmallBufferStore) -> None:
    with streaming_store.open("big.bin", "wb") as f:
        f.write(b"old")
    with pytest.raises(FileExistsError, match="already exists"), streaming_store.open("big.bin", "xb") as f:
        f.write(BIG)
    assert _read(streaming_store, "big.bin") == b"old"


def test_a_failed_large_create_only_write_leaves_nothing(streaming_store: SmallBufferStore) -> None:
    with pytest.raises(RuntimeError), streaming_store.open("big.bin", "xb") as f:
        f.write(BIG)
        raise RuntimeError("interrupted")
    assert not streaming_store.exists("big.bin")
    assert streaming_store.listdir(streaming_store.path) == []


def test_a_large_copy_without_overwrite_never_clobbers(streaming_store: SmallBufferStore) -> None:
    with streaming_store.open("src.bin", "wb") as f:
        f.write(BIG)
    streaming_store.copyfile("src.bin", "copy.bin")
    assert _read(streaming_store, "copy.bin") == BIG
    with streaming_store.open("dst.bin", "wb") as f:
        f.write(b"old")
    with pytest.raises(FileExistsError):
        streaming_store.copyfile("src.bin", "dst.bin")
    assert _read(streaming_store, "dst.bin") == b"old"


def test_text_create_only_writes_are_utf8(store: GCSArtifactStore) -> None:
    with store.open("t.txt", "x") as f:
        f.write("grüße")
    assert _read(store, "t.txt") == "grüße".encode()
    with pytest.raises(FileExistsError), store.open("t.txt", "x") as f:
        f.write("again")


def test_appending_is_refused_rather_than_replacing_the_object(store: GCSArtifactStore) -> None:
    with store.open("log.txt", "w") as f:
        f.write("first line\n")
    for mode in ("a", "ab"):
        with pytest.raises(io.UnsupportedOperation, match="cannot be appended"):
            store.open("log.txt", mode)
    assert _read(store, "log.txt") == b"first line\n"


# -- credentials -------------------------------------------------------------------------------------


def test_a_service_account_key_logs_in(
    make_store: StoreFactory, service_account_key: dict[str, str], token_endpoint: Any
) -> None:
    keyed = make_store(token=json.dumps(service_account_key))
    with keyed.open("signed.txt", "w") as f:
        f.write("with a key")
    assert keyed.listdir(keyed.path) == ["signed.txt"]
    assert service_account_key["client_email"] in token_endpoint.granted


def test_credentials_environment_means_the_default_chain(
    make_store: StoreFactory,
    key_file: Path,
    service_account_key: dict[str, str],
    token_endpoint: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    monkeypatch.setenv("NO_GCE_CHECK", "true")  # gcsfs's chain then skips its metadata-server method
    found = make_store(credentials="environment")
    assert found.filesystem.credentials.method == "google_default"
    assert found.filesystem.credentials.credentials.service_account_email == service_account_key["client_email"]
    with found.open("default.txt", "w") as f:
        f.write("default chain")
    assert service_account_key["client_email"] in token_endpoint.granted


def test_a_key_that_cannot_log_in_is_a_permission_error_without_the_key(
    make_store: StoreFactory, service_account_key: dict[str, str]
) -> None:
    broken = {**service_account_key, "private_key": "-----BEGIN PRIVATE KEY-----\nhunter2\n-----END PRIVATE KEY-----\n"}
    store = make_store(token=json.dumps(broken))
    with pytest.raises(PermissionError, match=r"cannot log in to http://127\.0\.0\.1:") as caught:
        store.exists("x")
    assert "with credentials from the config's token" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert service_account_key["client_email"] not in str(caught.value)


def test_a_failed_login_from_the_environment_names_the_default_chain(
    make_store: StoreFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing-key.json"))
    store = make_store(credentials="environment")
    with pytest.raises(PermissionError) as caught:
        store.exists("x.bin")
    message = str(caught.value)
    assert "credentials from the environment's default chain (GOOGLE_APPLICATION_CREDENTIALS" in message
    assert "set credentials to 'environment' or 'anonymous'" in message


def test_credentials_anonymous_sends_none(make_store: StoreFactory, token_endpoint: Any) -> None:
    granted = len(token_endpoint.granted)
    store = make_store(credentials="anonymous")
    with store.open("x.bin", "wb") as f:
        f.write(b"anonymous")
    assert store.filesystem.credentials.method == "anon"
    assert len(token_endpoint.granted) == granted
    assert store.config.credentials_used == "no credentials (anonymous requests)"


def test_an_unreachable_token_endpoint_is_a_connection_error(
    make_store: StoreFactory, service_account_key: dict[str, str], unused_endpoint: str
) -> None:
    elsewhere = {**service_account_key, "token_uri": unused_endpoint + "/token"}
    store = make_store(token=json.dumps(elsewhere), retries=0)
    with pytest.raises(ConnectionError, match="token endpoint") as caught:
        store.exists("x")
    assert service_account_key["private_key"][40:80] not in str(caught.value)


def test_grpc_errors_become_standard_ones(store: GCSArtifactStore) -> None:
    """The extended filesystem's gRPC calls bypass gcsfs's HTTP layer: ``translate_error`` maps what they raise."""
    from google.api_core import exceptions

    cases = {
        exceptions.NotFound("gone"): FileNotFoundError,
        exceptions.PreconditionFailed("exists"): FileExistsError,
        exceptions.Forbidden("no"): PermissionError,
        exceptions.ServiceUnavailable("later"): ConnectionError,
        exceptions.GatewayTimeout("slow"): TimeoutError,
    }
    for error, kind in cases.items():
        mapped = store.translate_error(error)
        assert type(mapped) is kind, error
        assert store.config.endpoint_url in str(mapped)
    odd = exceptions.BadRequest("odd")
    assert store.translate_error(odd) is odd


# -- fileio ------------------------------------------------------------------------------------------


@pytest.fixture
def mounted(store: GCSArtifactStore) -> Iterator[GCSArtifactStore]:
    fileio.mount(store)
    yield store
    fileio.unmount(store)


def test_fileio_routes_full_urls_to_the_store(mounted: GCSArtifactStore) -> None:
    root = mounted.path
    with fileio.open(f"{root}/runs/1/model.bin", "wb") as f:
        f.write(b"weights")
    assert fileio.store_for(f"{root}/runs/1/model.bin") is mounted
    assert fileio.listdir(f"{root}/runs") == ["1"]
    assert fileio.stat(f"{root}/runs/1/model.bin").size == len(b"weights")
    fileio.copyfile(f"{root}/runs/1/model.bin", f"{root}/runs/2/model.bin")
    with pytest.raises(FileExistsError):
        fileio.copyfile(f"{root}/runs/1/model.bin", f"{root}/runs/2/model.bin")
    fileio.rename(f"{root}/runs/2", f"{root}/best")
    assert [d for d, _, _ in fileio.walk(root)] == [root, f"{root}/best", f"{root}/runs", f"{root}/runs/1"]
    alias = "gcs://" + root.removeprefix("gs://")
    with fileio.open(f"{alias}/best/model.bin", "rb") as f:
        assert f.read() == b"weights"
    fileio.rmtree(f"{root}/runs")
    assert fileio.listdir(root) == ["best"]
    assert _read(mounted, "best/model.bin") == b"weights"


# -- upload: one streamed request of the listed size -------------------------------------------------


class TestGCSUpload(UploadTests):
    in_parts = False


@pytest.mark.parametrize("listed", [PART - 1, PART + 1])
def test_a_source_that_differs_from_its_listing_fails_and_leaves_nothing(store: GCSArtifactStore, listed: int) -> None:
    with pytest.raises(OSError, match="listed with"):
        store.upload(io.BytesIO(bytes(PART)), "f.bin", listed)
    assert not store.exists("f.bin")


def test_a_source_listed_as_empty_goes_through_open_whole(store: GCSArtifactStore) -> None:
    """A pipe lists as empty and holds whatever comes down it."""
    data = bytes(range(256)) * 40_000
    store.upload(io.BytesIO(data), "f.bin", 0)
    assert _read(store, "f.bin") == data


def test_a_refused_create_only_upload_names_the_object(store: GCSArtifactStore) -> None:
    store.upload(io.BytesIO(b"old"), "f.bin", 3)
    with pytest.raises(FileExistsError, match=r"f\.bin' already exists"):
        store.upload(io.BytesIO(b"new"), "f.bin", 3, overwrite=False)


def test_a_failed_login_of_a_registered_store_names_the_secret_its_key_came_from(
    gcs_server: EmulatorServer, bucket: str, service_account_key: dict[str, str]
) -> None:
    broken = {**service_account_key, "private_key": "-----BEGIN PRIVATE KEY-----\nhunter2\n-----END PRIVATE KEY-----\n"}
    client = Client()
    client.create_secret("gcs-broken", {"token": json.dumps(broken)})
    config = {"path": f"gs://{bucket}/registered", "endpoint_url": gcs_server.endpoint, "token": "{{gcs-broken.token}}"}
    client.register_component("artifact_store", "broken-gcs", "gcs", config)
    store = client.get_artifact_store("broken-gcs")
    with pytest.raises(PermissionError) as caught:
        store.exists("x")
    assert "with credentials from the config's token (kept in secret 'gcs-broken')" in str(caught.value)
    assert "hunter2" not in str(caught.value)
