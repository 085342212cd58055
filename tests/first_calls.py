"""Many threads in many new processes make their first ``cargohold.fileio`` writes at once under ``root``:
shared by tests/reliability and the benchmarks (R3). The processes carry decoy AWS credentials, so a write
routed anywhere but the registered store fails instead of landing elsewhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

_WRITER = """
import json, sys, threading
from cargohold import fileio

root, tag, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
barrier = threading.Barrier(threads)
errors = []

def write(i):
    barrier.wait()
    try:
        with fileio.open(f"{root}/{tag}-{i}.txt", "w") as f:
            f.write(f"{tag}-{i}")
        errors.append(None) if fileio.store_for(root).name == "reliable" else errors.append("misrouted")
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")

workers = [threading.Thread(target=write, args=(i,)) for i in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(json.dumps([e for e in errors if e]))
"""


def first_calls(root: str, processes: int, threads: int, scratch: Path) -> list[str]:
    """Every failure or misrouted write of ``processes`` x ``threads`` first writes under ``root``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIADECOYDECOYDECOY0",
        AWS_SECRET_ACCESS_KEY="decoy-credentials-that-must-never-be-used",
        AWS_CONFIG_FILE=str(scratch / "no-aws-config"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, root, f"p{n}", str(threads)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(processes)
    ]
    errors: list[str] = []
    for run in runs:
        out, err = run.communicate(timeout=600)
        errors += json.loads(out) if run.returncode == 0 else [err]
    return errors
