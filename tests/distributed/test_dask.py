"""cargohold://STORE/path from Dask worker processes: a partitioned Parquet dataset written into an s3 store
on the moto server and read back, each worker building the store from the shared registry by its name.

The credentials exist only as a cargohold secret: the workers have no AWS variables and no registry
variables, and the registry reaches them only through the filesystem's options (``home=`` and, for the
shared PostgreSQL registry, its URL without the password), which is all that travels with a task.
"""

from __future__ import annotations

import os
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path

import cloudpickle
import dask.dataframe as dd
import pandas as pd
import pytest
import s3fs
from distributed import Client as DaskClient
from distributed import LocalCluster
from moto_bucket import s3_with_bucket
from postgres_server import PostgresServer

from cargohold.artifact_stores import BaseArtifactStore
from cargohold.client import Client
from cargohold_testkit.servers import EmulatorServer

BUCKET = "cargohold-dask"
PASSWORD = f"pw{uuid.uuid4().hex}"
SECRET_KEY = f"dask-secret-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    yield from s3_with_bucket(tmp_path_factory.mktemp("moto"), BUCKET)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The registry the test writes to: the embedded file, or a fresh PostgreSQL database whose URL carries a
    password (the test server trusts loopback, so any password connects) that must never travel to a worker."""
    monkeypatch.delenv("CARGOHOLD_REGISTRY_URL", raising=False)
    if request.param == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.new_database().replace("://cargohold@", f"://cargohold:{PASSWORD}@")
    monkeypatch.setenv("CARGOHOLD_REGISTRY_URL", url)
    return url


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[DaskClient]:
    """Two worker processes whose environment holds no AWS credentials, a CARGOHOLD_HOME with no registry and no
    registry URL."""
    env = {
        "CARGOHOLD_HOME": str(tmp_path / "not-the-registry"),
        "CARGOHOLD_REGISTRY_URL": "",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=env) as local,
        DaskClient(local) as client,
    ):
        yield client


@pytest.fixture
def lake(s3_server: EmulatorServer, shared_url: str | None, monkeypatch: pytest.MonkeyPatch) -> str:
    """The s3 store ``lake`` on the moto server, in the test's registry, its credentials only in a cargohold
    secret; its root."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    registry = Client()
    registry.create_secret("lake-creds", {"key": "dask-key-id", "secret": SECRET_KEY})
    root = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    config = {
        "path": root,
        "endpoint_url": s3_server.endpoint,
        "key": "{{lake-creds.key}}",
        "secret": "{{lake-creds.secret}}",
    }
    registry.register_component("artifact_store", "lake", "s3", config)
    return root


def test_a_registered_store_sent_to_a_worker_is_built_again_from_the_registry(
    lake: str, shared_url: str | None, cluster: DaskClient
) -> None:
    def write_hello(store: BaseArtifactStore) -> str:
        """Run on a worker (a local function, so Dask sends it by value: workers cannot import this module)."""
        with store.open(f"{store.path}/from-worker.txt", "w") as out:
            out.write("hello from a worker")
        return str(os.environ.get("CARGOHOLD_REGISTRY_URL"))

    store = Client().get_artifact_store("lake")
    sent = cloudpickle.dumps(store)
    assert SECRET_KEY.encode() not in sent
    assert PASSWORD.encode() not in sent
    done = cluster.submit(write_hello, store).result(timeout=120)  # a worker that cannot load the task hangs it
    assert done == ""  # the worker knows no registry of its own
    with store.open(f"{lake}/from-worker.txt") as back:
        assert back.read() == "hello from a worker"


def test_workers_write_and_read_parquet_through_a_registered_store(
    s3_server: EmulatorServer, lake: str, shared_url: str | None, cluster: DaskClient, cargohold_home: Path
) -> None:
    root = lake

    ids = range(400)
    frame = pd.DataFrame({"id": ids, "group": [i % 7 for i in ids], "value": [i * 0.5 for i in ids]})
    options = {"home": str(cargohold_home)}
    url = "cargohold://lake/tables/measurements"
    dd.from_pandas(frame, npartitions=4).to_parquet(url, storage_options=options, write_index=False)

    written = s3fs.S3FileSystem(**s3_server.storage_options, skip_instance_cache=True).find(root.removeprefix("s3://"))
    assert len([p for p in written if p.endswith(".parquet")]) == 4  # one file per partition, in the store's bucket

    lazy = dd.read_parquet(url, storage_options=options)
    graph = cloudpickle.dumps(lazy.__dask_graph__()) + pickle.dumps(lazy.__dask_graph__(), protocol=5)
    assert SECRET_KEY.encode() not in graph
    assert b"dask-key-id" not in graph
    assert PASSWORD.encode() not in graph
    if shared_url is not None:  # the shared registry travels as its URL, without the password
        assert shared_url.replace(f":{PASSWORD}@", "@").encode() in graph
    back = lazy.compute().sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)

    where = cluster.run(lambda: (os.environ.get("CARGOHOLD_HOME"), os.environ.get("CARGOHOLD_REGISTRY_URL")))
    assert all(home != str(cargohold_home) and not url for home, url in where.values())  # found through options
