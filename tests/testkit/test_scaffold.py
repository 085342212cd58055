"""``cargohold flavor new``: the project it writes builds, installs, is discovered, works and passes the kit."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from packaging.specifiers import SpecifierSet
from venvs import CORE, REPO, _uv, install, make_venv

from cargohold import __version__
from cargohold.cli import main
from cargohold.cli.scaffold import compatible_range

TESTKIT = REPO / "packages" / "testkit"


@dataclass(frozen=True)
class Scaffolded:
    python: Path
    project: Path
    wheel: Path
    env: dict[str, str]

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """A command of the venv's bin folder."""
        command = [str(self.python.parent / args[0]), *args[1:]]
        return subprocess.run(command, capture_output=True, text=True, env=self.env, cwd=cwd, check=False)


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Scaffolded:
    """A fresh venv with core and the kit, a project from ``flavor new``, and its wheel installed beside core."""
    where = tmp_path_factory.mktemp("scaffold")
    python = make_venv(where / "venv", CORE, TESTKIT, "pytest>=8")
    env = {**os.environ, "CARGOHOLD_HOME": str(where / "home")}
    made = Scaffolded(python, where / "cargohold-myfs", Path(), env)
    result = made.run("cargohold", "flavor", "new", "myfs", "--dir", str(made.project))
    assert result.returncode == 0, result.stderr
    subprocess.run([*_uv(), "build", "-q", "--wheel", "--out-dir", str(where / "dist"), str(made.project)], check=True)
    (wheel,) = (where / "dist").glob("*.whl")
    install(python, wheel)
    return Scaffolded(python, made.project, wheel, env)


def test_the_wheel_holds_the_split_modules_the_entry_point_and_the_range(scaffolded: Scaffolded) -> None:
    with zipfile.ZipFile(scaffolded.wheel) as wheel:
        names = set(wheel.namelist())
        info = next(n.rpartition("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
        metadata = wheel.read(f"{info}/METADATA").decode()
    assert {"cargohold_myfs/flavor.py", "cargohold_myfs/store.py"} <= names
    assert "[cargohold]\nmyfs = cargohold_myfs.flavor" in entry_points
    assert "Requires-Dist: cargohold<0.2,>=0.1" in metadata


def test_flavor_list_shows_it(scaffolded: Scaffolded) -> None:
    result = scaffolded.run("cargohold", "flavor", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert (rows["myfs"]["source"], rows["myfs"]["version"]) == ("cargohold-myfs", "0.1.0")


FILEIO = """
from cargohold import fileio
path = "myfs://bucket/artifacts/a/b.txt"
with fileio.open(path, "w") as f:
    f.write("through the stack")
store = fileio.store_for(path)
print(fileio.open(path).read(), type(store).__name__, store.name, store.config.token == "tok-5678", sep=",")
"""


def test_a_registered_store_in_the_active_stack_serves_fileio(scaffolded: Scaffolded) -> None:
    path = ["--path", "myfs://bucket/artifacts", "--token", "tok-5678"]
    register = scaffolded.run("cargohold", "artifact-store", "register", "mine", "--flavor", "myfs", *path)
    assert register.returncode == 0, register.stderr
    stack = scaffolded.run("cargohold", "stack", "register", "dev", "--artifact-store", "mine", "--set")
    assert stack.returncode == 0, stack.stderr
    result = scaffolded.run("python", "-c", FILEIO)
    assert result.stdout.strip() == "through the stack,MyfsArtifactStore,mine,True", result.stderr
    describe = scaffolded.run("cargohold", "artifact-store", "describe", "mine")
    assert "myfs://bucket/artifacts" in describe.stdout
    assert all("tok-5678" not in r.stdout + r.stderr for r in (register, stack, result, describe))


def test_the_generated_tests_pass_with_the_kit_enabled(scaffolded: Scaffolded) -> None:
    result = scaffolded.run("python", "-m", "pytest", cwd=scaffolded.project)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"cargohold-testkit: cargohold {__version__}, plugin API 1" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert "failed" not in summary
    assert int(summary.split(" passed")[0].split()[-1]) >= 50  # the flavor checks and the whole store suite


def test_the_range_admits_the_running_core() -> None:
    assert compatible_range() == ">=0.1,<0.2"
    assert __version__ in SpecifierSet(compatible_range())
    assert compatible_range("1.4.2") == ">=1.4,<2"


def test_the_name_and_scheme_shape_the_project(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["flavor", "new", "my_store", "--dir", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    flavor = (tmp_path / "p" / "src" / "cargohold_my_store" / "flavor.py").read_text()
    assert 'frozenset({"my-store://"})' in flavor
    assert "class MyStoreArtifactStoreFlavor(BaseArtifactStoreFlavor):" in flavor
    assert 'name = "cargohold-my-store"' in (tmp_path / "p" / "pyproject.toml").read_text()
    assert "pip install -e" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["My-Store"], "Invalid value for NAME: 'My-Store' is not a flavor name"),
        (["local"], "an artifact_store flavor named 'local' is already installed (from cargohold-local)"),
        (["mine", "--scheme", "My_FS://"], "'My_FS://' is not a scheme paths can match"),
    ],
)
def test_bad_input_is_one_sentence_and_writes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["flavor", "new", *args, "--dir", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "p").exists()


def test_a_non_empty_directory_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["flavor", "new", "mine", "--dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "is not empty; choose another directory" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_the_generated_tests_run_the_kit_through_fileio_too(scaffolded: Scaffolded) -> None:
    result = scaffolded.run("python", "-m", "pytest", "--collect-only", "-q", cwd=scaffolded.project)
    assert result.returncode == 0, result.stdout[-3000:]
    through = [line for line in result.stdout.splitlines() if "::TestMyfsStoreThroughFileio::" in line]
    assert len(through) >= 50


def test_a_scheme_an_installed_flavor_serves_is_warned_about(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["flavor", "new", "mine", "--scheme", "file://", "--dir", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert "Warning: the installed 'local' flavor (cargohold-local) already serves file:// paths" in result.output
    quiet = CliRunner().invoke(main, ["flavor", "new", "other", "--dir", str(tmp_path / "q")])
    assert "Warning" not in quiet.output
