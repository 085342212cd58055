"""``SizedStream.sent_by``: an upload whose receiver stops taking bytes fails in bounded time, a slow source not."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest

from cargohold.plugin import SizedStream

SIZE = 9 << 20  # three of the stream's chunks
STALL = 0.2


async def _take_all(stream: SizedStream) -> int:
    return sum([len(chunk) async for chunk in stream])


def test_a_receiver_that_stops_taking_bytes_fails_the_send_and_is_cancelled() -> None:
    stream = SizedStream(io.BytesIO(bytes(SIZE)), SIZE)
    cancelled = threading.Event()

    async def stops_after_one_chunk() -> None:
        try:
            async for _ in stream:
                await asyncio.Event().wait()  # a server that takes one chunk and then reads nothing more
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def send() -> None:
        await asyncio.wait_for(stream.sent_by(stops_after_one_chunk(), STALL, "the test server"), 30)

    with pytest.raises(TimeoutError, match=r"^the test server took none of the upload's bytes for 0.2 s; check"):
        asyncio.run(send())
    assert cancelled.is_set()


def test_a_source_slower_than_the_stall_is_not_the_receivers_stall() -> None:
    class SlowDisk(io.BytesIO):
        def read(self, size: int | None = -1, /) -> bytes:
            threading.Event().wait(STALL * 3)  # each read takes longer than the receiver may stall
            return super().read(size)

    stream = SizedStream(SlowDisk(bytes(SIZE)), SIZE)
    assert asyncio.run(stream.sent_by(_take_all(stream), STALL, "the test server")) == SIZE


def test_the_requests_own_error_comes_out_unchanged() -> None:
    stream = SizedStream(io.BytesIO(bytes(SIZE)), SIZE)

    async def refused() -> None:
        raise PermissionError("the test server refused the upload")

    with pytest.raises(PermissionError, match="refused the upload"):
        asyncio.run(stream.sent_by(refused(), STALL, "the test server"))
