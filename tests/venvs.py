"""Throwaway virtual environments and plugin distributions, so discovery is tested over real installs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "core"
LOCAL = REPO / "plugins" / "local"


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    return [sys.executable, "-m", "uv"]


def make_venv(where: Path, *requirements: str | Path) -> Path:
    """A new venv at ``where`` with ``requirements`` installed; returns its python."""
    subprocess.run([*_uv(), "venv", "-q", "-p", sys.executable, str(where)], check=True)
    python = where / "bin" / "python"
    install(python, *requirements)
    return python


def install(python: Path, *requirements: str | Path, no_deps: bool = False) -> None:
    """Install into the venv of ``python`` (quietly; the output shows when it fails)."""
    if requirements:
        env = {**os.environ, "VIRTUAL_ENV": str(python.parent.parent)}
        flags = ["--no-deps"] if no_deps else []
        subprocess.run(
            [*_uv(), "pip", "install", "-q", *flags, "--python", str(python), *map(str, requirements)],
            check=True,
            env=env,
        )


def write_plugin(
    where: Path,
    dist: str,
    module: str,
    source: str,
    *,
    entry_point: str | None = None,
    requires: tuple[str, ...] = ("cargohold",),
    version: str = "1.0",
) -> Path:
    """Write a one-module plugin distribution into ``where/dist`` and return its folder."""
    root = where / dist
    package = root / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(source))
    deps = ", ".join(f'"{r}"' for r in requires)
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "{dist}"
            version = "{version}"
            dependencies = [{deps}]

            [project.entry-points.cargohold]
            {entry_point or module} = "{module}"

            [tool.hatch.build.targets.wheel]
            packages = ["{module}"]
            """
        )
    )
    return root


def flavor_source(name: str, *, component_type: str = "artifact_store", extra: str = "") -> str:
    """Source of a plugin module whose hook returns one memory-backed artifact store flavor."""
    return textwrap.dedent(
        f"""\
        from typing import ClassVar
        from cargohold import hookimpl
        from cargohold.artifact_stores import BaseArtifactStoreConfig, BaseArtifactStoreFlavor

        class Config(BaseArtifactStoreConfig):
            SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({{"memory://"}})

        class Flavor(BaseArtifactStoreFlavor):
            name = "{name}"
            type = "{component_type}"
            config_class = Config
            implementation_source = "{name}_impl:Store"

        {extra}

        @hookimpl
        def cargohold_flavors():
            return [Flavor]
        """
    )
