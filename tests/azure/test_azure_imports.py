"""With adlfs and the Azure SDK unimportable, the flavor is still listed, described and registered; building it
names the distribution to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: adlfs and what it brings: the Azure SDK namespace and its HTTP transport.
BLOCKED = ("adlfs", "azure", "aiohttp")
PRELUDE = f"import sys\nfor name in {BLOCKED!r}:\n    sys.modules[name] = None\n"
CLI = PRELUDE + "from cargohold.cli import main\nmain()\n"


def run(code: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CARGOHOLD_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)


@pytest.fixture
def home(cargohold_home: Path) -> Path:
    return cargohold_home


def test_the_blocked_modules_really_cannot_be_imported(home: Path) -> None:
    result = run(PRELUDE + "import adlfs\n", home=home)
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr


def test_flavor_list_and_describe_work_without_adlfs(home: Path) -> None:
    listed = run(CLI, "flavor", "list", home=home)
    assert listed.returncode == 0, listed.stderr
    assert any(
        line.split()[:3] == ["artifact_store", "azure", "cargohold-azure"] for line in listed.stdout.splitlines()
    )
    described = run(CLI, "flavor", "describe", "azure", home=home)
    assert described.returncode == 0, described.stderr
    for field in ("connection_string", "account_key", "sas_token", "client_secret", "retries"):
        assert field in described.stdout


def test_register_works_without_adlfs(home: Path) -> None:
    registered = run(
        CLI,
        "artifact-store",
        "register",
        "blob",
        "--flavor",
        "azure",
        "--path",
        "az://box/root",
        "--account_name",
        "acct",
        "--account_key=S0VZLU5PVC1TSE9XTg==",
        home=home,
    )
    assert registered.returncode == 0, registered.stderr
    assert "S0VZLU5PVC1TSE9XTg==" not in registered.stdout + registered.stderr
    listed = run(CLI, "artifact-store", "list", home=home)
    assert listed.returncode == 0, listed.stderr
    assert "blob" in listed.stdout


BUILD = (
    PRELUDE
    + """
from cargohold import MissingDependencyError
from cargohold_azure.flavor import AzureArtifactStoreFlavor
try:
    AzureArtifactStoreFlavor().build({"path": "az://box/root"})
except MissingDependencyError as exc:
    print(exc)
else:
    raise SystemExit("built without adlfs")
"""
)


def test_building_without_adlfs_names_the_distribution(home: Path) -> None:
    result = run(BUILD, home=home)
    assert result.returncode == 0, result.stderr
    assert "pip install cargohold-azure" in result.stdout
