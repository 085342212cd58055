"""The discovery cache: a warm process lists flavors without importing plugins, and any change is seen at once."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from venvs import CORE, LOCAL, flavor_source, install, make_venv, write_plugin

#: Lists flavors, then reports which plugin modules the listing imported, then uses one flavor.
PROBE = """
import json, sys
from cargohold.client import Client
infos = Client().flavors()
before = sorted(m for m in sys.modules if m.endswith("_plugin"))
chosen = [i for i in infos if i.name == sys.argv[1]]
flavor = chosen[0].usable_flavor() if chosen else None
print(json.dumps({
    "flavors": sorted(i.name for i in infos),
    "imported_by_listing": before,
    "used": type(flavor).__module__ if flavor else None,
}))
"""


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("cache-plugins")
    for name in ("alpha", "beta", "gamma"):
        write_plugin(where, f"cargohold-{name}", f"{name}_plugin", flavor_source(name))
    return where


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, plugins: Path) -> Path:
    """Core, local and alpha installed; beta is installed editable by one test and removed again."""
    return make_venv(tmp_path_factory.mktemp("cache-venv") / "venv", CORE, LOCAL, plugins / "cargohold-alpha")


def probe(python: Path, use: str = "", **env: str) -> dict[str, object]:
    result = subprocess.run(
        [str(python), "-c", PROBE, use], capture_output=True, text=True, env={**os.environ, **env}, check=False
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def cache_files(cache: Path) -> list[Path]:
    return sorted(cache.glob("plugins-*.json"))


def test_a_warm_process_lists_flavors_without_importing_any_plugin(venv: Path, cargohold_cache: Path) -> None:
    cold = probe(venv)
    assert cold["imported_by_listing"] == ["alpha_plugin"]  # the first process imports to find out
    assert len(cache_files(cargohold_cache)) == 1
    warm = probe(venv, "alpha")
    assert warm["flavors"] == cold["flavors"] == ["alpha", "local"]
    assert warm["imported_by_listing"] == []
    assert warm["used"] == "alpha_plugin"  # asking for the flavor imports its plugin then


def test_installing_and_uninstalling_a_plugin_is_seen_by_the_next_process(
    venv: Path, plugins: Path, cargohold_cache: Path
) -> None:
    assert probe(venv)["flavors"] == ["alpha", "local"]
    install(venv, plugins / "cargohold-gamma")
    try:
        assert probe(venv, "gamma")["flavors"] == ["alpha", "gamma", "local"]
    finally:
        subprocess.run(["uv", "pip", "uninstall", "-q", "--python", str(venv), "cargohold-gamma"], check=True)
    assert probe(venv)["flavors"] == ["alpha", "local"]


def test_editing_an_editable_plugin_is_seen_by_the_next_process(
    venv: Path, plugins: Path, cargohold_cache: Path
) -> None:
    source = plugins / "cargohold-beta" / "beta_plugin" / "__init__.py"
    original = source.read_text()
    install(venv, "-e", plugins / "cargohold-beta")
    try:
        assert probe(venv)["flavors"] == ["alpha", "beta", "local"]
        assert probe(venv)["imported_by_listing"] == []
        source.write_text(original.replace('name = "beta"', 'name = "beta_renamed"'))
        assert probe(venv, "beta_renamed")["flavors"] == ["alpha", "beta_renamed", "local"]
    finally:
        source.write_text(original)
        subprocess.run(["uv", "pip", "uninstall", "-q", "--python", str(venv), "cargohold-beta"], check=True)


def test_a_cached_failure_still_warns_and_its_plugin_is_tried_again(
    venv: Path, plugins: Path, cargohold_cache: Path
) -> None:
    broken = write_plugin(plugins, "cargohold-broken", "broken_plugin", "raise ImportError('needs libfoo')\n")
    install(venv, broken)
    try:
        cargohold = str(venv.parent / "cargohold")
        runs = [subprocess.run([cargohold, "flavor", "list"], capture_output=True, text=True) for _ in range(2)]
        for run in runs:
            assert run.returncode == 0
            assert "Warning: Plugin 'broken_plugin' from cargohold-broken 1.0 failed" in run.stderr
    finally:
        subprocess.run(["uv", "pip", "uninstall", "-q", "--python", str(venv), "cargohold-broken"], check=True)


def test_a_plugin_that_changed_unseen_is_one_clear_error_and_the_cache_is_cleared(
    venv: Path, cargohold_cache: Path
) -> None:
    probe(venv)
    (cache,) = cache_files(cargohold_cache)
    data = json.loads(cache.read_text())
    for record in data[1]:
        record[7] = [[t, "ghost" if n == "alpha" else n, d] for t, n, d in record[7]]
    cache.write_text(json.dumps(data))
    cargohold = str(venv.parent / "cargohold")
    listed = subprocess.run([cargohold, "flavor", "list", "--json"], capture_output=True, text=True, check=True)
    assert "ghost" in {row["name"] for row in json.loads(listed.stdout)}
    used = subprocess.run([cargohold, "flavor", "describe", "ghost"], capture_output=True, text=True)
    assert used.returncode == 1
    assert used.stderr.strip().splitlines() == [
        "Error: Plugin 'alpha_plugin' from cargohold-alpha 1.0 failed: it no longer provides the artifact_store "
        "flavor 'ghost' it gave when cargohold last looked; run the command again (what discovery cached has "
        "been cleared)"
    ]
    assert cache_files(cargohold_cache) == []
    assert probe(venv)["flavors"] == ["alpha", "local"]


def test_a_cache_that_cannot_be_written_changes_nothing(venv: Path, cargohold_cache: Path) -> None:
    cargohold_cache.rmdir()
    cargohold_cache.write_text("a file where the cache folder would go")
    for _ in range(2):  # quietly, every time: any warning is an error in these processes
        assert probe(venv, "alpha", PYTHONWARNINGS="error")["used"] == "alpha_plugin"
        assert probe(venv, PYTHONWARNINGS="error")["imported_by_listing"] == ["alpha_plugin"]


def test_the_cache_can_be_turned_off(venv: Path, cargohold_cache: Path) -> None:
    for _ in range(2):
        assert probe(venv, CARGOHOLD_NO_PLUGIN_CACHE="1")["imported_by_listing"] == ["alpha_plugin"]
    assert cache_files(cargohold_cache) == []


def test_strict_mode_always_discovers_afresh(venv: Path, cargohold_cache: Path) -> None:
    probe(venv)
    assert probe(venv, CARGOHOLD_STRICT_PLUGINS="1")["imported_by_listing"] == ["alpha_plugin"]
