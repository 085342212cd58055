"""A moto server holding one bucket, for the test folders that need a server of their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import s3fs

from cargohold_testkit.servers import EmulatorServer, start_s3


def s3_with_bucket(workdir: Path, bucket: str) -> Iterator[EmulatorServer]:
    """Start moto in ``workdir``, make ``bucket``, yield the server and stop it afterwards."""
    server = start_s3(workdir)
    try:
        s3fs.S3FileSystem(**server.storage_options, skip_instance_cache=True).mkdir(bucket)
        yield server
    finally:
        server.stop()
