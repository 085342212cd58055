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
