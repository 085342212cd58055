"""``FsspecArtifactStore.upload`` on a flavor's own server: subclass ``UploadTests`` and give it a ``store`` fixture
yielding a fresh, empty store (an fsspec-based one; set ``in_parts = False`` if it sends an upload in one request).

What every flavor promises: the bytes arrive whole however the service takes them (in parts, in one
request), a source that fails midway leaves nothing, and ``overwrite=False`` never replaces a file.
"""

from __future__ import annotations

import io
import os
from typing import Any, ClassVar

import pytest

from cargohold.plugin import FsspecArtifactStore, PartUpload

__all__ = ["PART", "Failing", "UploadTests"]

#: The smallest part S3 takes; the tests upload in parts of this size so that several cost only a few MiB.
PART = 5 << 20


class Failing(io.BytesIO):
    """A source whose reads fail once ``after`` bytes have been read, as a broken connection's would."""

    def __init__(self, data: bytes, after: int) -> None:
        super().__init__(data)
        self.after = after

    def read(self, size: int | None = -1, /) -> bytes:
        if self.tell() >= self.after:
            raise ConnectionError("the source went away")
        return super().read(size)


def read(store: FsspecArtifactStore, path: str) -> bytes:
    with store.open(path, "rb") as f:
        data: bytes = f.read()
        return data


class UploadTests:
    """Run against the ``store`` fixture of the flavor's conftest: a fresh, empty store."""

    #: Whether the flavor uploads in parts (a ``PartUpload``) rather than in one request.
    in_parts: ClassVar[bool] = True

    @pytest.fixture
    def small_parts(self, store: FsspecArtifactStore, monkeypatch: pytest.MonkeyPatch) -> FsspecArtifactStore:
        """The store, uploading in parts of :data:`PART` bytes."""
        monkeypatch.setattr(store, "upload_part_size", PART)
        return store

    @pytest.mark.parametrize("size", [0, 1000, PART, 3 * PART + 7])
    def test_every_byte_arrives(self, small_parts: FsspecArtifactStore, size: int) -> None:
        data = os.urandom(size)
        small_parts.upload(io.BytesIO(data), "f.bin", size)
        assert read(small_parts, "f.bin") == data

    def test_parts_go_up_a_few_at_a_time(
        self, small_parts: FsspecArtifactStore, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """At most ``upload_concurrency`` parts are in flight, so memory holds a few however big the file."""
        if not self.in_parts:
            pytest.skip("this flavor sends an upload in one request")
        monkeypatch.setattr(small_parts, "upload_concurrency", 2)
        flying: list[int] = []
        most = [0]
        for cls in PartUpload.__subclasses__():
            monkeypatch.setattr(cls, "part", _counting(cls.part, flying, most))
        data = os.urandom(6 * PART)
        small_parts.upload(io.BytesIO(data), "f.bin", len(data))
        assert read(small_parts, "f.bin") == data
        assert most == [2]

    def test_a_source_that_fails_midway_leaves_nothing(self, small_parts: FsspecArtifactStore) -> None:
        data = os.urandom(3 * PART)
        with pytest.raises(ConnectionError, match="went away"):
            small_parts.upload(Failing(data, after=2 * PART), "f.bin", len(data))
        assert not small_parts.exists("f.bin")

    @pytest.mark.parametrize("size", [10, 3 * PART])
    def test_create_only_never_replaces(self, small_parts: FsspecArtifactStore, size: int) -> None:
        small_parts.upload(io.BytesIO(b"old"), "f.bin", 3)
        with pytest.raises(FileExistsError):
            small_parts.upload(io.BytesIO(os.urandom(size)), "f.bin", size, overwrite=False)
        assert read(small_parts, "f.bin") == b"old"

    @pytest.mark.parametrize("size", [10, 3 * PART])
    def test_create_only_creates_what_is_absent(self, small_parts: FsspecArtifactStore, size: int) -> None:
        data = os.urandom(size)
        small_parts.upload(io.BytesIO(data), "f.bin", size, overwrite=False)
        assert read(small_parts, "f.bin") == data


def _counting(part: Any, flying: list[int], most: list[int]) -> Any:
    """``part`` counting the parts in flight at once (they all run on one event loop)."""

    async def counted(self: PartUpload[Any], number: int, data: bytes) -> Any:
        flying.append(number)
        most[0] = max(most[0], len(flying))
        try:
            return await part(self, number, data)
        finally:
            flying.remove(number)

    return counted
