"""Incompatible plugins are told apart from broken ones: both versions, what to upgrade, and the rest still load."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from venvs import CORE, LOCAL, flavor_source, install, make_venv, write_plugin

#: distribution -> (module, source, requirements); the first two exclude the running core (0.1.0).
PLUGINS = {
    "cargohold-ancient": ("ancient_plugin", flavor_source("ancient"), ("cargohold<0",)),
    "cargohold-future": ("future_plugin", flavor_source("future"), ("cargohold>=9",)),
    "cargohold-api-next": ("api_next", "cargohold_api_version = 2\n" + flavor_source("api_next"), ("cargohold",)),
    "cargohold-api-old": ("api_old", "cargohold_api_version = 0\n" + flavor_source("api_old"), ("cargohold",)),
    "cargohold-needy": ("needy_plugin", "import libfoo_is_not_here\n", ("cargohold",)),
    "cargohold-good": ("good_plugin", flavor_source("good"), ("cargohold",)),
}


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("compatibility")
    dists = [write_plugin(where / "src", d, m, src, requires=req) for d, (m, src, req) in PLUGINS.items()]
    python = make_venv(where / "venv", CORE, LOCAL)
    install(python, *dists, no_deps=True)  # as they would sit beside a core they do not fit
    return python


def cargohold(python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python.parent / "cargohold"), *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def status(python: Path) -> dict[str, dict[str, str]]:
    result = cargohold(python, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    return {row["distribution"]: row for row in json.loads(result.stdout)}


def test_a_requirement_that_excludes_core_asks_to_upgrade_the_plugin(status: dict[str, dict[str, str]]) -> None:
    row = status["cargohold-ancient"]
    assert row["status"] == "is incompatible"
    assert row["error"] == (
        "it requires cargohold<0 but cargohold 0.1.0 is installed; "
        "upgrade cargohold-ancient to a release made for cargohold 0.1.0"
    )


def test_a_requirement_on_a_newer_core_asks_to_upgrade_core(status: dict[str, dict[str, str]]) -> None:
    row = status["cargohold-future"]
    assert row["status"] == "is incompatible"
    assert row["error"] == (
        "it requires cargohold>=9 but cargohold 0.1.0 is installed; upgrade cargohold: pip install 'cargohold>=9'"
    )


def test_a_plugin_api_mismatch_names_both_versions(status: dict[str, dict[str, str]]) -> None:
    newer, older = status["cargohold-api-next"], status["cargohold-api-old"]
    assert newer["status"] == older["status"] == "is incompatible"
    assert newer["error"] == (
        "it targets plugin API 2 (cargohold_api_version in api_next) but cargohold 0.1.0 offers plugin API 1; "
        "upgrade cargohold"
    )
    assert older["error"].startswith("it targets plugin API 0 (cargohold_api_version in api_old)")
    assert older["error"].endswith("upgrade cargohold-api-old to a release made for it")


def test_a_missing_dependency_is_not_called_incompatible(status: dict[str, dict[str, str]]) -> None:
    row = status["cargohold-needy"]
    assert row["status"] == "is missing a dependency"
    assert row["error"].startswith("it imports 'libfoo_is_not_here', which is not installed; reinstall cargohold-needy")


def test_the_rest_load_and_work(python: Path, status: dict[str, dict[str, str]], tmp_path: Path) -> None:
    assert status["cargohold-good"]["status"] == status["cargohold-local"]["status"] == "ok"
    listing = cargohold(python, "flavor", "list", "--json")
    assert {row["name"] for row in json.loads(listing.stdout)} == {"local", "good"}
    warned = [line for line in listing.stderr.splitlines() if "is incompatible" in line]
    assert len(warned) == 4
    code = (
        "from cargohold import fileio; fileio.allow_adhoc_stores(); "
        f"fileio.makedirs({str(tmp_path / 'd')!r}); print(fileio.listdir('{tmp_path}'))"
    )
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "['d']", result.stderr
