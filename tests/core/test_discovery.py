"""Discovery over real installed distributions: good, broken, raising, junk, clashing and incompatible plugins."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from venvs import CORE, LOCAL, flavor_source, install, make_venv, write_plugin

#: A flavor written as ZenML's guide writes one: properties on an instance, a plain set of schemes, and an
#: implementation_class that must never be called by listing, describing or registering.
ZENML_STYLE = """\
from typing import ClassVar, Set

from cargohold import hookimpl
from cargohold.artifact_stores import BaseArtifactStoreConfig, BaseArtifactStoreFlavor


class ZenConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[Set[str]] = {"zen://"}
    depth: int = 1


class ZenFlavor(BaseArtifactStoreFlavor):
    @property
    def name(self):
        return "zenml_style"

    @property
    def config_class(self):
        return ZenConfig

    @property
    def implementation_class(self):
        raise RuntimeError("implementation_class was called")

    @property
    def docs_url(self):
        return "https://example.com/zen"


@hookimpl
def cargohold_flavors():
    return [ZenFlavor]
"""

PLUGINS = {
    "cargohold-good": ("good_plugin", flavor_source("good"), ("cargohold",)),
    "cargohold-broken": ("broken_plugin", "raise ImportError('needs libfoo, which is absent')\n", ("cargohold",)),
    "cargohold-raises": (
        "raising_plugin",
        "from cargohold import hookimpl\n\n@hookimpl\ndef cargohold_flavors():\n    raise RuntimeError('boom')\n",
        ("cargohold",),
    ),
    "cargohold-junk": (
        "junk_plugin",
        "from cargohold import hookimpl\n\n@hookimpl\ndef cargohold_flavors():\n    return ['not a flavor']\n",
        ("cargohold",),
    ),
    "cargohold-dupe-a": ("dupe_a", flavor_source("dupe"), ("cargohold",)),
    "cargohold-dupe-b": ("dupe_b", flavor_source("dupe"), ("cargohold",)),
    "cargohold-alien": ("alien_plugin", flavor_source("alien", component_type="model_registry"), ("cargohold",)),
    "cargohold-wrong-signature": (
        "wrong_signature",
        "from cargohold import hookimpl\n\n@hookimpl\ndef cargohold_flavors(extra):\n    return []\n",
        ("cargohold",),
    ),
    "cargohold-misspelled": (
        "misspelled_plugin",
        "from cargohold import hookimpl\n\n@hookimpl\ndef cargohold_flavours():\n    return []\n",
        ("cargohold",),
    ),
    "cargohold-zenml-style": ("zenml_style", ZENML_STYLE, ("cargohold",)),
    "cargohold-ancient": ("ancient_plugin", flavor_source("ancient"), ("cargohold<0",)),
}
#: Every distribution above that fails, by design.
FAILING = ("cargohold-broken", "cargohold-raises", "cargohold-junk", "cargohold-dupe-a", "cargohold-dupe-b")
FAILING += ("cargohold-alien", "cargohold-ancient", "cargohold-wrong-signature", "cargohold-misspelled")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("discovery")
    dists = [write_plugin(where / "src", d, m, src, requires=req) for d, (m, src, req) in PLUGINS.items()]
    # The incompatible plugin must install anyway, as it would beside an older core: no dependency resolution.
    python = make_venv(where / "venv", CORE, LOCAL, *dists[:-1])
    install(python, dists[-1], no_deps=True)
    return python


def cli(python: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    cargohold = python.parent / "cargohold"
    full_env = {**os.environ, **env}
    return subprocess.run([str(cargohold), *args], capture_output=True, text=True, env=full_env, check=False)


def plugins_by_dist(python: Path, **env: str) -> dict[str, dict[str, object]]:
    result = cli(python, "plugins", "--json", **env)
    assert result.returncode == 0, result.stderr
    return {row["distribution"]: row for row in json.loads(result.stdout)}


def test_good_plugins_are_listed_and_failures_are_skipped(venv: Path) -> None:
    result = cli(venv, "flavor", "list", "--json")
    assert result.returncode == 0, result.stderr
    names = {(r["type"], r["name"], r["source"]) for r in json.loads(result.stdout)}
    assert names == {
        ("artifact_store", "local", "cargohold-local"),
        ("artifact_store", "good", "cargohold-good"),
        ("artifact_store", "zenml_style", "cargohold-zenml-style"),
    }


def test_the_table_shows_distribution_and_version(venv: Path) -> None:
    result = cli(venv, "flavor", "list")
    assert result.returncode == 0
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["artifact_store", "local", "cargohold-local", "0.1.0"] in rows
    assert cli(venv, "artifact-store", "flavor", "list").stdout == result.stdout


def test_each_failure_is_recorded_with_its_reason(venv: Path) -> None:
    rows = plugins_by_dist(venv)
    assert rows["cargohold-good"]["status"] == "ok"
    assert rows["cargohold-good"]["flavors"] == ["artifact_store:good"]
    assert rows["cargohold-broken"]["status"] == "failed"
    assert "ImportError: needs libfoo" in str(rows["cargohold-broken"]["error"])
    assert "raised RuntimeError: boom" in str(rows["cargohold-raises"]["error"])
    assert "not a list of Flavor classes" in str(rows["cargohold-junk"]["error"])
    assert "type 'model_registry' is unknown" in str(rows["cargohold-alien"]["error"])
    assert rows["cargohold-ancient"]["status"] == "is incompatible"
    assert "requires cargohold<0 but cargohold 0.1.0 is installed" in str(rows["cargohold-ancient"]["error"])
    for dist in ("cargohold-dupe-a", "cargohold-dupe-b"):
        assert rows[dist]["status"] == "conflicts"
        assert "cargohold-dupe-a 1.0" in str(rows[dist]["error"])
        assert "cargohold-dupe-b 1.0" in str(rows[dist]["error"])


def test_failures_warn_on_stderr_one_line_each(venv: Path) -> None:
    lines = cli(venv, "flavor", "list").stderr.splitlines()
    assert all(line.startswith("Warning: Plugin ") for line in lines)
    for dist in FAILING:
        assert sum(dist in line for line in lines) >= 1


def test_blocking_resolves_a_clash_and_silences_the_broken(venv: Path) -> None:
    env = {"CARGOHOLD_DISABLE_PLUGINS": "cargohold-dupe-b,broken_plugin"}
    result = cli(venv, "flavor", "list", "--json", **env)
    names = {r["name"] for r in json.loads(result.stdout)}
    assert names == {"local", "good", "dupe", "zenml_style"}
    assert "cargohold-broken" not in result.stderr
    assert "cargohold-broken" not in plugins_by_dist(venv, **env)


def test_strict_mode_turns_a_failure_into_an_error(venv: Path) -> None:
    result = cli(venv, "flavor", "list", CARGOHOLD_STRICT_PLUGINS="1")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Plugin")
    assert result.stdout == ""


def test_describe_a_plugin_flavor(venv: Path) -> None:
    result = cli(venv, "flavor", "describe", "good", "--json")
    data = json.loads(result.stdout)
    assert (data["name"], data["source"], data["version"]) == ("good", "cargohold-good", "1.0")
    assert [f["name"] for f in data["fields"]] == ["path"]
    assert data["config_schema"]["required"] == ["path"]


def test_describe_an_unknown_flavor_is_one_sentence(venv: Path) -> None:
    result = cli(venv, "flavor", "describe", "nope")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if not line.startswith("Warning: ")]
    assert len(errors) == 1
    assert errors[0].startswith("Error: No artifact_store flavor named 'nope'")
    assert "known: good, local, zenml_style" in errors[0]


def test_a_hook_with_a_wrong_signature_or_name_is_a_plugin_failure(venv: Path) -> None:
    rows = plugins_by_dist(venv)
    wrong, misspelled = rows["cargohold-wrong-signature"], rows["cargohold-misspelled"]
    assert wrong["status"] == misspelled["status"] == "failed"
    assert "hookimpl definition: cargohold_flavors(extra)" in str(wrong["error"])
    assert "\n" not in str(wrong["error"])
    assert "cargohold_flavours (did you mean cargohold_flavors?)" in str(misspelled["error"])
    table = cli(venv, "plugins").stdout
    assert "cargohold-wrong-signature" in table
    assert "cargohold-misspelled" in table
    assert rows["cargohold-good"]["status"] == "ok"  # isolated: the others still load


@pytest.mark.parametrize(
    ("dist", "cause"), [("wrong-signature", "cargohold_flavors(extra)"), ("misspelled", "flavours")]
)
def test_strict_mode_refuses_a_wrong_hook(venv: Path, dist: str, cause: str) -> None:
    others = ",".join(d for d in FAILING if d != f"cargohold-{dist}")
    result = cli(venv, "flavor", "list", CARGOHOLD_STRICT_PLUGINS="1", CARGOHOLD_DISABLE_PLUGINS=others)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: Plugin ")
    assert f"cargohold-{dist} 1.0 failed" in result.stderr
    assert cause in result.stderr


def test_a_zenml_style_plugin_flavor_lists_describes_and_registers_without_its_implementation(
    venv: Path, tmp_path: Path
) -> None:
    described = json.loads(cli(venv, "artifact-store", "flavor", "describe", "zenml_style", "--json").stdout)
    assert [f["name"] for f in described["fields"]] == ["path", "depth"]
    assert described["docs_url"] == "https://example.com/zen"
    home = str(tmp_path / "home")
    result = cli(
        venv, "artifact-store", "register", "zen", "-f", "zenml_style", "--path=zen://bucket/x", CARGOHOLD_HOME=home
    )
    assert result.returncode == 0, result.stderr
    refused = cli(venv, "artifact-store", "register", "z2", "-f", "zenml_style", "--path=s3://b/x", CARGOHOLD_HOME=home)
    assert "use zen://" in refused.stderr  # the plain set is the config's schemes


def test_doctor_names_every_failing_plugin_and_what_to_do(venv: Path, tmp_path: Path) -> None:
    result = cli(venv, "doctor", "--json", CARGOHOLD_HOME=str(tmp_path / "home"))
    assert result.returncode == 1
    found = json.loads(result.stdout)
    assert {p["check"] for p in found} == {"plugin"}
    assert {d for d in FAILING if any(d in p["subject"] for p in found)} == set(FAILING)
    misspelled = next(p for p in found if "cargohold-misspelled" in p["subject"])
    assert "did you mean cargohold_flavors?" in misspelled["problem"]
    assert misspelled["fix"].endswith("or block it with CARGOHOLD_DISABLE_PLUGINS=cargohold-misspelled")
    assert not (tmp_path / "home").exists()  # doctor creates no registry
