"""The registry under many writers: no "database is locked", no lost update, no leftovers of a killed creation.

Scaled down from the issue's figures (8 processes x 50 CLI chains, 8 x 25 increments), which ``nox -s bench``
runs at full size. Processes wait for each other on pipes, never on sleeps.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
from registry_load import CLI, COUNTER, increments, mixed_chains, start, together

from cargohold.client import Client

_HOLDER = """
import sys
from cargohold.client import Client
with Client().registry.write():
    print("holding", flush=True)
    sys.stdin.readline()
"""


@pytest.fixture
def holder(cargohold_home: Path) -> subprocess.Popen[str]:
    """A process that holds the registry's write transaction until a line arrives on its stdin."""
    Client().stacks()  # the registry exists before anyone holds it
    process = start(_HOLDER, home=cargohold_home)
    assert process.stdout is not None
    assert process.stdout.readline() == "holding\n", process.communicate()[1]
    return process


_PATIENT_WRITER = """
import sys
from cargohold.registry import _registry
from cargohold.cli import main

_registry.BUSY_TIMEOUT_SECONDS = 1.0  # SQLite's busy handler alone would give up after this
_registry.WAIT_REPORT_SECONDS = (0.0, 60.0)
main(sys.argv[1:], prog_name="cargohold")
"""


def test_a_writer_kept_waiting_past_the_busy_timeout_says_so_and_then_writes(
    holder: subprocess.Popen[str], cargohold_home: Path
) -> None:
    args = ["artifact-store", "register", "patient", "--flavor", "s3", *(f"--{k}={v}" for k, v in COUNTER.items())]
    writer = start(_PATIENT_WRITER, *args, home=cargohold_home)
    assert writer.stderr is not None
    line = writer.stderr.readline()
    assert "Still waiting for another process to finish writing the registry" in line, line + writer.stderr.read()
    holder.communicate("go\n", timeout=60)
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert "Registered the artifact store 'patient'" in out
    assert Client().get_component("artifact_store", "patient").config["retries"] == 0


def test_bad_input_is_refused_at_once_while_another_process_writes(
    holder: subprocess.Popen[str], cargohold_home: Path
) -> None:
    """Validation runs before the write lock: a wrong config never waits for, nor holds, the lock."""
    writer = start(
        _PATIENT_WRITER,
        *["artifact-store", "register", "bad", "--flavor", "s3", "--path=s3://b/x", "--retries=-1"],
        home=cargohold_home,
    )
    _, err = writer.communicate(timeout=120)
    holder.communicate("go\n", timeout=60)
    assert writer.returncode == 1
    assert "retries: Input should be greater than or equal to 0" in err
    assert "Still waiting" not in err
    assert "locked" not in err


@pytest.mark.usefixtures("registry_backend")
def test_mixed_cli_chains_from_many_processes_all_succeed(cargohold_home: Path) -> None:
    processes, chains = 6, 3
    Client().stacks()
    assert mixed_chains(cargohold_home, processes, chains).failures == []
    names = {c.name for c in Client().components("artifact_store")} - {"default"}
    assert names == {f"w{w}-c{c}" for w in range(processes) for c in range(chains)}
    assert {c.config["retries"] for c in Client().components("artifact_store") if c.name != "default"} == {1}


@pytest.mark.usefixtures("registry_backend")
def test_increments_from_many_processes_lose_no_update(cargohold_home: Path) -> None:
    processes, count = 8, 25
    registered = Client().register_component("artifact_store", "counter", "s3", COUNTER)
    conflicts = increments(cargohold_home, processes, count)
    counter = Client().get_component("artifact_store", "counter")
    assert counter.config["retries"] == processes * count
    assert counter.revision == registered.revision + processes * count
    assert conflicts > 0  # the writers did meet, and the conflicts were caught


