"""Many processes writing one registry at once, shared by tests/reliability (scaled down) and the benchmarks
(at full size): mixed CLI chains, and read-then-update increments with revisions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

CLI = str(Path(sys.executable).with_name("cargohold"))
#: The counter's store: registering it reaches no server, so only the registry is exercised.
COUNTER = {"path": "s3://cargohold-reliability/counter", "credentials": "environment", "retries": 0}

_CHAINS = """
import json, subprocess, sys, time
cli, worker, chains = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.stdin.readline()  # every worker starts at once
failures, seconds = [], []
for chain in range(chains):
    name = f"w{worker}-c{chain}"
    path = f"--path=s3://cargohold-reliability/{name}"
    for args in (
        ["register", name, "--flavor", "s3", path, "--credentials=environment"],
        ["update", name, "--retries=4"],
        ["delete", name],
        ["register", name, "--flavor", "s3", path, "--credentials=environment", "--retries=1"],
    ):
        started = time.perf_counter()
        done = subprocess.run([cli, "artifact-store", *args], capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if done.returncode:
            failures.append(done.stderr.strip())
print(json.dumps({"failures": failures, "seconds": seconds}))
"""

_INCREMENTS = """
import json, sys
from cargohold import RevisionConflictError
from cargohold.client import Client

client, count, conflicts = Client(), int(sys.argv[1]), 0
sys.stdin.readline()  # every worker starts at once
for _ in range(count):
    while True:
        read = client.get_component("artifact_store", "counter")
        try:
            client.update_component(
                "artifact_store", "counter", {"retries": read.config["retries"] + 1},
                if_revision=read.revision,
            )
            break
        except RevisionConflictError:
            conflicts += 1
print(json.dumps(conflicts))
"""


@dataclass(frozen=True)
class Chains:
    """What the chain workers saw: each failed command's message, and each command's wall seconds."""

    failures: list[str]
    seconds: list[float]


def start(script: str, *args: str, home: Path) -> subprocess.Popen[str]:
    """A Python process running ``script`` on the registry in ``home``, talking through pipes."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "CARGOHOLD_HOME": str(home)},
    )


def together(processes: list[subprocess.Popen[str]]) -> list[str]:
    """Release the processes at once (each waits for a line) and return their outputs once all exited 0."""
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = [p.communicate(timeout=3600) for p in processes]
    if any(p.returncode for p in processes):
        raise AssertionError("a worker failed:\n" + "\n".join(err for _, err in results))
    return [out for out, _ in results]


def mixed_chains(home: Path, processes: int, chains: int) -> Chains:
    """``processes`` workers each run ``chains`` CLI chains register -> update -> delete -> register."""
    workers = [start(_CHAINS, CLI, str(w), str(chains), home=home) for w in range(processes)]
    found = [json.loads(out) for out in together(workers)]
    return Chains([f for one in found for f in one["failures"]], [s for one in found for s in one["seconds"]])


def increments(home: Path, processes: int, count: int) -> int:
    """``processes`` workers each add 1 to the counter's retries ``count`` times; the conflicts they met."""
    return sum(
        json.loads(out) for out in together([start(_INCREMENTS, str(count), home=home) for _ in range(processes)])
    )
