"""fsspec's own abstract suite, unchanged, over ``cargohold://`` backed by the s3, gcs and azure stores.

With ``CARGOHOLD_RAW_BASELINE=1`` the same suite also runs over the raw s3fs, gcsfs and adlfs
filesystems on the same servers, so the pass counts compare in one run. The raw libraries fail
some of it (adlfs much of it), so that half is a measurement, not a requirement.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import fsspec
import pytest
from fsspec.tests.abstract import (
    AbstractCopyTests,
    AbstractFixtures,
    AbstractGetTests,
    AbstractOpenTests,
    AbstractPipeTests,
    AbstractPutTests,
)

from cargohold_testkit.servers import EmulatorServer


class _Suite(AbstractCopyTests, AbstractGetTests, AbstractPutTests, AbstractOpenTests, AbstractPipeTests):  # type: ignore[misc]
    pass


class _ObjectStoreFixtures(AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False


class _Through(_ObjectStoreFixtures):
    cloud: str

    @pytest.fixture
    def fs(self, clouds: dict[str, str]) -> Any:
        return fsspec.filesystem("cargohold")

    @pytest.fixture
    def fs_path(self) -> str:
        return f"{self.cloud}/work"


@pytest.mark.skipif(
    os.environ.get("CARGOHOLD_RAW_BASELINE") != "1",
    reason="the raw-library baseline runs with CARGOHOLD_RAW_BASELINE=1",
)
class _Raw(_ObjectStoreFixtures):
    cloud: str

    @pytest.fixture
    def fs(self, servers: dict[str, EmulatorServer]) -> Any:
        options = dict(servers[self.cloud].storage_options)
        if self.cloud == "s3":
            import s3fs

            return s3fs.S3FileSystem(**options, skip_instance_cache=True, use_listings_cache=False)
        if self.cloud == "gcs":
            import gcsfs.core

            return gcsfs.core.GCSFileSystem(**options, skip_instance_cache=True)
        import adlfs

        return adlfs.AzureBlobFileSystem(**options, skip_instance_cache=True)

    @pytest.fixture
    def fs_path(self, bucket: str) -> str:
        return f"{bucket}/raw-{uuid.uuid4().hex[:12]}"


class TestCargoholdOverS3(_Through, _Suite):
    cloud = "s3"


class TestRawS3(_Raw, _Suite):
    cloud = "s3"


class TestCargoholdOverGCS(_Through, _Suite):
    cloud = "gcs"


class TestRawGCS(_Raw, _Suite):
    cloud = "gcs"


class TestCargoholdOverAzure(_Through, _Suite):
    cloud = "azure"


class TestRawAzure(_Raw, _Suite):
    cloud = "azure"
