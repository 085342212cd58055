"""Many threads in many processes make their first cargohold.fileio calls at once against a registered s3
store on the moto server: every write lands in that store, none goes anywhere else.

The processes carry decoy AWS credentials in their environment: a write that went to a makeshift store
instead of the registered one would try them (and AWS's own endpoint) and fail, or, where such
credentials were real, succeed somewhere else. Each process is new, so each call is a first call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import s3fs
from moto_bucket import s3_with_bucket

from cargohold.client import Client
from cargohold_testkit.servers import EmulatorServer

BUCKET = "cargohold-reliability"
PROCESSES = 6
THREADS = 16

_WRITER = """
import json, sys, threading
from cargohold import fileio

root, tag, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
barrier = threading.Barrier(threads)
errors = []

def write(i):
    barrier.wait()
    try:
        with fileio.open(f"{root}/{tag}-{i}.txt", "w") as f:
            f.write(f"{tag}-{i}")
        errors.append(None) if fileio.store_for(root).name == "reliable" else errors.append("misrouted")
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")

workers = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(json.dumps([e for e in errors if e]))
"""


@pytest.fixture(scope="module")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    yield from s3_with_bucket(tmp_path_factory.mktemp("moto"), BUCKET)


def test_concurrent_first_calls_all_reach_the_registered_store(s3_server: EmulatorServer, tmp_path: Path) -> None:
    root = f"s3://{BUCKET}/{uuid.uuid4().hex}"
    client = Client()
    config = {"path": root, "endpoint_url": s3_server.endpoint, "key": "testing", "secret": "testing"}
    client.register_component("artifact_store", "reliable", "s3", config)
    client.register_stack("reliable", {"artifact_store": "reliable"}, activate=True)
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIADECOYDECOYDECOY0",
        AWS_SECRET_ACCESS_KEY="decoy-credentials-that-must-never-be-used",
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, root, f"p{n}", str(THREADS)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(PROCESSES)
    ]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        assert json.loads(out) == [], out
    raw = s3fs.S3FileSystem(**s3_server.storage_options, skip_instance_cache=True, use_listings_cache=False)
    written = sorted(p.rsplit("/", 1)[1] for p in raw.find(root.removeprefix("s3://")))
    assert written == sorted(f"p{n}-{i}.txt" for n in range(PROCESSES) for i in range(THREADS))
