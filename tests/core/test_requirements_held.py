"""Promises that no test held before (a mutation check removed each and everything passed): configs are frozen,
SUPPORTED_SCHEMES is checked when a config class is made, a custom flavor resolved from the working directory
or with an implementation that cannot import yet warns, and a plugin can add a component type."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import ValidationError
from registry_kit import cargohold, make_repo, ok
from venvs import CORE, install, make_venv, write_plugin

from cargohold.artifact_stores import BaseArtifactStoreConfig


class FrozenConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"frozen://"})


def test_a_config_cannot_be_changed_once_validated() -> None:
    config = FrozenConfig(path="frozen://bucket/root")
    with pytest.raises(ValidationError, match="frozen"):
        config.path = "frozen://elsewhere/root"  # type: ignore[misc]
    assert config.path == "frozen://bucket/root"


@pytest.mark.parametrize("schemes", [None, frozenset(), frozenset({"s3"}), frozenset({3})])
def test_a_config_class_without_usable_schemes_is_refused_when_made(schemes: object) -> None:
    body = {} if schemes is None else {"SUPPORTED_SCHEMES": schemes, "__annotations__": {"SUPPORTED_SCHEMES": ClassVar}}
    with pytest.raises(TypeError, match="must set SUPPORTED_SCHEMES to a non-empty set of prefixes"):
        type("Unusable", (BaseArtifactStoreConfig,), body)


def test_a_custom_flavor_resolved_from_the_working_directory_warns(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "cwdpkg")  # no 'cargohold init' here
    registered = cargohold(tmp_path / "home", "flavor", "register", "cwdpkg.flavors.FolderFlavor", cwd=repo)
    ok(registered)
    assert "No repository root is marked, so dotted paths are resolved from the working directory" in registered.stderr
    assert "run 'cargohold init'" in registered.stderr


def test_a_custom_flavor_whose_implementation_cannot_import_yet_warns(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", "lazypkg")
    flavors = repo / "lazypkg" / "flavors.py"
    flavors.write_text(flavors.read_text().replace("lazypkg.store:", "lazypkg.not_written_yet:"))
    home = tmp_path / "home"
    ok(cargohold(home, "init", cwd=repo))
    registered = cargohold(home, "flavor", "register", "lazypkg.flavors.FolderFlavor", cwd=repo)
    ok(registered)
    assert "is registered, but its implementation cannot be imported yet" in registered.stderr


PLUGIN = """\
    from typing import ClassVar
    from cargohold import hookimpl
    from cargohold.plugin import Flavor, StackComponentConfig

    class TrackerConfig(StackComponentConfig):
        uri: str = "sqlite:///runs.db"

    class TrackerFlavor(Flavor):
        name = "ledger"
        type = "experiment_tracker"
        config_class = TrackerConfig
        implementation_source = "tracker_plugin.impl:Tracker"
        description = "Runs kept in a ledger."

    @hookimpl
    def cargohold_component_types():
        return ["experiment_tracker"]

    @hookimpl
    def cargohold_flavors():
        return [TrackerFlavor]
"""


def test_a_plugin_adds_a_component_type_that_the_cli_and_registry_serve(tmp_path: Path) -> None:
    where = tmp_path / "plugins"
    write_plugin(where, "cargohold-tracker", "tracker_plugin", textwrap.dedent(PLUGIN))
    python = make_venv(tmp_path / "venv", CORE)
    install(python, where / "cargohold-tracker")
    cli = [str(python.with_name("cargohold"))]
    env_home = {"CARGOHOLD_HOME": str(tmp_path / "home")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*cli, *args], capture_output=True, text=True, env={**os.environ, **env_home})

    listed = json.loads(ok(run("flavor", "list", "--json")))
    assert {(row["type"], row["name"]) for row in listed} >= {("experiment_tracker", "ledger")}
    ok(run("experiment-tracker", "register", "runs", "--flavor", "ledger", "--uri=sqlite:///other.db"))
    shown = json.loads(ok(run("experiment-tracker", "describe", "runs", "--json")))
    assert shown["config"]["uri"] == "sqlite:///other.db"
    assert "experiment_tracker" in ok(run("plugins"))
