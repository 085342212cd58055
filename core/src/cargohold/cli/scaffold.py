"""``cargohold flavor new``: write a plugin distribution that builds, installs, is discovered and passes the kit.

The templates live here as strings so that the scaffold is one module with no package data to forget.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

import click

from cargohold._paths import split_scheme
from cargohold._version import __version__

__all__ = ["compatible_range", "new", "write_project"]

_NAME = re.compile(r"[a-z][a-z0-9_]*")

_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.24"]
build-backend = "hatchling.build"

[project]
name = "cargohold-${dist}"
version = "0.1.0"
description = "The ${name} artifact store flavor for cargohold."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["cargohold${range}", "fsspec"]

[project.optional-dependencies]
test = ["cargohold-testkit${range}", "pytest>=8"]

# cargohold finds the flavor through this entry point; its module must stay cheap to import.
[project.entry-points.cargohold]
${name} = "cargohold_${name}.flavor"

[tool.hatch.build.targets.wheel]
packages = ["src/cargohold_${name}"]

[tool.pytest.ini_options]
addopts = ["-p", "cargohold_testkit"]
testpaths = ["tests"]
"""

_README = """\
# cargohold-${dist}

The `${name}` artifact store flavor for [cargohold](https://github.com/cargohold/cargohold):
paths such as `${scheme}bucket/artifacts/model.bin`.

It starts out on fsspec's in-memory filesystem, so it passes the conformance kit before
you write anything. Make it yours in two places:

- `src/cargohold_${name}/flavor.py`: the config fields (declare credentials with
  `SecretField`); this module imports only the standard library, pydantic and cargohold;
- `src/cargohold_${name}/store.py`: `_make_filesystem`, which builds your fsspec filesystem
  from the config; the only module that imports your storage library (add it to
  `dependencies` in `pyproject.toml`).

```bash
pip install -e '.[test]'
pytest                                   # the kit: flavor checks and store conformance
cargohold flavor list                    # shows ${name}
```

The guide: `docs/writing-a-flavor.md` in the cargohold repository.
"""

_INIT = '''\
"""cargohold-${dist}: the ${name} artifact store flavor; cargohold loads it from ``cargohold_${name}.flavor``."""
'''

_FLAVOR = '''\
"""The ${name} flavor: its config, the flavor and the hook.

This module imports only the standard library, pydantic and cargohold, so that listing flavors and
registering a ${name} store work where the storage library is missing or broken; that library is
imported in store.py, which cargohold reaches only through ``implementation_source``.
"""

from __future__ import annotations

from typing import ClassVar

from cargohold.plugin import BaseArtifactStoreConfig, BaseArtifactStoreFlavor, SecretField, hookimpl

#: The plugin API this module is written for; a cargohold offering another reports the plugin incompatible.
cargohold_api_version = ${api}


class ${cls}ArtifactStoreConfig(BaseArtifactStoreConfig):
    """Where a ${name} store lives (``path``, e.g. ``${scheme}bucket/artifacts``) and how to reach it."""

    #: The URL prefixes this flavor serves: cargohold.fileio routes paths to a store by them.
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"${scheme}"})

    token: str | None = SecretField(None, description="Credential for the service; stored as a secret, never shown.")


class ${cls}ArtifactStoreFlavor(BaseArtifactStoreFlavor):
    """Artifacts in ${name}."""

    name = "${name}"
    config_class = ${cls}ArtifactStoreConfig
    implementation_source = "cargohold_${name}.store:${cls}ArtifactStore"
    description = "Artifacts under ${scheme} paths."


@hookimpl
def cargohold_flavors() -> list[type[BaseArtifactStoreFlavor]]:
    """Called once at discovery: the flavors this plugin provides."""
    return [${cls}ArtifactStoreFlavor]
'''

_STORE = '''\
"""The ${name} artifact store: the only module that imports the storage library.

It starts out on fsspec's in-memory filesystem; build your own filesystem in ``_make_filesystem``.
"""

from __future__ import annotations

import fsspec

from cargohold.plugin import FsspecArtifactStore
from cargohold_${name}.flavor import ${cls}ArtifactStoreConfig


class ${cls}ArtifactStore(FsspecArtifactStore):
    """Every method of the artifact store interface comes from FsspecArtifactStore, over one filesystem."""

    config: ${cls}ArtifactStoreConfig
    # The memory filesystem shows a file as soon as it is opened, so a write goes to a temporary name
    # first; an object store that publishes an upload only on close wants the default, "close".
    write_staging = "rename"
    # Capability flags decide which conformance tests apply: supports_empty_dirs, atomic_rename, conditional_write.

    def _make_filesystem(self) -> fsspec.AbstractFileSystem:
        """Build the filesystem from ``self.config``, e.g. ``s3fs.S3FileSystem(token=self.config.token)``."""
        return fsspec.filesystem("memory")
'''

