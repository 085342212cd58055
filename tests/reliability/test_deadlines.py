"""Every cloud flavor gives up within its deadline, plus a margin, on a server that hangs and on a closed port; and a
copy whose server hangs halfway through (the kit's proxy, hung) fails what is left after bounded, counted tries.

The deadline is set short here (1 s) so that the suite stays fast; the figures at the default go to the benchmarks.
"""

from __future__ import annotations

import os
import re
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import adlfs
import gcsfs
import pytest
import s3fs
from click.testing import CliRunner
from endpoint_stores import CONFIGS, store_on

from cargohold import BaseArtifactStore, transfer
from cargohold.cli import main
from cargohold.client import Client
from cargohold_testkit import ends_within
from cargohold_testkit.proxy import LatencyProxy
from cargohold_testkit.servers import EmulatorServer, HungServer, closed_port, start_azure, start_gcs, start_s3

DEADLINE = 1.0
#: Generous: the promise is deadline + 2 s, and the machine is shared.
MARGIN = 2.0
BOUND = DEADLINE + MARGIN


#: Imported here, so that no test times a first import.
LIBRARIES = (adlfs, gcsfs, s3fs)


@pytest.fixture(params=sorted(CONFIGS))
def store_at(request: pytest.FixtureRequest) -> Callable[[str], BaseArtifactStore]:
    """Build the flavor's store against an endpoint, with the short deadline and retries left at their default."""
    return lambda endpoint: store_on(request.param, endpoint, deadline=DEADLINE)


@pytest.fixture
def hung() -> Iterator[HungServer]:
    with HungServer() as server:
        yield server


@pytest.mark.parametrize("call", ["exists", "listdir", "stat"])
def test_hung_server_times_out_within_the_deadline(
    store_at: Callable[[str], BaseArtifactStore], hung: HungServer, call: str
) -> None:
    store = store_at(hung.endpoint)
    started = time.monotonic()
    with pytest.raises(TimeoutError) as caught:
        getattr(store, call)("dir")
    assert time.monotonic() - started < BOUND
    message = str(caught.value)
    assert "127.0.0.1" in message
    assert not message.rstrip(".").endswith(":"), message


def test_closed_port_fails_within_the_deadline(store_at: Callable[[str], BaseArtifactStore]) -> None:
    store = store_at(closed_port())
    started = time.monotonic()
    with pytest.raises((ConnectionError, TimeoutError)) as caught:
        store.exists("dir")
    assert time.monotonic() - started < BOUND
    assert "127.0.0.1" in str(caught.value)


@pytest.mark.parametrize("server", ["hung", "closed"])
def test_an_uncaught_failure_reads_in_a_few_lines_without_library_frames(
    store_at: Callable[[str], BaseArtifactStore], hung: HungServer, server: str
) -> None:
    """Printed as Python prints an uncaught error: the message says what failed and where, each library error
    below it is one line, and no frame of the libraries' internals is shown (they ran to 82-165 lines)."""
    store = store_at(hung.endpoint if server == "hung" else closed_port())
    with pytest.raises((ConnectionError, TimeoutError)) as caught:
        store.exists("dir")
    printed = "".join(traceback.format_exception(caught.value))
    frames = re.findall(r'File "([^"]+)"', printed)
    assert frames
    assert [f for f in frames if f != __file__ and f"{os.sep}cargohold{os.sep}" not in f] == [], printed
    assert len(printed.splitlines()) <= 25, printed
    assert "127.0.0.1" in printed.splitlines()[-1]


def test_fs_cp_to_a_hung_server_fails_within_the_deadline(
    store_at: Callable[[str], BaseArtifactStore], hung: HungServer, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """End to end through the CLI (in this process, its imports done, so that only the copy is timed): the copy
    gives up after one deadline, and is not tried again on its own."""
    flavor = request.node.callspec.params["store_at"]
    config = {**CONFIGS[flavor](hung.endpoint), "deadline": DEADLINE}
    Client().register_component("artifact_store", "hung", flavor, config)
    (tmp_path / "model.bin").write_bytes(b"weights")
    started = time.monotonic()
    done = CliRunner().invoke(main, ["fs", "cp", str(tmp_path / "model.bin"), "hung:model.bin"])
    assert time.monotonic() - started < BOUND
    assert done.exit_code == 1
    assert "within the deadline of 1 s" in done.output
    assert done.exception is None or isinstance(done.exception, SystemExit)


#: Each flavor's emulator, and the raw filesystem that makes the bucket (container) CONFIGS names on it.
EMULATORS: dict[str, Callable[[Path], EmulatorServer]] = {"s3": start_s3, "gcs": start_gcs, "azure": start_azure}
FILESYSTEMS = {"s3": s3fs.S3FileSystem, "gcs": gcsfs.core.GCSFileSystem, "azure": adlfs.AzureBlobFileSystem}
#: A file's bytes are bounded by the read timeout per wait, not by the deadline; short here, as DEADLINE is.
READ_TIMEOUT = 0.5


class _HangAfterTheFirstFile(transfer.Progress):
    """Hangs the proxy once the first file has been copied, before its worker takes another, and notes when."""

    def __init__(self, proxy: LatencyProxy) -> None:
        self._proxy = proxy
        self._lock = threading.Lock()
        self.hung_at: float | None = None

    def done(self, path: str) -> None:
        with self._lock:
            if self.hung_at is None:
                self._proxy.hang()
                self.hung_at = time.monotonic()


@pytest.mark.parametrize("flavor", ["s3", "gcs", "azure"])
def test_a_server_that_hangs_mid_copy_fails_what_is_left_in_bounded_time(flavor: str, tmp_path: Path) -> None:
    """A real emulator behind the kit's proxy, which stops forwarding once the first file has arrived: requests
    already sent on the store's pooled connections, and those still to come, get no answer. Every file left fails
    as a timeout after its tries (each wait bounded by the read timeout, the tries counted), and the copy ends.

    On the old code s3's uploads waited for ever on a ``100 Continue`` from the hung server."""
    with EMULATORS[flavor](tmp_path / "server") as server, LatencyProxy(server.endpoint, delay=0) as proxy:
        bucket = CONFIGS[flavor]("")["path"].split("://")[1].split("/")[0]
        FILESYSTEMS[flavor](**server.storage_options, skip_instance_cache=True).mkdir(bucket)
        config = {**CONFIGS[flavor](proxy.endpoint), "deadline": DEADLINE, "read_timeout": READ_TIMEOUT, "retries": 0}
        Client().register_component("artifact_store", "far", flavor, config)
        source = tmp_path / "source"
        source.mkdir()
        for i in range(4):
            (source / f"f{i}").write_bytes(bytes([i]) * 1000)
        progress = _HangAfterTheFirstFile(proxy)
        backoff = sum(transfer.RETRY_DELAY * 2**attempt * 1.5 for attempt in range(transfer.RETRIES))
        bound = (transfer.RETRIES + 1) * READ_TIMEOUT + backoff + MARGIN
        result = ends_within(  # the first file's time, and the bound after it
            bound + 30, lambda: transfer.copy(f"{source}/", "far:copies/", recursive=True, jobs=3, progress=progress)
        )
        assert progress.hung_at is not None
        assert time.monotonic() - progress.hung_at < bound
        assert proxy.in_flight >= 1  # requests really were left unanswered
    assert len(result.copied) >= 1
    assert len(result.copied) + len(result.failed) == 4
    assert result.failed
    assert all("did not answer in time" in failure.reason for failure in result.failed), result.failed
    assert result.retries == transfer.RETRIES * len(result.failed)
