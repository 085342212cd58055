"""Streamed reads from every cloud flavor hold one bounded block, whoever reads: the store's ``open``, a
``cargohold fs`` copy to a local file. The libraries' own defaults held 50 MB blocks (s3fs, adlfs) or
prefetched up to 256 MB (gcsfs), several times over: 240 MB peaks streaming a 1 GB file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cargohold import transfer
from cargohold.artifact_stores.fsspec_store import FsspecArtifactStore
from cargohold.targets import resolve

from .conftest import CLOUDS

MB = 1 << 20


def _big(cloud: str) -> tuple[FsspecArtifactStore, str]:
    """The registered store named ``cloud`` (the very instance a transfer in this process resolves it to),
    and the full path of ``big.bin`` in it."""
    location = resolve(f"{cloud}:big.bin")
    assert isinstance(location.store, FsspecArtifactStore)
    return location.store, location.path


def _held(opened: Any) -> int:
    """Bytes the open file's cache holds now."""
    return len(opened.cache.cache)


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_streamed_read_holds_one_block_at_a_time(cloud: str, clouds: dict[str, str]) -> None:
    store, path = _big(cloud)
    block = store.read_block_size
    data = os.urandom(3 * block + 12345)
    with store.open(path, "wb") as f:
        f.write(data)
    read = bytearray()
    with store.open(path, "rb") as f:
        assert (f.blocksize, f.cache.name) == (block, "readahead")
        while chunk := f.read(MB):
            read += chunk
            assert _held(f) <= block + MB
    assert read == data


@pytest.mark.parametrize("cloud", CLOUDS)
def test_a_download_reads_with_the_store_policy(
    cloud: str, clouds: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, path = _big(cloud)
    data = os.urandom(2 * store.read_block_size + 1)
    with store.open(path, "wb") as f:
        f.write(data)
    opened: list[tuple[str, int, str]] = []
    open_file = store.filesystem.open

    def spy(*args: Any, **kwargs: Any) -> Any:
        f = open_file(*args, **kwargs)
        opened.append((f.mode, f.blocksize, f.cache.name))
        return f

    monkeypatch.setattr(store.filesystem, "open", spy)
    result = transfer.copy(f"{cloud}:big.bin", str(tmp_path / "big.bin"))
    assert result.ok, result.failed
    assert (tmp_path / "big.bin").read_bytes() == data
    assert opened == [("rb", store.read_block_size, "readahead")]
