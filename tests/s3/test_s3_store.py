"""The s3 store against a real moto server: the conformance kit (directly and through cargohold.fileio), the
flavor checks, and what only S3 has: create-only writes, bounded failures, credentials, regions and settings."""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cargohold.plugin import UploadRecord
from cargohold_s3.flavor import S3ArtifactStoreFlavor
from cargohold_s3.store import S3ArtifactStore
from cargohold_testkit import (
    ArtifactStoreTests,
    ArtifactStoreTestsThroughFileio,
    FlavorTests,
    StoreFailureTests,
    UploadTests,
    ends_within,
)
from cargohold_testkit.servers import EmulatorServer, HungServer
from cargohold_testkit.uploads import Failing

from .conftest import BUCKET

PART = 5 * 2**20  # S3's smallest part: a write this big or bigger goes up as a multipart upload


class TestS3Conformance(ArtifactStoreTests):
    pass


class TestS3ConformanceThroughFileio(ArtifactStoreTestsThroughFileio):
    pass


class TestS3Flavor(FlavorTests):
    @pytest.fixture
    def flavor_class(self) -> type[S3ArtifactStoreFlavor]:
        return S3ArtifactStoreFlavor

    @pytest.fixture
    def entry_point(self) -> str:
        return "s3"

    @pytest.fixture
    def config_values(self) -> dict[str, str]:
        return {"path": "s3://bucket/root", "key": "AKIAKITSAMPLE", "secret": "kit-sample-secret", "token": "kit-tok"}


# -- create-only writes ----------------------------------------------------------------------------


def _bucket_and_key(store: S3ArtifactStore, path: str = "") -> tuple[str, str]:
    bucket, _, key = store.path.removeprefix("s3://").partition("/")
    return bucket, f"{key}/{path}" if path else key


@pytest.fixture
def uploads(s3_server: EmulatorServer, raw_filesystem: Callable[[EmulatorServer], Any]) -> Callable[..., list[str]]:
    """``uploads(store)``: keys under the store's root with a multipart upload still open on the server."""

    def find(store: S3ArtifactStore) -> list[str]:
        bucket, prefix = _bucket_and_key(store)
        found = raw_filesystem(s3_server).call_s3("list_multipart_uploads", Bucket=bucket, Prefix=prefix)
        return [u["Key"] for u in found.get("Uploads", [])]

    return find


@pytest.fixture
def small_parts(store: S3ArtifactStore) -> S3ArtifactStore:
    """The store, uploading in 5 MiB parts, so that a multipart upload costs the tests only a few MiB."""
    store.filesystem.default_block_size = PART
    return store


def test_an_empty_exclusive_write_never_overwrites(store: S3ArtifactStore) -> None:
    with store.open("x.bin", "wb") as f:
        f.write(b"first")
    with pytest.raises(FileExistsError), store.open("x.bin", "xb"):
        pass
    with store.open("x.bin", "rb") as f:
        assert f.read() == b"first"


def test_an_empty_exclusive_write_creates_an_empty_file(store: S3ArtifactStore) -> None:
    with store.open("empty.bin", "xb"):
        pass
    assert store.stat("empty.bin").size == 0


def test_a_multipart_exclusive_write_never_overwrites_nor_leaves_an_upload(
    small_parts: S3ArtifactStore, uploads: Callable[..., list[str]]
) -> None:
    store = small_parts
    with store.open("big.bin", "wb") as f:
        f.write(b"old")
    with pytest.raises(FileExistsError), store.open("big.bin", "xb") as f:
        f.write(b"n" * (2 * PART + 1))
    with store.open("big.bin", "rb") as f:
        assert f.read() == b"old"
    assert uploads(store) == []


def test_a_multipart_exclusive_write_creates_when_absent(small_parts: S3ArtifactStore) -> None:
    with small_parts.open("big.bin", "xb") as f:
        f.write(b"n" * (2 * PART + 1))
    assert small_parts.size("big.bin") == 2 * PART + 1


def test_a_failed_multipart_write_aborts_its_upload(
    small_parts: S3ArtifactStore, uploads: Callable[..., list[str]]
) -> None:
    with pytest.raises(RuntimeError), small_parts.open("big.bin", "wb") as f:
        f.write(b"p" * (PART + 1))
        assert uploads(small_parts) != []  # a part is up: the upload exists on the server
        raise RuntimeError("interrupted")
    assert not small_parts.exists("big.bin")
    assert uploads(small_parts) == []