_CLI_INCREMENTS = """
import json, subprocess, sys
cli, count = sys.argv[1], int(sys.argv[2])
for _ in range(count):
    while True:
        described = subprocess.run([cli, "artifact-store", "describe", "counter", "--json"], capture_output=True,
                                   text=True, check=True)
        read = json.loads(described.stdout)
        done = subprocess.run(
            [cli, "artifact-store", "update", "counter", f"--retries={read['config']['retries'] + 1}",
             f"--if-revision={read['revision']}"], capture_output=True, text=True,
        )
        if done.returncode == 0:
            break
        assert "someone changed it since you read it" in done.stderr, done.stderr
"""


@pytest.mark.usefixtures("registry_backend")
def test_cli_increments_with_if_revision_lose_no_update(cargohold_home: Path) -> None:
    processes, increments = 4, 4
    Client().register_component("artifact_store", "counter", "s3", COUNTER)
    together([start(_CLI_INCREMENTS, CLI, str(increments), home=cargohold_home) for _ in range(processes)])
    assert Client().get_component("artifact_store", "counter").config["retries"] == processes * increments


@pytest.mark.usefixtures("registry_backend")
def test_a_stale_revision_is_refused_and_changes_nothing() -> None:
    client = Client()
    first = client.register_component("artifact_store", "counter", "s3", COUNTER)
    second = client.update_component("artifact_store", "counter", {"retries": 7}, if_revision=first.revision)
    assert second.revision == first.revision + 1
    with pytest.raises(Exception, match=r"is at revision 2, not 1: someone changed it since you read it") as caught:
        client.update_component("artifact_store", "counter", {"retries": 9}, if_revision=first.revision)
    assert type(caught.value).__name__ == "RevisionConflictError"
    assert client.get_component("artifact_store", "counter") == second


_CREATOR = """
import sys
from pathlib import Path
from cargohold.registry import Registry

def default_store():
    print("creating", flush=True)
    sys.stdin.readline()  # held here, halfway through creating the file, until told or killed
    return ("local", {"path": sys.argv[2]})

with Registry(Path(sys.argv[1]), default_store).read() as tx:
    print(sorted(tx.active_stack().components), flush=True)
"""


def _staged(home: Path) -> list[str]:
    return sorted(p.name for p in home.glob(".registry.db.*.new*"))


def test_a_creation_killed_midway_leaves_nothing_after_the_next_open(cargohold_home: Path, tmp_path: Path) -> None:
    creator = start(_CREATOR, str(cargohold_home / "registry.db"), str(tmp_path / "store"), home=cargohold_home)
    assert creator.stdout is not None
    assert creator.stdout.readline() == "creating\n", creator.communicate()[1]
    assert _staged(cargohold_home)  # the half-made file, and its -wal and -shm
    creator.send_signal(signal.SIGKILL)
    creator.wait(timeout=60)
    assert Client().get_stack("default").name == "default"
    assert _staged(cargohold_home) == []


def test_an_open_never_touches_a_creation_in_progress(cargohold_home: Path, tmp_path: Path) -> None:
    creator = start(_CREATOR, str(cargohold_home / "registry.db"), str(tmp_path / "store"), home=cargohold_home)
    assert creator.stdout is not None
    assert creator.stdout.readline() == "creating\n", creator.communicate()[1]
    in_progress = _staged(cargohold_home)
    reader = start(_PATIENT_WRITER, "stack", "list", "--json", home=cargohold_home)
    assert reader.stderr is not None
    assert "Still waiting" in reader.stderr.readline()  # the reader waits for the creation to finish ...
    assert set(in_progress) <= set(_staged(cargohold_home))  # ... and leaves its files alone meanwhile
    out, err = creator.communicate("go\n", timeout=60)
    assert creator.returncode == 0, err
    assert out.strip() == "['artifact_store']"
    listed, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    assert [stack["name"] for stack in json.loads(listed)] == ["default"]
    assert _staged(cargohold_home) == []
