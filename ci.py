"""Run every nox session tagged ``ci``, two at a time, and end with one line counting those that passed and failed.

Most sessions spend their time waiting on an emulator or on installs, so two lanes keep a two-core machine
busy where one leaves it half idle. Each session's output is kept in its own log and printed whole when the
session ends, so no two sessions' lines mix. ``CARGOHOLD_CI_LANES=1`` runs them one after another, and any
arguments are passed to every pytest run (``python3 ci.py -x``).
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).parent
#: Started first, as the longest: a lane that takes it early leaves the short ones to fill in beside it.
LONGEST_FIRST = ("tests_integration", "min_versions", "tests_testkit", "tests_core")
#: min_versions runs these same tests on the same Python with every dependency at its floor; their twins at the
#: newest versions are left to ``nox`` alone, which keeps CI under 45 minutes on two cores.
AT_FLOORS_IN_CI = ("tests_core-3.11", "tests_plugin(python='3.11', plugin='local')")
_print_lock = threading.Lock()


def sessions() -> list[str]:
    """The names of the noxfile's ci sessions but those min_versions covers, longest kinds first."""
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "--list", "--json", "-t", "ci"], cwd=ROOT, capture_output=True, text=True
    )
    if listed.returncode != 0:
        sys.exit(f"nox could not list the sessions:\n{listed.stderr}")
    names = [entry["session"] for entry in json.loads(listed.stdout) if entry["session"] not in AT_FLOORS_IN_CI]
    rank = {kind: i for i, kind in enumerate(LONGEST_FIRST)}
    return sorted(names, key=lambda name: rank.get(name.partition("(")[0].partition("-")[0], len(rank)))


def run(session: str, pytest_args: list[str], logs: Path) -> tuple[str, int, float]:
    """One session, its output in a log that is printed whole when it ends; its exit code and minutes."""
    log = logs / (re.sub(r"\W+", "_", session) + ".log")
    started = time.monotonic()
    command = [sys.executable, "-m", "nox", "-s", session]
    if pytest_args:
        command += ["--", *pytest_args]
    with log.open("w") as out:
        code = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT).returncode
    minutes = (time.monotonic() - started) / 60
    with _print_lock:
        print(f"\n===== {session}: {'passed' if code == 0 else 'FAILED'} in {minutes:.1f} min =====", flush=True)
        print(log.read_text(), flush=True)
    return session, code, minutes


def main() -> int:
    lanes = int(os.environ.get("CARGOHOLD_CI_LANES", "2"))
    names = sessions()
    print(f"{len(names)} nox sessions in {lanes} lanes: {', '.join(names)}", flush=True)
    with (
        tempfile.TemporaryDirectory(prefix="cargohold-ci-") as folder,
        concurrent.futures.ThreadPoolExecutor(lanes) as pool,
    ):
        results = list(pool.map(lambda name: run(name, sys.argv[1:], Path(folder)), names))
    failed = [name for name, code, _ in results if code != 0]
    print("\n===== sessions =====")
    for name, code, minutes in results:
        print(f"{'ok    ' if code == 0 else 'FAILED'} {minutes:5.1f} min  {name}")
    print(f"sessions: {len(results) - len(failed)} passed, {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
