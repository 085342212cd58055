"""Uploads interrupted by stopping the server: the error comes within a bounded time and names the endpoint,
and nothing shows under the final name.

These servers run moto in this process (``ThreadedMotoServer``), so that what the stopped server held
outlives it and a second server on another port can show it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import s3fs

from cargohold_s3.flavor import S3ArtifactStoreFlavor
from cargohold_s3.store import S3ArtifactStore

PART = 5 * 2**20
#: Seconds from the stop to the error reaching the caller, abort attempts included (about 8 s are expected).
BOUND = 20.0


class InProcessMoto:
    """A moto server in this process; stopping it closes its port but keeps its buckets for the next one."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        try:
            self._server.start()
        except OSError as exc:
            raise RuntimeError(f"Cannot start the in-process s3 emulator (moto): {exc}") from exc
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            self._server.stop()

    def filesystem(self) -> Any:
        return s3fs.S3FileSystem(endpoint_url=self.endpoint, key="testing", secret="testing", skip_instance_cache=True)


@pytest.fixture
def moto_servers() -> Iterator[Callable[[], InProcessMoto]]:
    """Start in-process moto servers; each is stopped after the test if the test did not stop it."""
    started: list[InProcessMoto] = []

    def start() -> InProcessMoto:
        started.append(InProcessMoto())
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _store(server: InProcessMoto) -> S3ArtifactStore:
    bucket = f"interrupted-{uuid.uuid4().hex[:12]}"
    server.filesystem().mkdir(bucket)
    config = {
        "path": f"s3://{bucket}/root",
        "endpoint_url": server.endpoint,
        "key": "testing",
        "secret": "testing",
        "connect_timeout": 2,
        "read_timeout": 2,
        "retries": 1,
    }
    store = S3ArtifactStoreFlavor().build(config)
    assert isinstance(store, S3ArtifactStore)
    store.filesystem.default_block_size = PART
    return store


def _key(store: S3ArtifactStore, name: str) -> str:
    return f"{store.path.removeprefix('s3://')}/{name}"


def test_a_multipart_upload_cut_off_mid_stream(
    moto_servers: Callable[[], InProcessMoto], caplog: pytest.LogCaptureFixture
) -> None:
    server = moto_servers()
    store = _store(server)
    with pytest.raises(ConnectionError) as caught, store.open("model.bin", "wb") as f:
        f.write(b"a" * (PART + 1))  # the first part is on the server
        server.stop()
        stopped = time.monotonic()
        f.write(b"b" * (PART + 1))  # the second part cannot go
    assert time.monotonic() - stopped < BOUND
    assert f"cannot reach the S3 endpoint {server.endpoint}" in str(caught.value)
    # The abort could not reach the server either: the log says what cleans up the parts.
    assert "lifecycle rule that aborts incomplete multipart uploads" in caplog.text
    assert any(r.levelno == logging.WARNING for r in caplog.records)

    after = moto_servers().filesystem()
    assert after.exists(store.path.removeprefix("s3://").partition("/")[0])  # the stopped server's bucket lives on
    assert not after.exists(_key(store, "model.bin"))


def test_an_overwrite_cut_off_at_close_keeps_the_old_object(moto_servers: Callable[[], InProcessMoto]) -> None:
    server = moto_servers()
    store = _store(server)
    with store.open("weights.bin", "wb") as f:
        f.write(b"old")
    f = store.open("weights.bin", "wb")
    f.write(b"new, never sent")  # small: it goes up in one request, at close
    server.stop()
    stopped = time.monotonic()
    with pytest.raises(ConnectionError, match="cannot reach the S3 endpoint"):
        f.close()
    assert time.monotonic() - stopped < BOUND

    after = moto_servers().filesystem()
    assert after.cat_file(_key(store, "weights.bin")) == b"old"


def test_a_create_only_write_cut_off_at_close_creates_nothing(moto_servers: Callable[[], InProcessMoto]) -> None:
    server = moto_servers()
    store = _store(server)
    f = store.open("fresh.bin", "xb")
    f.write(b"c" * (PART + 1))
    server.stop()
    with pytest.raises(ConnectionError):
        f.close()
    after = moto_servers().filesystem()
    assert after.exists(store.path.removeprefix("s3://").partition("/")[0])
    assert after.find(store.path.removeprefix("s3://")) == []