# -- failures arrive soon, as standard exceptions that name the endpoint ----------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TestS3Failures(StoreFailureTests):
    @pytest.fixture
    def missing_bucket_store(self, make_store: Callable[..., S3ArtifactStore]) -> S3ArtifactStore:
        return make_store(path=f"s3://missing-{uuid.uuid4().hex[:10]}/root")

    @pytest.fixture
    def dead_endpoint_store(self, make_store: Callable[..., S3ArtifactStore]) -> S3ArtifactStore:
        return make_store(endpoint_url=f"http://127.0.0.1:{_free_port()}", retries=0)

    @pytest.fixture
    def refused_login_store(self, make_store: Callable[..., S3ArtifactStore]) -> S3ArtifactStore:
        """moto accepts any credentials, so the login fails on the client's side: none in the chain it names."""
        return make_store(key=None, secret=None, credentials="environment")


def test_building_a_store_makes_no_network_call(make_store: Callable[..., S3ArtifactStore]) -> None:
    store = make_store(endpoint_url=f"http://127.0.0.1:{_free_port()}")
    assert store.path.startswith("s3://")
    assert store._filesystem is None


def test_a_dead_endpoint_fails_within_seconds_naming_it_and_no_credential(
    make_store: Callable[..., S3ArtifactStore],
) -> None:
    endpoint = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    store = make_store(endpoint_url=endpoint, key="AKIADEADENDPOINT", secret="dead-endpoint-secret")
    started = time.monotonic()
    with pytest.raises(ConnectionError) as caught:
        store.exists("anything")
    assert time.monotonic() - started < 20  # the default three attempts, with backoff
    message = str(caught.value)
    assert endpoint in message
    assert "AKIADEADENDPOINT" not in message
    assert "dead-endpoint-secret" not in message
    assert type(caught.value.__cause__).__name__ == "EndpointConnectionError"


def test_a_hung_endpoint_times_out(make_store: Callable[..., S3ArtifactStore]) -> None:
    with HungServer() as hung:
        endpoint = hung.endpoint
        store = make_store(endpoint_url=endpoint, read_timeout=1, retries=0)
        started = time.monotonic()
        with pytest.raises(TimeoutError) as caught:
            store.listdir(store.path)
        assert time.monotonic() - started < 10
    message = str(caught.value)
    assert f"the S3 endpoint {endpoint} did not answer in time" in message
    assert type(caught.value.__cause__).__name__ == "ReadTimeoutError"


@pytest.mark.parametrize("call", ["listing", "upload"])
def test_a_hung_endpoint_is_tried_retries_plus_one_times_each_bounded_by_the_read_timeout(
    call: str, make_store: Callable[..., S3ArtifactStore]
) -> None:
    """Counted at the server. On the old code an upload waited for ever on the ``100 Continue`` a hung server never
    sends, and every call made one try more than ``retries + 1``."""
    with HungServer() as hung:
        store = make_store(endpoint_url=hung.endpoint, read_timeout=0.5, retries=1)
        calls = {
            "listing": lambda: store.listdir(store.path),
            "upload": lambda: store.upload(io.BytesIO(b"x" * 1000), "small.bin", 1000),
        }
        with pytest.raises(TimeoutError):
            ends_within(30, calls[call])
        assert hung.requests == 2


def test_an_open_file_reports_a_dead_endpoint_as_connection_error(make_store: Callable[..., S3ArtifactStore]) -> None:
    store = make_store(endpoint_url=f"http://127.0.0.1:{_free_port()}", retries=0)
    store.filesystem.default_block_size = PART
    with pytest.raises(ConnectionError, match="cannot reach the S3 endpoint"), store.open("a.bin", "wb") as f:
        f.write(b"a" * (PART + 1))  # the multipart upload starts here, not at close


class FaultyProxy:
    """A TCP proxy to a real server; once ``limit`` bytes have come back on a connection it cuts the
    connection, or, with ``stall``, sends nothing more until the proxy is closed."""

    def __init__(self, upstream_port: int, limit: int, *, stall: bool = False) -> None:
        self._upstream_port, self._limit, self._stall = upstream_port, limit, stall
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # the listener was closed
            while True:
                client, _ = self._listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self._upstream_port))
                threading.Thread(target=self._pump, args=(client, upstream, None), daemon=True).start()
                threading.Thread(target=self._pump, args=(upstream, client, self._limit), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, limit: int | None) -> None:
        carried = 0
        with contextlib.suppress(OSError):
            while data := source.recv(1 << 16):
                if limit is not None and carried + len(data) > limit:
                    target.sendall(data[: limit - carried])
                    if self._stall:
                        self._closed.wait()
                    break
                target.sendall(data)
                carried += len(data)
        for end in (source, target):  # shutdown, unlike close, also wakes the pump reading the other way
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()


