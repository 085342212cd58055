"""A network between a client and an emulator on loopback: a TCP proxy that delays what it forwards, and counts
the requests in flight through it.

On loopback a request costs only the CPU of the client and the server, so concurrency shows no gain there that
it would show against a real service, where each request waits on the network. :class:`LatencyProxy` puts that
wait back: every chunk it forwards, either way, is held for ``delay`` seconds (order kept, chunks pipelined, so
the delay costs latency and not throughput), optionally behind a ``bandwidth`` cap shared by all connections in
each direction. With ``delay=math.inf`` it accepts connections and never forwards a byte: a server that hangs::

    with start_s3(tmp_path) as server, LatencyProxy(server.endpoint, delay=0.010) as proxy:
        fs = s3fs.S3FileSystem(**proxy.storage_options(server), skip_instance_cache=True)
        ...
    print(proxy.peak_in_flight, proxy.requests)

Requests in flight are counted for HTTP/1.1, request then response, on keep-alive connections: a connection is
busy from the moment a request's first bytes reach the proxy until the first bytes of the reply to it are
forwarded to the client; the end is counted before those bytes are written, so a client that goes on to its
next request is never counted twice. An interim ``100 Continue`` ends a busy spell like any reply, and the body
that follows starts another: the count never exceeds the requests a client really has outstanding.
Connection setup (the TCP handshake) is not delayed. The proxy runs its own event loop in a background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, Self

__all__ = ["DEFAULT_DELAY", "LatencyProxy"]

DEFAULT_DELAY = 0.010
"""Seconds each chunk is held, each way: 10 ms, so a request and its reply cost 20 ms, as within one region."""

_CHUNK = 64 << 10
#: Chunks a direction holds before it stops reading: bounds memory, and 4 MiB per 10 ms is far above any emulator.
_QUEUED = 64
_STOP_TIMEOUT = 10.0


class _Emulator(Protocol):
    """What :meth:`LatencyProxy.storage_options` needs of a kit server (:class:`~.servers.EmulatorServer`)."""

    @property
    def endpoint(self) -> str: ...
    @property
    def storage_options(self) -> Mapping[str, str]: ...


@dataclass
class _Link:
    """One direction shared by every connection: when its bandwidth is next free."""

    free_at: float = 0.0


@dataclass
class _Connection:
    """One client connection's request state: whether it is busy, and which request it is busy with."""

    busy: bool = False
    request: int = 0


