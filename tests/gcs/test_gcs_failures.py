"""Failures: servers that err, hang or die mid-upload give standard errors in bounded time and leave no object."""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from cargohold_gcs.store import GCSArtifactStore
from cargohold_testkit import StoreFailureTests, ends_within
from cargohold_testkit.servers import EmulatorServer, HungServer, start_gcs

from .conftest import StoreFactory

StoreOn = Callable[..., GCSArtifactStore]
CHUNK = 2**18  # gcsfs's smallest upload chunk: small enough to sit in socket buffers while a server is paused


class TestGCSFailures(StoreFailureTests):
    @pytest.fixture
    def missing_bucket_store(self, store_on: StoreOn, gcs_server: EmulatorServer) -> GCSArtifactStore:
        return store_on(gcs_server.endpoint, f"gs://missing-{uuid.uuid4().hex[:10]}/root")

    @pytest.fixture
    def dead_endpoint_store(self, store_on: StoreOn, unused_endpoint: str) -> GCSArtifactStore:
        return store_on(unused_endpoint, "gs://bucket/root", retries=0)

    @pytest.fixture
    def refused_login_store(self, make_store: StoreFactory, service_account_key: dict[str, str]) -> GCSArtifactStore:
        """fake-gcs-server accepts any token, so the login fails where GCS's would: at the token endpoint."""
        broken = {
            **service_account_key,
            "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        }
        return make_store(token=json.dumps(broken))


class FailingServer:
    """Answers every request with one HTTP status and counts them: what a broken or overloaded GCS does."""

    def __init__(self, status: int) -> None:
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                owner.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"error": {"code": %d, "message": "injected"}}' % status
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _messages(exc: BaseException | None) -> str:
    """The messages of an exception and its causes: fsspec swaps each timeout for a bare FSTimeoutError, whose
    cause is the store's TimeoutError naming the endpoint."""
    found = []
    while exc is not None:
        found.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return "\n".join(found)


