"""A store whose bucket (container on Azure) does not exist says so on every call, creates nothing, and
works as soon as the bucket does: it never looks like an empty store."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from cargohold.artifact_stores.fsspec_store import FsspecArtifactStore
from cargohold.client import Client
from cargohold_testkit.servers import EmulatorServer

from .conftest import CLOUDS, store_config

CLI = str(Path(sys.executable).with_name("cargohold"))


@pytest.fixture(params=CLOUDS)
def lost(request: pytest.FixtureRequest, servers: dict[str, EmulatorServer]) -> tuple[FsspecArtifactStore, str]:
    """A store registered as ``lost`` whose root lies in a bucket nobody made, and that bucket's name."""
    cloud = request.param
    bucket = f"missing-{uuid.uuid4().hex[:10]}"
    config = store_config(cloud, servers[cloud], "root")
    config["path"] = config["path"].replace(config["path"].split("/")[2], bucket, 1)
    client = Client()
    client.register_component("artifact_store", "lost", cloud, config)
    store = client.get_artifact_store("lost")
    assert isinstance(store, FsspecArtifactStore)
    return store, bucket


def bucket_exists(store: FsspecArtifactStore, bucket: str) -> bool:
    """Asked of the service through a filesystem of its own, so no cache of the store's answers it."""
    fresh = type(store.filesystem)(**store.filesystem.storage_options, skip_instance_cache=True)
    try:
        fresh.info(bucket)
    except FileNotFoundError:
        return False
    return True


def make_bucket(store: FsspecArtifactStore, bucket: str) -> None:
    """As an operator would; adlfs's mkdir takes a missing container for an existing one, so Azure's SDK."""
    if store.bucket_kind == "container":
        from azure.storage.blob import BlobServiceClient

        with BlobServiceClient.from_connection_string(store.config.connection_string) as service:
            service.create_container(bucket)
    else:
        store.filesystem.mkdir(bucket)
    store.filesystem.invalidate_cache()


def test_every_call_names_the_missing_bucket_and_creates_nothing(lost: tuple[FsspecArtifactStore, str]) -> None:
    store, bucket = lost
    calls = {
        "stat": lambda: store.stat(store.path),
        "listdir": lambda: store.listdir(store.path),
        "walk": lambda: list(store.walk(store.path, onerror=_raise)),
        "read": lambda: store.open(f"{store.path}/a.txt", "rb"),
        "write": lambda: _write(store, f"{store.path}/a.txt"),
        "makedirs": lambda: store.makedirs(f"{store.path}/sub"),
        "mkdir": lambda: store.mkdir(f"{store.path}/sub"),
        "remove": lambda: store.remove(f"{store.path}/a.txt"),
    }
    for name, call in calls.items():
        with pytest.raises(FileNotFoundError, match=f"{store.bucket_kind} '{bucket}' of artifact store 'lost'"):
            call()
        assert not bucket_exists(store, bucket), f"{name} created the bucket"
    assert not store.exists(store.path)
    assert not store.isdir(store.path)


def test_the_cli_fails_in_one_sentence(lost: tuple[FsspecArtifactStore, str]) -> None:
    store, bucket = lost
    done = subprocess.run([CLI, "fs", "ls", "lost:"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert f"{store.bucket_kind} '{bucket}' of artifact store 'lost' does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_store_works_once_the_bucket_exists(lost: tuple[FsspecArtifactStore, str]) -> None:
    store, bucket = lost
    with pytest.raises(FileNotFoundError):
        store.listdir(store.path)
    make_bucket(store, bucket)
    assert store.listdir(store.path) == []
    with store.open(f"{store.path}/a.txt", "wb") as out:
        out.write(b"now")
    assert store.listdir(store.path) == ["a.txt"]


def _write(store: FsspecArtifactStore, path: str) -> None:
    with store.open(path, "wb") as out:
        out.write(b"x")


def _raise(exc: OSError) -> None:
    raise exc
