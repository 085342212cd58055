"""Every cloud flavor gives up within its deadline, plus a margin, on a server that hangs and on a closed port.

The deadline is set short here (1 s) so that the suite stays fast; the figures at the default go to the benchmarks.
"""

from __future__ import annotations

import os
import re
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

from cargohold import BaseArtifactStore
from cargohold.cli import main
from cargohold.client import Client
from cargohold_testkit.servers import HungServer, closed_port

DEADLINE = 1.0
#: Generous: the promise is deadline + 2 s, and the machine is shared.
BOUND = DEADLINE + 2.0


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
