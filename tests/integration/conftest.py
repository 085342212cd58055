"""Every cloud flavor at once: moto, fake-gcs-server and Azurite for the session, and for each test three
stores registered in its registry (``s3``, ``gcs``, ``azure``), each under a fresh prefix of its bucket.

A server that cannot start makes the tests that need it error, naming the emulator and quoting its log.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cargohold_testkit.servers import GCSFS_EMULATOR_ENV, EmulatorServer, start_azure, start_gcs, start_s3

#: The bucket (or container) each server holds.
BUCKET = "cargohold-integration"
#: What each registered store is called, and the flavor behind it.
CLOUDS = ("s3", "gcs", "azure")

os.environ.update(GCSFS_EMULATOR_ENV)  # before anything imports gcsfs


@pytest.fixture(autouse=True)
def _no_ambient_cloud_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a store's config says reaches the cloud libraries."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "GOOGLE_", "AZURE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, EmulatorServer]]:
    """One running emulator per cloud, each holding :data:`BUCKET`."""
    import adlfs
    import gcsfs.core
    import s3fs

    started: dict[str, EmulatorServer] = {}
    try:
        started["s3"] = start_s3(tmp_path_factory.mktemp("moto"))
        s3fs.S3FileSystem(**started["s3"].storage_options, skip_instance_cache=True).mkdir(BUCKET)
        started["gcs"] = start_gcs(tmp_path_factory.mktemp("fake-gcs"))
        gcsfs.core.GCSFileSystem(**started["gcs"].storage_options, skip_instance_cache=True).mkdir(BUCKET)
        started["azure"] = start_azure(tmp_path_factory.mktemp("azurite"))
        adlfs.AzureBlobFileSystem(**started["azure"].storage_options, skip_instance_cache=True).mkdir(BUCKET)
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="session")
def bucket() -> str:
    """The bucket (container on Azure) every server holds."""
    return BUCKET


def store_config(cloud: str, server: EmulatorServer, prefix: str) -> dict[str, Any]:
    """The config a user would register for a store under ``prefix`` of the bucket on ``server``."""
    options = server.storage_options
    if cloud == "s3":
        return {"path": f"s3://{BUCKET}/{prefix}", **options}  # endpoint_url, key, secret
    if cloud == "gcs":
        return {"path": f"gs://{BUCKET}/{prefix}", "endpoint_url": server.endpoint, "credentials": "anonymous"}
    return {"path": f"az://{BUCKET}/{prefix}", "connection_string": options["connection_string"]}


@pytest.fixture
def clouds(servers: dict[str, EmulatorServer]) -> dict[str, str]:
    """The stores ``s3``, ``gcs`` and ``azure`` registered in this test's registry; their roots by name."""
    from cargohold.client import Client

    client = Client()
    roots = {}
    prefix = uuid.uuid4().hex[:12]
    for cloud in CLOUDS:
        config = store_config(cloud, servers[cloud], prefix)
        client.register_component("artifact_store", cloud, cloud, config)
        roots[cloud] = config["path"]
    return roots
