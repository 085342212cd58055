"""The azure flavor through the CLI: credentials in a secret, a stack, and new processes using it through fileio."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cargohold_testkit.servers import AZURITE_ACCOUNT_KEY

CLI = "from cargohold.cli import main\nmain()\n"


class Cargohold:
    """cargohold run in fresh processes sharing one CARGOHOLD_HOME, with every output kept for the leak check."""

    def __init__(self, home: Path) -> None:
        self.env = {**os.environ, "CARGOHOLD_HOME": str(home)}
        self.outputs: list[str] = []

    def python(self, code: str, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, env=self.env, check=False
        )
        self.outputs += [result.stdout, result.stderr]
        assert result.returncode == 0, result.stderr
        return result.stdout

    def __call__(self, *args: str) -> str:
        return self.python(CLI, *args)


@pytest.fixture
def cargohold(cargohold_home: Path) -> Cargohold:
    return Cargohold(cargohold_home)


WRITE = """
from cargohold import fileio
with fileio.open("{root}/run/metrics.json", "w") as f:
    f.write('{{"loss": 0.25}}')
"""

READ = """
from cargohold import fileio
print(fileio.listdir("{root}/run"), fileio.open("{root}/run/metrics.json").read())
"""


def test_a_store_whose_credentials_are_a_secret_serves_new_processes(
    cargohold: Cargohold, connection_string: str, container: str
) -> None:
    root = f"az://{container}/cli-stack"
    cargohold("secret", "create", "azurite", f"--connection_string={connection_string}")
    cargohold(
        "artifact-store",
        "register",
        "blob",
        "--flavor",
        "azure",
        f"--path={root}",
        "--connection_string={{azurite.connection_string}}",
        "--retries=1",
    )
    cargohold("stack", "register", "cloud", "--artifact-store", "blob")
    cargohold("stack", "set", "cloud")
    cargohold.python(WRITE.format(root=root))
    read = cargohold.python(READ.format(root=root))
    assert read.strip() == "['metrics.json'] {\"loss\": 0.25}"
    described = cargohold("artifact-store", "describe", "blob")
    assert root in described
    assert "{{azurite.connection_string}}" in described
    assert "blob" in cargohold("stack", "describe", "cloud")
    assert "blob" in cargohold("secret", "describe", "azurite")  # who uses it
    cargohold("artifact-store", "list", "--json")
    cargohold("secret", "list")
    leaks = [out for out in cargohold.outputs if AZURITE_ACCOUNT_KEY in out or connection_string in out]
    assert leaks == []


def test_plain_credentials_given_to_register_never_show(cargohold: Cargohold, connection_string: str) -> None:
    register = ("artifact-store", "register", "direct", "--flavor", "azure", "--path=az://box/direct")
    cargohold(*register, "--account_name=acct", f"--account_key={AZURITE_ACCOUNT_KEY}")
    cargohold("artifact-store", "describe", "direct")
    cargohold("artifact-store", "list", "--json")
    cargohold("artifact-store", "describe", "direct", "--json")
    cargohold("secret", "list")
    clash = ("artifact-store", "register", "clash", "--flavor", "azure", "--path=az://box/x")
    clash += (f"--connection_string={connection_string}", f"--account_key={AZURITE_ACCOUNT_KEY}")
    failed = subprocess.run(
        [sys.executable, "-c", CLI, *clash], capture_output=True, text=True, env=cargohold.env, check=False
    )
    assert failed.returncode != 0
    assert "connection_string already holds the account and its credentials, so drop account_key" in failed.stderr
    leaks = [out for out in [*cargohold.outputs, failed.stdout, failed.stderr] if AZURITE_ACCOUNT_KEY in out]
    assert leaks == []