@pytest.fixture
def failing() -> Iterator[Callable[[int], FailingServer]]:
    servers: list[FailingServer] = []

    def start(status: int) -> FailingServer:
        servers.append(FailingServer(status))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize(
    ("status", "kind", "retried"),
    [
        (500, ConnectionError, True),
        (503, ConnectionError, True),
        (429, ConnectionError, True),
        (408, TimeoutError, True),
        (401, PermissionError, False),
        (403, PermissionError, False),
    ],
)
@pytest.mark.parametrize("retries", [0, 2])
def test_http_errors_are_retried_as_configured_then_raised_as_standard_errors(
    failing: Callable[[int], FailingServer],
    store_on: StoreOn,
    status: int,
    kind: type[OSError],
    retried: bool,
    retries: int,
) -> None:
    server = failing(status)
    store = store_on(server.endpoint, "gs://bucket/root", retries=retries)
    with pytest.raises(kind) as caught, store.open("x.bin", "wb") as f:
        f.write(b"one simple upload: one request a try")
    assert f"GCS at {server.endpoint}" in _messages(caught.value)
    if kind is PermissionError:  # a refused login says whose it was
        assert "with no credentials (anonymous requests)" in str(caught.value)
    assert server.requests == (retries + 1 if retried else 1)


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A server that accepts connections and never answers: a hung server."""
    with HungServer() as hung:
        yield hung.endpoint


def test_a_server_that_never_answers_times_out_after_the_configured_tries(
    store_on: StoreOn, silent_endpoint: str
) -> None:
    store = store_on(silent_endpoint, "gs://bucket/root", read_timeout=0.5, retries=1)
    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught, store.open("x.bin", "wb") as f:
        f.write(b"x")
    assert f"GCS at {silent_endpoint} did not answer in time" in _messages(caught.value)
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 5.0  # two tries of 0.5 s each, a short backoff between them


# -- an upload interrupted by stopping its server ------------------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[EmulatorServer]:
    """A fake-gcs-server for this test alone, since the test stops it."""
    server = start_gcs(tmp_path / "own-gcs")
    yield server
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.process.pid, signal.SIGCONT)  # a paused server could not be stopped
    server.stop()


def _upload_store(store_on: StoreOn, server: EmulatorServer, **config: Any) -> GCSArtifactStore:
    store = store_on(server.endpoint, "gs://interrupted/root", **config)
    store.filesystem.mkdir("interrupted")
    store.filesystem.default_block_size = CHUNK  # upload in small chunks, each sent as soon as it is full
    return store


@pytest.mark.parametrize("mode", ["wb", "xb"])
def test_an_upload_to_a_paused_server_times_out_and_leaves_no_object(
    store_on: StoreOn, own_server: EmulatorServer, mode: str
) -> None:
    store = _upload_store(store_on, own_server, read_timeout=1, retries=1)
    store.create_only_buffer = 0  # type: ignore[misc]  # "xb" streams from the first byte, like a big write
    started = None
    with pytest.raises(TimeoutError) as caught, store.open("model.bin", mode) as f:
        f.write(b"a" * CHUNK)  # the resumable upload starts and its first chunk is stored
        os.kill(own_server.process.pid, signal.SIGSTOP)
        started = time.monotonic()
        f.write(b"b" * CHUNK)  # this chunk gets no answer
        f.write(b"c" * CHUNK)
    assert started is not None
    assert time.monotonic() - started < 20  # the chunk's two tries, then the cancel's two tries
    assert f"GCS at {own_server.endpoint}" in _messages(caught.value)
    os.kill(own_server.process.pid, signal.SIGCONT)
    del f, caught  # a dropped handle whose cancel failed must not commit the upload now that the server is back
    gc.collect()
    # The server now works through what was sent while it was paused: none of it may complete the upload.
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        assert not store.exists("model.bin")
    assert store.listdir(store.path) == []


def test_an_upload_to_a_killed_server_fails_fast_naming_the_endpoint(
    store_on: StoreOn, own_server: EmulatorServer
) -> None:
    store = _upload_store(store_on, own_server, retries=1)
    with pytest.raises(ConnectionError, match=f"GCS at {own_server.endpoint}"), store.open("model.bin", "wb") as f:
        f.write(b"a" * CHUNK)
        own_server.stop()
        started = time.monotonic()
        f.write(b"b" * CHUNK)
    assert time.monotonic() - started < 10


def test_a_failed_chunk_lets_go_of_the_files_buffer(store_on: StoreOn, own_server: EmulatorServer) -> None:
    """gcsfs sends a chunk as a view of the file's buffer: a traceback still holding it once the send failed made
    collecting the error an unraisable BufferError on Python 3.13 (a buffer with a view cannot close)."""
    store = _upload_store(store_on, own_server, retries=1)  # the tried-again send must let go of it too
    f = store.filesystem.open("interrupted/root/model.bin", "wb")
    f.write(b"a" * CHUNK)  # the resumable upload starts and its first chunk is stored
    own_server.stop()
    with pytest.raises(ConnectionError) as caught:
        f.write(b"b" * CHUNK)
    assert caught.value.__traceback__ is not None  # the error, kept, with its traceback
    f.closed = True  # never let collection commit the upload
    f.buffer.close()  # BufferError while a view of the buffer is alive


def test_an_upload_to_a_server_that_stops_reading_fails_within_the_read_timeout(store_on: StoreOn) -> None:
    """More than socket buffers and the proxy hold, streamed to a server that takes none of it. aiohttp bounds the
    wait for a reply, not a send; on the old code the upload waited for ever."""
    data = os.urandom(64 << 20)
    with HungServer() as hung:
        store = store_on(hung.endpoint, "gs://bucket/root", read_timeout=0.5, retries=0)
        with pytest.raises(TimeoutError) as caught:
            ends_within(30, lambda: store.upload(io.BytesIO(data), "big.bin", len(data)))
    assert str(caught.value).startswith(f"GCS at {hung.endpoint} took none of the upload's bytes for 0.5 s; check")


def test_a_request_timing_out_says_what_timed_out(store_on: StoreOn) -> None:
    """fsspec hands a timeout out of its loop as a bare FSTimeoutError; the message used to end in 'in time: '."""
    with HungServer() as hung:
        store = store_on(hung.endpoint, "gs://bucket/root", read_timeout=0.5, retries=0, deadline=10)
        with pytest.raises(TimeoutError) as caught:
            store.exists("model.bin")
    assert str(caught.value).startswith(f"GCS at {hung.endpoint} did not answer in time (")
    assert "socket" in str(caught.value)