_TESTS = '''\
"""The cargohold conformance kit over the ${name} flavor (pyproject.toml enables it with -p cargohold_testkit)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cargohold.plugin import BaseArtifactStore
from cargohold_${name}.flavor import ${cls}ArtifactStoreFlavor
from cargohold_testkit import ArtifactStoreTests, ArtifactStoreTestsThroughFileio, FlavorTests


@pytest.fixture
def store() -> BaseArtifactStore:
    """A fresh, empty store; at module level, so that both runs of the kit below use it."""
    built = ${cls}ArtifactStoreFlavor().build({"path": f"${scheme}kit-{uuid.uuid4().hex}/root"})
    assert isinstance(built, BaseArtifactStore)
    return built


class Test${cls}Flavor(FlavorTests):
    """The flavor module: cheap to import, a schema that renders, secrets that never show, a live entry point."""

    @pytest.fixture
    def flavor_class(self) -> type[${cls}ArtifactStoreFlavor]:
        return ${cls}ArtifactStoreFlavor

    @pytest.fixture
    def entry_point(self) -> str:
        return "${name}"

    @pytest.fixture
    def config_values(self) -> dict[str, Any]:
        return {"path": "${scheme}bucket/artifacts", "token": "made-up-token-for-the-kit"}


class Test${cls}Store(ArtifactStoreTests):
    """Every behaviour of the artifact store interface, each test on a fresh store."""


class Test${cls}StoreThroughFileio(ArtifactStoreTestsThroughFileio):
    """The same behaviours by full path through cargohold.fileio, the way users reach a store."""
'''

#: Where each template goes in the project; ``${name}`` in a path is the flavor name.
_FILES = {
    "pyproject.toml": _PYPROJECT,
    "README.md": _README,
    "src/cargohold_${name}/__init__.py": _INIT,
    "src/cargohold_${name}/flavor.py": _FLAVOR,
    "src/cargohold_${name}/store.py": _STORE,
    "tests/test_flavor.py": _TESTS,
}


def compatible_range(version: str = __version__) -> str:
    """The releases of core a new plugin may claim: this minor series while core is 0.x, else this major."""
    major, minor = (int(part) for part in version.split(".")[:2])
    upper = f"0.{minor + 1}" if major == 0 else str(major + 1)
    return f">={major}.{minor},<{upper}"


def write_project(name: str, scheme: str, where: Path) -> list[Path]:
    """Write the plugin distribution for flavor ``name`` serving ``scheme`` into ``where``; returns the files."""
    from cargohold.plugins import PLUGIN_API_VERSION

    values = {
        "name": name,
        "dist": name.replace("_", "-"),
        "cls": "".join(part.capitalize() for part in name.split("_")),
        "scheme": scheme,
        "range": compatible_range(),
        "api": str(PLUGIN_API_VERSION),
    }
    written = []
    for relative, template in _FILES.items():
        path = where / Template(relative).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template).substitute(values))
        written.append(path)
    return written


def _check_name(name: str) -> None:
    """Refuse a name that is no flavor name or that an installed flavor already has."""
    if not _NAME.fullmatch(name):
        raise click.BadParameter(
            f"{name!r} is not a flavor name: use lowercase letters, digits and '_', starting with a letter "
            "(e.g. 'my_store').",
            param_hint="NAME",
        )
    from cargohold.plugins import get_flavor_registry

    registry = get_flavor_registry()
    if ("artifact_store", name) in registry:
        origin = registry.origin("artifact_store", name)
        raise click.BadParameter(
            f"an artifact_store flavor named {name!r} is already installed (from {origin.distribution}); pick "
            "another name, since two distributions that claim one name are both refused.",
            param_hint="NAME",
        )


def _check_scheme(scheme: str) -> str:
    """``myfs`` or ``myfs://`` become ``myfs://``; a scheme paths could never match is refused."""
    scheme = scheme if scheme.endswith("://") else scheme + "://"
    if split_scheme(scheme + "x")[0] != scheme:
        raise click.BadParameter(
            f"{scheme!r} is not a scheme paths can match: use lowercase letters, digits, '+', '-' or '.' "
            "before '://' (e.g. 'myfs://').",
            param_hint="--scheme",
        )
    return scheme


def _warn_if_served(scheme: str) -> None:
    """Say which installed flavors already serve ``scheme``: a second one is allowed, but rarely meant."""
    from cargohold.plugins import get_flavor_registry

    registry = get_flavor_registry()
    for key in registry:
        if key[0] == "artifact_store" and scheme in getattr(registry[key].config_class, "SUPPORTED_SCHEMES", ()):
            click.echo(
                f"Warning: the installed {key[1]!r} flavor ({registry.origin(*key).distribution}) already serves "
                f"{scheme} paths; fileio tells two such stores apart only by their roots. Pass another --scheme "
                "unless you mean to write a second flavor for it.",
                err=True,
            )


@click.command("new")
@click.argument("name")
@click.option("--scheme", default=None, help="The URL scheme the flavor serves (default: NAME://).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the project (default: ./cargohold-NAME).",
)
def new(name: str, scheme: str | None, directory: Path | None) -> None:
    """Write a new artifact store flavor plugin NAME that builds, installs and passes the conformance kit."""
    _check_name(name)
    scheme = _check_scheme(scheme or name.replace("_", "-"))
    _warn_if_served(scheme)
    where = directory or Path(f"cargohold-{name.replace('_', '-')}")
    if where.exists() and any(where.iterdir()):
        raise click.BadParameter(f"{str(where)!r} is not empty; choose another directory.", param_hint="--dir")
    files = write_project(name, scheme, where)
    click.echo(f"Wrote the {name!r} flavor plugin (paths {scheme}...) in {where}:")
    for path in files:
        click.echo(f"  {path.relative_to(where)}")
    click.echo(f"Next: pip install -e '{where}[test]' && pytest {where}")
