"""With gcsfs and its libraries unimportable, the CLI still lists, describes and registers gcs stores,
and building one says which distribution to install."""

from __future__ import annotations

import json
import subprocess
import sys

#: gcsfs and the libraries it brings: none of them may be needed before a gcs store is used.
BLOCKED = ("gcsfs", "google", "aiohttp", "requests", "fsspec")

SCRIPT = """
import json, sys
for name in {blocked!r}:
    sys.modules[name] = None  # "import name" now raises ImportError
from cargohold.cli import main

def run(*args):
    print("$ cargohold", *args, flush=True)
    try:
        main(list(args))
    except SystemExit as exc:
        assert exc.code in (0, None), f"cargohold {{' '.join(args)}} exited with {{exc.code}}"

run("flavor", "list")
run("flavor", "describe", "gcs", "--json")
run("artifact-store", "register", "offline", "--flavor", "gcs", "--path", "gs://bucket/root", "--credentials=anonymous")
run("artifact-store", "describe", "offline")
from cargohold import MissingDependencyError
from cargohold.client import Client
try:
    Client().get_artifact_store("offline")
except MissingDependencyError as exc:
    print("MISSING:", exc)
"""


def test_the_cli_works_without_gcsfs_and_building_names_the_distribution() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(blocked=BLOCKED)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    listing = out.split("$ cargohold flavor describe")[0].splitlines()
    assert any(line.split()[:3] == ["artifact_store", "gcs", "cargohold-gcs"] for line in listing), out
    described = json.loads(out.split("$ cargohold flavor describe gcs --json\n")[1].split("$ cargohold")[0])
    fields = described["config_schema"]["properties"]
    assert {"path", "project", "token", "endpoint_url", "zonal_hns_support"} <= set(fields)
    assert fields["token"]["secret"] is True
    assert "Registered the artifact store 'offline' of flavor 'gcs'." in out
    missing = [line for line in out.splitlines() if line.startswith("MISSING:")]
    assert len(missing) == 1, out
    assert "pip install cargohold-gcs" in missing[0]
