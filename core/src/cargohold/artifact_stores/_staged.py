"""Staged writes: nothing shows under a file's final name before the whole of it has arrived.

``StagedFile`` wraps a handle that publishes on close. ``PartUpload`` and ``SizedStream`` send what a
reader holds straight to a service as it is read (in worker threads, so the event loop never waits
on a disk or on another store), holding a few parts in memory however big the file.
"""

from __future__ import annotations

import abc
import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar, Generic, Protocol, TypeVar

__all__ = ["READ_SIZE", "PartUpload", "Reader", "SizedStream", "StagedFile"]

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Bytes read from a source at a time while it is streamed.
READ_SIZE = 4 << 20


class Reader(Protocol):
    """What an upload reads from: a binary file open for reading, or anything with its ``read``."""

    def read(self, size: int = -1, /) -> bytes: ...


class StagedFile:
    """Wraps an open file; ``close()`` or a clean ``with`` publishes, an exception or garbage collection aborts."""

    def __init__(self, raw: Any, publish: Callable[[], None], abort: Callable[[], None]) -> None:
        self._raw = raw
        self._publish = publish
        self._abort = abort
        self._done = False
        self.write = raw.write  # bound once: writes cost what the raw file's do

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __iter__(self) -> Any:
        return iter(self._raw)

    def close(self) -> None:
        """Finish the write and make it visible under its final name."""
        if not self._done:
            self._done = True
            self._publish()

    def abort(self) -> None:
        """Throw the write away; nothing appears under the final name."""
        if not self._done:
            self._done = True
            self._abort()

    def __del__(self) -> None:
        # A handle dropped without close() was never finished: discard rather than publish.
        if not getattr(self, "_done", True):
            self.abort()


def _read_fully(reader: Reader, size: int) -> bytes:
    """``size`` bytes of ``reader``, fewer only at its end (a pipe may hand out less per read)."""
    data = reader.read(size)
    if len(data) == size or not data:
        return data
    pieces = [data]
    missing = size - len(data)
    while missing and (more := reader.read(missing)):
        pieces.append(more)
        missing -= len(more)
    return b"".join(pieces)


async def _read(reader: Reader, size: int) -> bytes:
    """``_read_fully`` in a worker thread: a read may block, or be another store's, which needs the loop."""
    return await asyncio.to_thread(_read_fully, reader, size)


class PartUpload(abc.ABC, Generic[T]):
    """An upload in parts that the service joins on request (S3's multipart uploads, Azure's block lists).

    A subclass says how each request is made; ``send`` reads the parts and sends them ``concurrency``
    at a time, so memory holds ``concurrency + 1`` parts. A source that fits in one part goes up in one
    request. Nothing is published before ``finish``; any failure, the reader's included, aborts the upload.
    Parts are ``part_size`` bytes, or larger when the ``size`` the source was listed with needs more
    than ``max_parts`` of them. A process killed mid-upload leaves its parts with the service: a subclass
    whose ``start`` finds them hands back, through ``kept``, each one whose content provably is the part's.
    """

    #: The most parts the service joins into one file.
    max_parts: ClassVar[int]

    def __init__(self, size: int, part_size: int, concurrency: int) -> None:
        self.part_size = max(part_size, -(-size // self.max_parts))
        self.concurrency = concurrency

    @abc.abstractmethod
    async def whole(self, data: bytes) -> None:
        """Publish a file that fits in one part, in one request."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Begin an upload in parts, or take up one an interrupted process left (see ``kept``)."""

    @abc.abstractmethod
    async def part(self, number: int, data: bytes) -> T:
        """Send part ``number`` (counted from 1); what it returns is handed to ``finish``, in order."""

    async def kept(self, number: int, data: bytes) -> T | None:
        """Part ``number``, as ``part`` would return it, when an interrupted upload of this file already sent
        exactly ``data`` for it (a hash of the content says so, never a name or a size alone); else None."""
        return None

    @abc.abstractmethod
    async def finish(self, parts: list[T]) -> None:
        """Publish the file made of ``parts``."""

    @abc.abstractmethod
    async def abort(self) -> None:
        """Drop the parts sent so far."""

    async def send(self, reader: Reader) -> None:
        """Upload everything ``reader`` holds."""
        first = await _read(reader, self.part_size)
        if len(first) < self.part_size:
            await self.whole(first)
            return
        await self.start()
        try:
            await self.finish(await self._parts(reader, first))
        except BaseException:
            try:
                await self.abort()
            except Exception as exc:  # the failure that got here matters more; the service expires parts
                logger.warning("Could not abort an upload in parts (%s); the service will expire its parts.", exc)
            raise

    async def _parts(self, reader: Reader, first: bytes) -> list[T]:
        gate = asyncio.Semaphore(self.concurrency)
        failed = asyncio.Event()
        sending: list[asyncio.Task[T]] = []

        async def one(number: int, data: bytes) -> T:
            try:
                kept = await self.kept(number, data)
                return kept if kept is not None else await self.part(number, data)
            except BaseException:
                failed.set()  # stops the reading: gather below raises the failure
                raise
            finally:
                gate.release()

        data = first
        try:
            while data:
                await gate.acquire()
                if failed.is_set():
                    break
                sending.append(asyncio.ensure_future(one(len(sending) + 1, data)))
                data = await _read(reader, self.part_size)
            return list(await asyncio.gather(*sending))
        except BaseException:
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)
            raise


class SizedStream:
    """Exactly ``size`` bytes of ``reader`` as a request body, read in a worker thread a chunk at a time.

    A reader that holds fewer or more bytes (the file changed since it was listed) ends the body with
    an ``OSError``, kept in ``error`` so the caller can raise it rather than the HTTP library's wrapper.
    Send it with ``sent_by`` to bound how long the receiver may take no bytes.
    """

    def __init__(self, reader: Reader, size: int) -> None:
        self._reader = reader
        self.size = size
        self.error: BaseException | None = None
        #: The loop's time when the chunk being sent was handed out; None while the source is read.
        self._handed_at: float | None = None

    async def sent_by(self, request: Awaitable[T], stall: float, where: str) -> T:
        """``request``'s result, where the request sends this stream to ``where`` (a service, in words); a
        ``TimeoutError`` when a chunk waits ``stall`` seconds to be taken. HTTP clients (aiohttp) bound the wait
        for a reply, not a send, so an upload to a server that stops reading would otherwise wait for ever."""
        loop = asyncio.get_running_loop()
        sending = asyncio.ensure_future(request)
        try:
            while not (await asyncio.wait({sending}, timeout=stall / 4))[0]:
                if self._handed_at is not None and loop.time() - self._handed_at > stall:
                    raise TimeoutError(
                        f"{where} took none of the upload's bytes for {stall:g} s; check that it is up, or raise "
                        "read_timeout in the store's config"
                    )
            return sending.result()
        finally:
            if not sending.done():
                sending.cancel()
                await asyncio.gather(sending, return_exceptions=True)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        try:
            left = self.size
            while left:
                data = await _read(self._reader, min(READ_SIZE, left))
                if not data:
                    raise OSError(f"the source ended {left} bytes short of the {self.size} it was listed with")
                left -= len(data)
                self._handed_at = loop.time()
                yield data
                self._handed_at = None
            if await _read(self._reader, 1):
                raise OSError(f"the source grew past the {self.size} bytes it was listed with while it was read")
        except BaseException as exc:
            self.error = exc
            raise
