"""cargohold://STORE/path from Dask worker processes: a partitioned Parquet dataset written into an s3 store
on the moto server and read back, each worker building the store from the shared registry by its name.

The credentials exist only as a cargohold secret: the workers have no AWS variables, and the registry's
home reaches them only through the filesystem's ``home=`` option, which is all that travels with a task.
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

from cargohold.client import Client
from cargohold_testkit.servers import EmulatorServer

BUCKET = "cargohold-dask"
SECRET_KEY = f"dask-secret-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    yield from s3_with_bucket(tmp_path_factory.mktemp("moto"), BUCKET)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[DaskClient]:
    """Two worker processes whose environment holds no AWS credentials and a CARGOHOLD_HOME with no registry."""
    env = {"CARGOHOLD_HOME": str(tmp_path / "not-the-registry"), "AWS_EC2_METADATA_DISABLED": "true"}
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=env) as local,
        DaskClient(local) as client,
    ):
        yield client


def test_workers_write_and_read_parquet_through_a_registered_store(
    s3_server: EmulatorServer, cluster: DaskClient, cargohold_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    back = lazy.compute().sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)

    where = cluster.run(lambda: os.environ.get("CARGOHOLD_HOME"))
    assert all(home != str(cargohold_home) for home in where.values())  # the workers found it through home=
