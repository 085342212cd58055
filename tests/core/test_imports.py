"""Importing cargohold and listing flavors stay cheap: no heavy library, no network, no writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run_python(code: str, home: Path) -> str:
    env = {"CARGOHOLD_HOME": str(home), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


IMPORT_ONLY = """
import json, sys
import cargohold
loaded = sorted(m for m in sys.modules if m.startswith(("cargohold", "pydantic", "pluggy")))
print(json.dumps(loaded))
"""


def test_import_cargohold_loads_nothing_but_its_version(tmp_path: Path) -> None:
    assert json.loads(run_python(IMPORT_ONLY, tmp_path)) == ["cargohold", "cargohold._version"]


def test_the_public_api_resolves_every_name() -> None:
    import cargohold

    missing = [name for name in cargohold.__all__ if getattr(cargohold, name, None) is None]
    assert missing == []


LIST = """
import sys
from cargohold.cli import main
try:
    main(sys.argv[1:], prog_name="cargohold")
except SystemExit as exc:
    assert exc.code == 0, exc.code
print("pydantic" in sys.modules, file=sys.stderr)
"""


def test_both_flavor_listings_import_no_pydantic(tmp_path: Path) -> None:
    env = {"CARGOHOLD_HOME": str(tmp_path / "home"), "CARGOHOLD_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    imported = {}
    for args in (["flavor", "list"], ["flavor", "list"], ["artifact-store", "flavor", "list"]):
        result = subprocess.run(
            [sys.executable, "-c", LIST, *args], capture_output=True, text=True, env=env, check=False
        )
        assert result.returncode == 0, result.stderr
        imported[" ".join(args)] = result.stderr.splitlines()[-1]
    # the first run imported the plugins to fill the cache; every later one lists from it
    assert imported == {"flavor list": "False", "artifact-store flavor list": "False"}