@pytest.mark.parametrize(
    ("stall", "error", "message"),
    [
        (False, ConnectionError, "the connection to the S3 endpoint {} broke"),
        (True, TimeoutError, "the S3 endpoint {} did not answer in time"),
    ],
    ids=["cut", "stalled"],
)
def test_a_download_that_breaks_off_mid_body_raises_a_standard_error_and_copies_nothing(
    make_store: Callable[..., S3ArtifactStore],
    s3_server: EmulatorServer,
    stall: bool,
    error: type[OSError],
    message: str,
) -> None:
    direct = make_store()
    with direct.open("big.bin", "wb") as f:
        f.write(os.urandom(2**20))
    proxy = FaultyProxy(s3_server.port, limit=256 * 2**10, stall=stall)
    try:
        faulty = make_store(path=direct.path, endpoint_url=proxy.endpoint, read_timeout=1, retries=0)
        started = time.monotonic()
        with pytest.raises(error, match=message.format(re.escape(proxy.endpoint))):
            faulty.copyfile("big.bin", "copy.bin")  # the copy streams the source down through the proxy
        assert time.monotonic() - started < 10
        with pytest.raises(OSError, match=re.escape(proxy.endpoint)), faulty.open("big.bin", "rb") as f:
            f.read()  # an open file's read fails as an OSError naming the endpoint too
    finally:
        proxy.close()
    assert not direct.exists("copy.bin")
    assert direct.size("big.bin") == 2**20


# -- credentials, regions, settings and listings --------------------------------------------------


