"""Many processes writing at once: nothing is corrupted, no update is lost, the default stack is created once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from registry_kit import FLAVOR, cargohold, make_repo, ok, registry_rows

PROCESSES = 8
REGISTRATIONS = 50

# Each worker gets ready (imports done, flavor loaded), says so, and starts writing when the test says go.
WORKER = """
import json, sys
from cargohold.client import Client

phase, worker, count, url = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
client = Client()
if phase == "write":
    client.get_flavor("artifact_store", "folder")
print("ready", flush=True)
sys.stdin.readline()
if phase == "create":
    print(json.dumps([stack.name for stack in client.stacks()]))
else:
    for i in range(count):
        name = f"w{worker}-{i}"
        client.register_component("artifact_store", name, "folder", {"path": f"{url}/{name}", "token": f"t{worker}{i}"})
        client.update_secret("shared", {name: "x"})
    print(json.dumps(len(client.components("artifact_store"))))
"""


def run_at_once(home: Path, phase: str, url: str = "") -> list[str]:
    """Start the workers, wait until every one is ready, release them together and return their outputs."""
    env = {**os.environ, "CARGOHOLD_HOME": str(home)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(WORKER), phase, str(n), str(REGISTRATIONS), url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(PROCESSES)
    ]
    for worker in workers:
        assert worker.stdout is not None
        assert worker.stdout.readline() == "ready\n", worker.communicate()[1]
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    results = [worker.communicate() for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * PROCESSES, [err for _, err in results]
    return [out for out, _ in results]


def test_eight_processes_create_and_write_one_registry_at_once(tmp_path: Path, registry_backend: str) -> None:
    """On SQLite and on PostgreSQL: 400 rows, no error, no key of the shared secret lost."""
    home, repo = tmp_path / "home", make_repo(tmp_path / "repo", "concurrentpkg")

    created = run_at_once(home, "create")
    assert [json.loads(out) for out in created] == [["default"]] * PROCESSES

    ok(cargohold(home, "init", cwd=repo))
    ok(cargohold(home, "flavor", "register", f"concurrentpkg.{FLAVOR}", cwd=repo))
    ok(cargohold(home, "secret", "create", "shared", "--seed=x", cwd=repo))
    run_at_once(home, "write", f"folder://{tmp_path}/stores")

    names = [row[0] for row in registry_rows(home, "SELECT name FROM components WHERE name LIKE 'w%'")]
    owned = registry_rows(home, "SELECT count(*) FROM secrets WHERE owner IS NOT NULL")[0][0]
    shared = json.loads(str(registry_rows(home, "SELECT data FROM secrets WHERE name = 'shared'")[0][0]))
    stacks = registry_rows(home, "SELECT count(*) FROM stacks")[0][0]
    expected = {f"w{n}-{i}" for n in range(PROCESSES) for i in range(REGISTRATIONS)}
    assert len(names) == PROCESSES * REGISTRATIONS == 400
    assert set(names) == expected
    assert owned == 400  # every plain token went into its component's own secret
    assert set(shared) == expected | {"seed"}  # each read-modify-write of one secret kept every other one's key
    assert stacks == 1
    if registry_backend == "sqlite":
        conn = sqlite3.connect(home / "registry.db")
        checks = [
            conn.execute("PRAGMA integrity_check").fetchone()[0],
            conn.execute("PRAGMA journal_mode").fetchone()[0],
        ]
        conn.close()
        assert checks == ["ok", "wal"]