class LatencyProxy:
    """A loopback TCP proxy in front of ``upstream`` (``http://127.0.0.1:PORT``) that holds each chunk ``delay``
    seconds each way, caps each direction at ``bandwidth`` bytes a second when given, and counts requests in flight.

    ``delay=math.inf`` forwards nothing (a hung server), and then ``upstream`` may be ``None``; :meth:`hang` turns
    a working proxy into a hung one. Use it as a context manager; :meth:`close` drops every connection.
    """

    def __init__(self, upstream: str | None, *, delay: float = DEFAULT_DELAY, bandwidth: float | None = None) -> None:
        if not delay >= 0:
            raise ValueError(f"delay must be 0 or more seconds (math.inf for a hung server), not {delay!r}.")
        if bandwidth is not None and not bandwidth > 0:
            raise ValueError(f"bandwidth must be a positive number of bytes a second, or None, not {bandwidth!r}.")
        if upstream is None and delay != math.inf:
            raise ValueError("A proxy without an upstream can only hang: give the endpoint to forward to.")
        self._upstream = None if upstream is None else _address(upstream)
        self._delay = delay
        self._bandwidth = bandwidth
        self._links = {"up": _Link(), "down": _Link()}
        self._lock = threading.Lock()
        self._busy = 0
        self._peak = 0
        self._requests = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        """Base URL, ``http://127.0.0.1:PORT``; it stays readable after the proxy is closed."""
        self._loop = asyncio.new_event_loop()
        self._stopped = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="latency-proxy", daemon=True)
        self._thread.start()
        self._ready.wait()

    @property
    def port(self) -> int:
        """The TCP port the proxy listens on."""
        return int(self.endpoint.rsplit(":", 1)[1])

    @property
    def delay(self) -> float:
        """Seconds each chunk is held, each way (``math.inf``: never forwarded)."""
        return self._delay

    @property
    def in_flight(self) -> int:
        """Requests whose reply has not started to reach the client yet."""
        return self._busy

    @property
    def peak_in_flight(self) -> int:
        """The most requests in flight at once since the start or the last :meth:`reset`."""
        return self._peak

    @property
    def requests(self) -> int:
        """Requests that started since the start or the last :meth:`reset` (an interim reply splits one in two)."""
        return self._requests

    def reset(self) -> None:
        """Start counting afresh: requests from zero, the peak from what is in flight now."""
        with self._lock:
            self._requests = 0
            self._peak = self._busy

    def hang(self) -> None:
        """Hold every chunk that arrives from now on for ever: the server stops answering, mid-connection too."""
        self._delay = math.inf

    def storage_options(self, server: _Emulator) -> dict[str, str]:
        """``server``'s fsspec options, pointed at this proxy instead of at the server."""
        return {key: value.replace(server.endpoint, self.endpoint) for key, value in server.storage_options.items()}

    def close(self) -> None:
        """Stop accepting, drop every connection and stop the thread; idempotent."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(_STOP_TIMEOUT)
        self._listener.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---------------------------------------------------------------- the loop's thread

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._ready.set()  # never leave the constructor waiting, even when the server could not start
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _serve(self) -> None:
        server = await asyncio.start_server(self._accept, sock=self._listener)
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await server.wait_closed()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        connection = _Connection()
        writers = [client_writer]
        try:
            upstream_reader: asyncio.StreamReader | None = None
            upstream_writer: asyncio.StreamWriter | None = None
            if self._upstream is not None:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self._upstream)
                writers.append(upstream_writer)
            async with asyncio.TaskGroup() as group:
                group.create_task(self._pipe(client_reader, upstream_writer, "up", connection))
                if upstream_reader is not None:
                    group.create_task(self._pipe(upstream_reader, client_writer, "down", connection))
        except* (OSError, asyncio.CancelledError):  # a reset, a refused upstream, or close(): the connection ends
            pass
        finally:
            self._settle(connection, connection.request)
            for writer in writers:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            self._tasks.discard(task)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter | None, way: str, connection: _Connection
    ) -> None:
        """Read chunks as they come and write each at its due time, in order; pass the end of the stream on."""
        queue: asyncio.Queue[tuple[float, bytes, int | None]] = asyncio.Queue(_QUEUED)

        async def forward() -> None:
            while True:
                due, chunk, answers = await queue.get()
                if due == math.inf:
                    await asyncio.Event().wait()  # held for ever, until the connection is dropped
                await asyncio.sleep(max(0.0, due - self._loop.time()))
                if answers is not None:
                    self._settle(connection, answers)
                assert writer is not None, "a proxy without an upstream holds every chunk for ever"
                if not chunk:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(chunk)
                await writer.drain()

        sending = asyncio.create_task(forward())
        try:
            while True:
                chunk = await reader.read(_CHUNK)
                answers = self._arrived(connection, way, bool(chunk))
                await queue.put((self._due(way, len(chunk)), chunk, answers))
                if not chunk:
                    break
            await sending
        finally:
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending

    def _arrived(self, connection: _Connection, way: str, data: bool) -> int | None:
        """Note a chunk reaching the proxy; for a reply's chunk, the request it answers (forwarding it ends it)."""
        with self._lock:
            if way == "down":
                return connection.request if connection.busy else None
            if data and not connection.busy:
                connection.busy = True
                connection.request += 1
                self._requests += 1
                self._busy += 1
                self._peak = max(self._peak, self._busy)
            return None

    def _settle(self, connection: _Connection, request: int) -> None:
        """The reply to ``request`` starts to reach the client (or the connection ended): it is no longer in flight."""
        with self._lock:
            if connection.busy and connection.request == request:
                connection.busy = False
                self._busy -= 1

    def _due(self, way: str, size: int) -> float:
        """When a chunk of ``size`` bytes arriving now leaves: after the link has carried it, plus the delay."""
        now = self._loop.time()
        if self._bandwidth is None:
            return now + self._delay
        link = self._links[way]
        with self._lock:
            link.free_at = max(now, link.free_at) + size / self._bandwidth
            return link.free_at + self._delay


def _address(endpoint: str) -> tuple[str, int]:
    """``http://HOST:PORT`` as ``(host, port)``; anything else is refused with what to pass instead."""
    parts = urllib.parse.urlsplit(endpoint)
    if not parts.hostname or parts.port is None:
        raise ValueError(f"upstream must be a URL with a host and a port (http://127.0.0.1:9000), not {endpoint!r}.")
    return parts.hostname, parts.port
