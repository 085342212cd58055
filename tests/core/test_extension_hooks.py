"""Visualizers and commands from plugin distributions: found like flavors, each failure isolated like a flavor's."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from venvs import CORE, LOCAL, make_venv, write_plugin

POINTS = """\
import click

from cargohold.plugin import Visualization, Visualizer, hookimpl


class Points:
    def __init__(self, xs):
        self.xs = xs


class PointsVisualizer(Visualizer):
    types = ("points_viz.Points",)

    def visualize(self, obj):
        return [Visualization("points", "markdown", f"{len(obj.xs)} points")]


@click.command("hello")
@click.argument("who")
def hello(who):
    \"\"\"Say hello.\"\"\"
    click.echo(f"hello {who}")


@hookimpl
def cargohold_visualizers():
    return [PointsVisualizer]


@hookimpl
def cargohold_cli_commands():
    return [hello]
"""
RAISING = """\
from cargohold.plugin import Visualizer, hookimpl


class DictBreaker(Visualizer):
    types = ("builtins.dict",)

    def visualize(self, obj):
        raise RuntimeError("cannot draw dicts")


@hookimpl
def cargohold_visualizers():
    return [DictBreaker]
"""
JUNK = "from cargohold.plugin import hookimpl\n\n@hookimpl\ndef cargohold_visualizers():\n    return ['nope']\n"
BAD_TYPES = """\
from cargohold.plugin import Visualizer, hookimpl


class Loose(Visualizer):
    types = "pandas.DataFrame"


@hookimpl
def cargohold_visualizers():
    return [Loose]
"""
CLASH = """\
import click

from cargohold.plugin import hookimpl


@click.command("fs")
def fs():
    click.echo("not core's fs")


@hookimpl
def cargohold_cli_commands():
    return [fs]
"""
PLUGINS = {
    "cargohold-points": ("points_viz", POINTS),
    "cargohold-raising-viz": ("raising_viz", RAISING),
    "cargohold-junk-viz": ("junk_viz", JUNK),
    "cargohold-bad-types": ("bad_types", BAD_TYPES),
    "cargohold-clash": ("clash_cmd", CLASH),
}
SAVE = """\
import sys, json
from cargohold import artifacts
from points_viz import Points
artifacts.save(Points([1, 2, 3]), sys.argv[1] + "/points")
artifacts.save({"a": 1}, sys.argv[1] + "/dict")
views = {n: artifacts.list_visualizations(sys.argv[1] + "/" + n) for n in ("points", "dict")}
print(json.dumps({n: [v.name for v in found] for n, found in views.items()}))
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("extensions")
    dists = [write_plugin(where / "src", dist, module, source) for dist, (module, source) in PLUGINS.items()]
    return make_venv(where / "venv", CORE, LOCAL, *dists)


def run(venv: Path, *args: str, tool: str = "cargohold") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv.parent / tool), *args], capture_output=True, text=True, env=dict(os.environ), check=False
    )


def test_a_plugin_visualizer_is_used_and_a_failing_one_is_skipped(venv: Path, tmp_path: Path) -> None:
    for attempt in ("first process", "from discovery's cache"):
        target = tmp_path / attempt.replace(" ", "-")
        done = run(venv, "-c", SAVE, str(target), tool="python")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"points": ["points"], "dict": ["data"]}, attempt
        assert (target / "points/visualizations/points.md").read_text() == "3 points"
        assert "raising_viz.DictBreaker failed on a dict (RuntimeError: cannot draw dicts)" in done.stderr
        assert "the artifact is saved without its views" in done.stderr


def test_broken_visualizer_plugins_are_reported_and_the_rest_load(venv: Path) -> None:
    doctor = run(venv, "doctor")
    assert doctor.returncode == 1
    assert "plugin 'junk_viz' from cargohold-junk-viz 1.0" in doctor.stdout + doctor.stderr
    done = run(venv, "plugins", "--json")
    assert done.returncode == 0, done.stderr
    rows = {row["distribution"]: row for row in json.loads(done.stdout)}
    assert rows["cargohold-points"]["status"] == "ok"
    assert rows["cargohold-raising-viz"]["status"] == "ok"  # its hook works; its visualizer fails per object
    assert "returned ['nope'], not a list of Visualizer classes" in rows["cargohold-junk-viz"]["error"]
    assert "Loose.types must be a non-empty tuple of dotted class names" in rows["cargohold-bad-types"]["error"]


def test_a_plugin_command_runs_and_cannot_replace_a_core_one(venv: Path) -> None:
    done = run(venv, "hello", "world")
    assert (done.returncode, done.stdout) == (0, "hello world\n")
    listed = run(venv, "--help")
    assert "  hello " in listed.stdout
    assert "A plugin's command 'fs' (clash_cmd) is not added: the name is a core command" in listed.stderr
    core = run(venv, "fs", "--help")
    assert "Move artifacts in, out and between stores" in core.stdout


def test_listing_flavors_imports_no_visualizer_plugin(venv: Path) -> None:
    code = (
        "import sys\nfrom cargohold.cli import main\n"
        "try:\n    main(['flavor', 'list'], prog_name='cargohold')\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('points_viz', 'raising_viz', 'pydantic') if m in sys.modules), file=sys.stderr)"
    )
    run(venv, "flavor", "list")  # fills discovery's cache
    done = run(venv, "-c", code, tool="python")
    assert done.stderr.splitlines()[-1] == "[]"
