"""Many threads in many processes make their first cargohold.fileio calls at once against a registered s3
store on the moto server: every write lands in that store, none goes anywhere else.

The processes carry decoy AWS credentials in their environment: a write that went to a makeshift store
instead of the registered one would try them (and AWS's own endpoint) and fail, or, where such
credentials were real, succeed somewhere else. Each process is new, so each call is a first call.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import s3fs
from first_calls import first_calls
from moto_bucket import s3_with_bucket

from cargohold.client import Client
from cargohold_testkit.servers import EmulatorServer

BUCKET = "cargohold-reliability"
PROCESSES = 6
THREADS = 16


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    yield from s3_with_bucket(tmp_path_factory.mktemp("moto"), BUCKET)


def test_concurrent_first_calls_all_reach_the_registered_store(s3_server: EmulatorServer, tmp_path: Path) -> None:
    root = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    client = Client()
    config = {"path": root, "endpoint_url": s3_server.endpoint, "key": "testing", "secret": "testing"}
    client.register_component("artifact_store", "reliable", "s3", config)
    client.register_stack("reliable", {"artifact_store": "reliable"}, activate=True)
    assert first_calls(root, PROCESSES, THREADS, tmp_path) == []
    raw = s3fs.S3FileSystem(**s3_server.storage_options, skip_instance_cache=True, use_listings_cache=False)
    written = sorted(p.rsplit("/", 1)[1] for p in raw.find(root.removeprefix("s3://")))
    assert written == sorted(f"p{n}-{i}.txt" for n in range(PROCESSES) for i in range(THREADS))