def test_credentials_environment_uses_the_default_chain(
    make_store: Callable[..., S3ArtifactStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-the-environment")
    store = make_store(key=None, secret=None, credentials="environment")
    with store.open("x.txt", "w") as f:
        f.write("chain")
    assert store.listdir(store.path) == ["x.txt"]


def test_with_no_credentials_in_the_chain_the_error_names_it_and_says_what_to_give(
    make_store: Callable[..., S3ArtifactStore],
) -> None:
    store = make_store(key=None, secret=None, credentials="environment")
    with pytest.raises(PermissionError) as caught:
        store.exists("x")
    message = str(caught.value)
    assert re.search(r"no usable credentials for the S3 endpoint http://127\.0\.0\.1:\d+", message)
    assert "in credentials from the environment's default chain (AWS_* variables" in message
    assert "give key and secret in the store's config" in message


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_the_region_reaches_the_client_and_no_bucket_is_created(
    make_store: Callable[..., S3ArtifactStore],
    s3_server: EmulatorServer,
    raw_filesystem: Callable[[EmulatorServer], Any],
    region: str,
) -> None:
    """s3fs's makedirs would create a missing bucket; a typo in a store's path must not make a new one."""
    bucket = f"cargohold-{region}-{uuid.uuid4().hex[:8]}"
    store = make_store(path=f"s3://{bucket}/root", region=region)
    with pytest.raises(FileNotFoundError, match=f"The bucket '{bucket}' of artifact store"):
        store.makedirs("sub")
    assert store.filesystem.s3.meta.region_name == region
    assert bucket not in raw_filesystem(s3_server).ls("")


def test_settings_are_applied_over_the_config(
    make_store: Callable[..., S3ArtifactStore],
    s3_server: EmulatorServer,
    raw_filesystem: Callable[[EmulatorServer], Any],
) -> None:
    store = make_store(
        s3_additional_kwargs={"Metadata": {"team": "config"}, "StorageClass": "STANDARD_IA"},
        settings={"s3_additional_kwargs": {"Metadata": {"team": "settings"}}},
    )
    with store.open("tagged.bin", "wb") as f:
        f.write(b"x")
    bucket, key = _bucket_and_key(store, "tagged.bin")
    head = raw_filesystem(s3_server).call_s3("head_object", Bucket=bucket, Key=key)
    assert head["Metadata"] == {"team": "settings"}
    assert head["StorageClass"] == "STANDARD_IA"


def test_what_another_writer_adds_is_seen_at_once(make_store: Callable[..., S3ArtifactStore]) -> None:
    reader = make_store()
    writer = make_store(path=reader.path)
    writer.makedirs("d")
    with writer.open("d/one.txt", "w") as f:
        f.write("1")
    assert reader.listdir("d") == ["one.txt"]
    with writer.open("d/two.txt", "w") as f:
        f.write("2")
    assert reader.listdir("d") == ["one.txt", "two.txt"]  # no listing cache hides the second file
    writer.remove("d/one.txt")
    assert not reader.exists("d/one.txt")


# -- upload: a stream sent in parts as it is read ---------------------------------------------------


class TestS3Upload(UploadTests):
    pass


def test_a_failed_upload_aborts_its_parts(store: S3ArtifactStore, uploads: Callable[..., list[str]]) -> None:
    data = os.urandom(3 * PART)
    with pytest.raises(ConnectionError):
        store.upload(Failing(data, after=2 * PART), "big.bin", len(data))
    assert uploads(store) == []


def test_a_refused_create_only_upload_aborts_its_parts(
    store: S3ArtifactStore, uploads: Callable[..., list[str]]
) -> None:
    store.upload(io.BytesIO(b"old"), "big.bin", 3)
    with pytest.raises(FileExistsError):
        store.upload(io.BytesIO(os.urandom(3 * PART)), "big.bin", 3 * PART, overwrite=False)
    assert uploads(store) == []


# -- resumed uploads: a dead writer's parts are kept where their content is the file's, a live writer's never touched


def _die_recording(store: S3ArtifactStore, key: str, upload_id: str) -> None:
    """Record ``upload_id`` as this machine's writer of ``key`` does, in a process that then ends: a dead writer."""
    recording = "import sys; from cargohold.plugin import UploadRecord; UploadRecord(*sys.argv[1:4]).keep(sys.argv[4])"
    endpoint, bucket = store.filesystem.endpoint_url, key.partition("/")[0]
    subprocess.run([sys.executable, "-c", recording, endpoint, bucket, key.partition("/")[2], upload_id], check=True)


def _begin_old_version(
    store: S3ArtifactStore, raw: Any, old: bytes, metadata: dict[str, str] | None = None
) -> tuple[str, str]:
    """An unfinished upload of ``big.bin`` holding ``old`` in parts of :data:`PART`, begun outside the store:
    the bucket-relative key and the upload's id."""
    bucket, key = _bucket_and_key(store, "big.bin")
    begun = raw.call_s3("create_multipart_upload", Bucket=bucket, Key=key, Metadata=metadata or {})
    for number in range(1, len(old) // PART + 1):
        chunk = old[(number - 1) * PART : number * PART]
        raw.call_s3("upload_part", Bucket=bucket, Key=key, UploadId=begun["UploadId"], PartNumber=number, Body=chunk)
    return f"{bucket}/{key}", begun["UploadId"]


def _count_parts(store: S3ArtifactStore) -> list[tuple[int, int]]:
    """Each part the store sends from now on, as its number and size."""
    sent: list[tuple[int, int]] = []
    store.filesystem.connect()
    store.filesystem.s3.meta.events.register(
        "before-parameter-build.s3.UploadPart",
        lambda params, **_: sent.append((params["PartNumber"], len(params["Body"]))),
    )
    return sent


def test_a_dead_writers_upload_of_the_key_is_taken_up_keeping_only_parts_whose_content_matches(
    store: S3ArtifactStore,
    s3_server: EmulatorServer,
    raw_filesystem: Callable[[EmulatorServer], Any],
    uploads: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Parts 1 and 2 of an older version were sent by a process that died; only part 1 is still the file's."""
    monkeypatch.setattr(store, "upload_part_size", PART)
    old = os.urandom(2 * PART)
    new = old[:PART] + os.urandom(2 * PART + 7)
    raw = raw_filesystem(s3_server)
    key, upload_id = _begin_old_version(store, raw, old, {store.mtime_metadata: "1.0"})
    _die_recording(store, key, upload_id)
    sent = _count_parts(store)
    store.upload(io.BytesIO(new), "big.bin", len(new), mtime=1_700_000_000.5)
    assert sorted(sent) == [(2, PART), (3, PART), (4, 7)]
    assert store.open("big.bin", "rb").read() == new
    bucket, _, bare_key = key.partition("/")
    recorded = raw.call_s3("head_object", Bucket=bucket, Key=bare_key)["Metadata"][store.mtime_metadata]
    assert float(recorded) == 1_700_000_000.5  # the new record, not the one the dead upload began with
    assert uploads(store) == []
    assert list((Path(os.environ["CARGOHOLD_CACHE_DIR"]) / "uploads").iterdir()) == []  # records gone with it


def test_an_upload_no_writer_here_recorded_is_not_taken_up_and_is_left_for_cleanup(
    store: S3ArtifactStore,
    s3_server: EmulatorServer,
    raw_filesystem: Callable[[EmulatorServer], Any],
    uploads: Callable[..., list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another machine's upload may be running: its parts, though they are the file's, are not used."""
    monkeypatch.setattr(store, "upload_part_size", PART)
    data = os.urandom(2 * PART + 7)
    key, upload_id = _begin_old_version(store, raw_filesystem(s3_server), data[: 2 * PART])
    sent = _count_parts(store)
    store.upload(io.BytesIO(data), "big.bin", len(data))
    assert sorted(sent) == [(1, PART), (2, PART), (3, 7)]
    assert store.open("big.bin", "rb").read() == data
    assert uploads(store) == [key.partition("/")[2]]
    assert store.abort_incomplete_uploads("", before=time.time()) == [f"s3://{key} (multipart upload {upload_id})"]
    assert uploads(store) == []


def test_cleanup_leaves_the_upload_a_live_writer_here_holds_and_aborts_a_dead_ones(
    store: S3ArtifactStore, s3_server: EmulatorServer, raw_filesystem: Callable[[EmulatorServer], Any]
) -> None:
    """Even with no age limit, an upload whose writer on this machine still runs is not cleanup's to abort."""
    raw = raw_filesystem(s3_server)
    key, dead_id = _begin_old_version(store, raw, os.urandom(PART))
    _die_recording(store, key, dead_id)
    _, live_id = _begin_old_version(store, raw, os.urandom(PART))
    bucket, _, bare_key = key.partition("/")
    writer = UploadRecord(store.filesystem.endpoint_url, bucket, bare_key)
    writer.keep(live_id)  # held as a running writer holds it: its record locked
    assert store.abort_incomplete_uploads("", before=time.time()) == [f"s3://{key} (multipart upload {dead_id})"]
    writer.drop()
    assert store.abort_incomplete_uploads("", before=time.time()) == [f"s3://{key} (multipart upload {live_id})"]


class _Gated(io.BytesIO):
    """A source whose reads past ``at`` bytes wait for ``gate``, as a slow disk's would."""

    def __init__(self, data: bytes, at: int, gate: threading.Event) -> None:
        super().__init__(data)
        self.at, self.gate = at, gate

    def read(self, size: int | None = -1, /) -> bytes:
        if self.tell() >= self.at:
            assert self.gate.wait(timeout=60), "the gate was never opened"
        return super().read(size)


def test_two_live_writers_of_a_key_both_finish_and_the_last_to_finish_wins(
    make_store: Callable[..., S3ArtifactStore], uploads: Callable[..., list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stalls after sending two parts; B writes the key meanwhile and never takes up A's live upload."""
    a = make_store()
    b = make_store(path=a.path)
    for store in (a, b):
        monkeypatch.setattr(store, "upload_part_size", PART)
    first, second = os.urandom(4 * PART), os.urandom(4 * PART)
    two_sent, released = threading.Event(), threading.Event()
    sent_by_a = _count_parts(a)
    a.filesystem.s3.meta.events.register("after-call.s3.UploadPart", lambda **_: len(sent_by_a) >= 2 and two_sent.set())
    failed: list[BaseException] = []

    def write_first() -> None:
        try:
            a.upload(_Gated(first, 2 * PART, released), "big.bin", len(first))
        except BaseException as exc:
            failed.append(exc)

    writing = threading.Thread(target=write_first)
    writing.start()
    try:
        assert two_sent.wait(timeout=60), "A never sent its first parts"
        b.upload(io.BytesIO(second), "big.bin", len(second))
        assert b.open("big.bin", "rb").read() == second
    finally:
        released.set()
        writing.join(timeout=120)
    assert not writing.is_alive()
    assert failed == []
    assert a.open("big.bin", "rb").read() == first
    assert uploads(a) == []


def test_an_adhoc_store_logs_in_with_the_environment(
    s3_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bare URL has no config to name a source: it takes the environment's, as `aws s3` does."""
    from cargohold import fileio

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-the-environment")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    url = f"s3://{BUCKET}/adhoc-{uuid.uuid4().hex}/x.txt"
    fileio.allow_adhoc_stores()
    try:
        with fileio.open(url, "w") as f:
            f.write("ad hoc")
        assert fileio.exists(url)
    finally:
        fileio.allow_adhoc_stores(None)
