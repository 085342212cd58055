"""What the registry tests share: a repository holding a custom flavor, and cargohold run in a subprocess."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

FLAVOR_MODULE = """\
from typing import ClassVar

from pydantic import field_validator

from cargohold import SecretField, StackComponentSettings
from cargohold.artifact_stores import BaseArtifactStoreConfig, BaseArtifactStoreFlavor


class FolderConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({{"folder://"}})

    token: str | None = SecretField(None, description="An access token.")
    password: str | None = SecretField(None)
    labels: dict[str, str] = {{}}
    replicas: int = 1

    @field_validator("replicas")
    @classmethod
    def _between_one_and_three(cls, value: int) -> int:
        if not 1 <= value <= 3:
            raise ValueError("replicas must be between 1 and 3")
        return value


class FolderSettings(StackComponentSettings):
    tag: str = ""


class FolderFlavor(BaseArtifactStoreFlavor):
    name = "folder"
    config_class = FolderConfig
    settings_class = FolderSettings
    implementation_source = "{package}.store:FolderStore"
    description = "Files in a folder on this machine, addressed as folder://<absolute path>."


class LocalClash(FolderFlavor):
    name = "local"


class NotAConfig:
    pass


class BadConfigFlavor(BaseArtifactStoreFlavor):
    name = "bad_config"
    config_class = NotAConfig
    implementation_source = "{package}.store:FolderStore"


class BadImplementationFlavor(BaseArtifactStoreFlavor):
    name = "bad_implementation"
    config_class = FolderConfig
    implementation_source = "{package}.store:NotAComponent"
"""

STORE_MODULE = """\
import fsspec

from cargohold.artifact_stores import FsspecArtifactStore


class FolderStore(FsspecArtifactStore):
    write_staging = "rename"

    def _make_filesystem(self):
        return fsspec.filesystem("file", auto_mkdir=True)


class NotAComponent:
    pass
"""

FLAVOR = "flavors.FolderFlavor"


def make_repo(where: Path, package: str = "shelfpkg") -> Path:
    """A repository folder holding ``package.flavors`` (custom flavors) and ``package.store`` (the store)."""
    folder = where / package
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "flavors.py").write_text(FLAVOR_MODULE.format(package=package))
    (folder / "store.py").write_text(STORE_MODULE)
    return where


def cargohold(
    home: Path, *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``cargohold`` command in a fresh process with ``CARGOHOLD_HOME=home``."""
    code = "import sys; from cargohold.cli import main; main(sys.argv[1:], prog_name='cargohold')"
    return python(home, code, *args, cwd=cwd, stdin=stdin)


def python(
    home: Path, code: str, *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run Python code in a fresh process with ``CARGOHOLD_HOME=home``."""
    env = {**os.environ, "CARGOHOLD_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        input=stdin,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a command that must succeed."""
    assert result.returncode == 0, result.stderr
    return result.stdout


def digest(path: Path) -> str:
    """The SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def registry_rows(home: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` run on the registry the tests' processes use: the PostgreSQL database that
    CARGOHOLD_REGISTRY_URL names, else the SQLite file in ``home``."""
    url = os.environ.get("CARGOHOLD_REGISTRY_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as conn:
            return [tuple(row) for row in conn.execute(sql).fetchall()]
    import contextlib
    import sqlite3

    with contextlib.closing(sqlite3.connect(home / "registry.db")) as conn:
        return [tuple(row) for row in conn.execute(sql).fetchall()]
