"""The kit's latency proxy: bytes arrive intact both ways, the delay and the bandwidth cap are really paid, a hung
proxy makes a client time out, and the count of requests in flight is exact for concurrent and keep-alive clients.

Its upstream here is the standard library's HTTP/1.1 server, echoing each request's body back.
"""

from __future__ import annotations

import http.client
import math
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType

import pytest

from cargohold_testkit.proxy import LatencyProxy


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = True
    #: When set, every request waits here until this many are in the server at once.
    barrier: threading.Barrier | None = None


class _Echo(BaseHTTPRequestHandler):
    """Answers each POST with its body, on keep-alive connections."""

    protocol_version = "HTTP/1.1"
    server: _EchoServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.barrier is not None:
            self.server.barrier.wait(timeout=30)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the standard library's name
        pass


@pytest.fixture
def upstream() -> Iterator[_EchoServer]:
    server = _EchoServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _endpoint(server: _EchoServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def _connect(proxy: LatencyProxy, timeout: float = 30) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=timeout)


def _post(connection: http.client.HTTPConnection, body: bytes) -> bytes:
    connection.request("POST", "/", body=body)
    response = connection.getresponse()
    assert response.status == 200
    return response.read()


def test_bytes_arrive_intact_both_ways_on_one_keep_alive_connection(upstream: _EchoServer) -> None:
    bodies = [os.urandom(3 << 20), b"", b"x", os.urandom(100_000)]
    with LatencyProxy(_endpoint(upstream), delay=0.001) as proxy:
        connection = _connect(proxy)
        assert [_post(connection, body) for body in bodies] == bodies
        connection.close()
        assert proxy.endpoint == f"http://127.0.0.1:{proxy.port}"
        assert proxy.delay == 0.001


def test_each_way_pays_the_delay_once_not_once_per_chunk(upstream: _EchoServer) -> None:
    """A round trip costs at least the delay twice; 4 MiB (over 60 chunks each way) costs it about as much, since
    chunks are pipelined (held one after another, it would take over 6 s)."""
    delay = 0.05
    with LatencyProxy(_endpoint(upstream), delay=delay) as proxy:
        connection = _connect(proxy)
        started = time.monotonic()
        assert _post(connection, b"ping") == b"ping"
        assert time.monotonic() - started >= 2 * delay
        body = os.urandom(4 << 20)
        started = time.monotonic()
        assert _post(connection, body) == body
        took = time.monotonic() - started
        connection.close()
    assert 2 * delay <= took < 3.0


def test_bandwidth_caps_each_direction(upstream: _EchoServer) -> None:
    """512 KiB at 1 MiB/s takes half a second up, and as long down, on top of the delay."""
    with LatencyProxy(_endpoint(upstream), delay=0, bandwidth=1 << 20) as proxy:
        connection = _connect(proxy)
        body = os.urandom(512 << 10)
        started = time.monotonic()
        assert _post(connection, body) == body
        assert time.monotonic() - started >= 2 * 0.5
        connection.close()


def test_a_hung_proxy_makes_a_client_time_out() -> None:
    with LatencyProxy(None, delay=math.inf) as hung:
        connection = _connect(hung, timeout=0.5)
        with pytest.raises(TimeoutError):
            _post(connection, b"anyone there?")
        connection.close()
        assert hung.requests == 1


def test_hang_stops_answering_on_a_connection_that_worked(upstream: _EchoServer) -> None:
    with LatencyProxy(_endpoint(upstream), delay=0) as proxy:
        connection = _connect(proxy, timeout=0.5)
        assert _post(connection, b"first") == b"first"
        proxy.hang()
        assert proxy.delay == math.inf
        with pytest.raises(TimeoutError):
            _post(connection, b"second")
        assert proxy.in_flight == 1
        connection.close()


def test_peak_in_flight_counts_concurrent_requests_exactly(upstream: _EchoServer) -> None:
    """Eight clients whose requests all wait in the server for each other: eight in flight at once, no more."""
    clients = 8
    upstream.barrier = threading.Barrier(clients)
    with LatencyProxy(_endpoint(upstream)) as proxy:

        def one(index: int) -> bytes:
            connection = _connect(proxy)
            try:
                return _post(connection, bytes([index]) * 1000)
            finally:
                connection.close()

        with ThreadPoolExecutor(clients) as pool:
            assert list(pool.map(one, range(clients))) == [bytes([i]) * 1000 for i in range(clients)]
        assert proxy.peak_in_flight == clients
        assert proxy.requests == clients
        assert proxy.in_flight == 0


def test_requests_one_after_another_on_keep_alive_connections_are_never_counted_together(
    upstream: _EchoServer,
) -> None:
    """Two clients, each sending its requests in turn on one connection: never more than two in flight; and a
    reset starts the count afresh."""
    with LatencyProxy(_endpoint(upstream), delay=0.002) as proxy:

        def in_turn(_: int) -> None:
            connection = _connect(proxy)
            for i in range(25):
                assert _post(connection, str(i).encode() * 100) == str(i).encode() * 100
            connection.close()

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(in_turn, range(2)))
        assert proxy.requests == 50
        assert 1 <= proxy.peak_in_flight <= 2
        proxy.reset()
        assert (proxy.requests, proxy.peak_in_flight) == (0, 0)
        connection = _connect(proxy)
        _post(connection, b"one")
        connection.close()
        assert (proxy.requests, proxy.peak_in_flight, proxy.in_flight) == (1, 1, 0)


def test_storage_options_point_at_the_proxy() -> None:
    class Server:
        endpoint = "http://127.0.0.1:10000"
        storage_options = MappingProxyType({"connection_string": "BlobEndpoint=http://127.0.0.1:10000/acct;"})

    with LatencyProxy(None, delay=math.inf) as proxy:
        assert proxy.storage_options(Server()) == {"connection_string": f"BlobEndpoint={proxy.endpoint}/acct;"}


def test_a_closed_proxy_refuses_connections_and_closes_again_quietly(upstream: _EchoServer) -> None:
    proxy = LatencyProxy(_endpoint(upstream))
    held = _connect(proxy)
    assert _post(held, b"x") == b"x"
    proxy.close()
    with pytest.raises(ConnectionError):  # the held connection was dropped, and nothing listens any more
        _post(held, b"y")
    held.close()
    again = _connect(proxy)
    with pytest.raises(ConnectionRefusedError):
        _post(again, b"z")
    again.close()
    proxy.close()


@pytest.mark.parametrize(
    ("upstream_url", "options", "message"),
    [
        ("http://127.0.0.1:9", {"delay": -1.0}, "delay must be 0 or more seconds"),
        ("http://127.0.0.1:9", {"delay": math.nan}, "delay must be 0 or more seconds"),
        ("http://127.0.0.1:9", {"bandwidth": 0}, "bandwidth must be a positive number"),
        (None, {}, "A proxy without an upstream can only hang"),
        ("127.0.0.1:9000", {}, "upstream must be a URL with a host and a port"),
    ],
)
def test_bad_settings_say_what_was_wrong(upstream_url: str | None, options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LatencyProxy(upstream_url, **options)
