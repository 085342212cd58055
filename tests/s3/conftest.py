"""The s3 flavor's fixtures: moto servers the tests start themselves, a bucket per server, a fresh prefix per test.

A server that cannot start makes the tests that need it error, naming the emulator and quoting its log.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import s3fs

from cargohold import BaseArtifactStore, fileio
from cargohold_s3.flavor import S3ArtifactStoreFlavor
from cargohold_s3.store import S3ArtifactStore
from cargohold_testkit.servers import EmulatorServer, start_s3

BUCKET = "cargohold-tests"
OTHER_BUCKET = "cargohold-other"
#: moto takes any credentials; these are what the tests' stores log in with.
CREDENTIALS = {"key": "testing", "secret": "testing"}


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the developer's AWS setup out, so that only what a test configures reaches botocore."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def mount() -> Iterator[Callable[[BaseArtifactStore], None]]:
    """Mount stores in cargohold.fileio for one test; they are unmounted after it."""
    mounted: list[BaseArtifactStore] = []

    def add(store: BaseArtifactStore) -> None:
        fileio.mount(store)
        mounted.append(store)

    yield add
    for store in mounted:
        fileio.unmount(store)


def _raw_filesystem(server: EmulatorServer) -> Any:
    return s3fs.S3FileSystem(**server.storage_options, skip_instance_cache=True, use_listings_cache=False)


@pytest.fixture
def raw_filesystem() -> Callable[[EmulatorServer], Any]:
    """A plain s3fs filesystem on a server, to check what a store did without going through it."""
    return _raw_filesystem


def _start_with_bucket(workdir: Path, bucket: str) -> Iterator[EmulatorServer]:
    server = start_s3(workdir)
    try:
        _raw_filesystem(server).mkdir(bucket)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """The moto server most tests share, holding :data:`BUCKET`."""
    yield from _start_with_bucket(tmp_path_factory.mktemp("moto"), BUCKET)


@pytest.fixture(scope="session")
def other_s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """A second moto server, holding :data:`OTHER_BUCKET`: for two stores side by side in one process."""
    yield from _start_with_bucket(tmp_path_factory.mktemp("moto-other"), OTHER_BUCKET)


def _store_config(server: EmulatorServer, path: str, **fields: Any) -> dict[str, Any]:
    return {"path": path, "endpoint_url": server.endpoint, **CREDENTIALS, **fields}


@pytest.fixture
def store_config() -> Callable[..., dict[str, Any]]:
    """``store_config(server, path, **fields)``: a config for a store at ``path`` on ``server``."""
    return _store_config


@pytest.fixture
def make_store(s3_server: EmulatorServer) -> Callable[..., S3ArtifactStore]:
    """Build a store under a fresh prefix of :data:`BUCKET`, through the flavor as cargohold does."""

    def make(*, settings: dict[str, Any] | None = None, **fields: Any) -> S3ArtifactStore:
        path = fields.pop("path", f"s3://{BUCKET}/{uuid.uuid4().hex}")
        built = S3ArtifactStoreFlavor().build(_store_config(s3_server, path, **fields), name="t", settings=settings)
        assert isinstance(built, S3ArtifactStore)
        return built

    return make


@pytest.fixture
def store(make_store: Callable[..., S3ArtifactStore]) -> S3ArtifactStore:
    """A fresh, empty store: the conformance kit's fixture."""
    return make_store()
