"""Deliberately wrong flavors, installed as a real plugin, fail the kit with messages that say what to fix."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

import pytest
from venvs import CORE, REPO, install, make_venv

from cargohold.artifact_stores import (
    BaseArtifactStore,
    BaseArtifactStoreConfig,
    BaseArtifactStoreFlavor,
    FsspecArtifactStore,
)
from cargohold_testkit import ArtifactStoreTests, ArtifactStoreTestsThroughFileio, FlavorTests

TESTKIT = REPO / "packages" / "testkit"

FLAVOR = """\
from typing import ClassVar
from cargohold import SecretField, hookimpl
from cargohold.artifact_stores import BaseArtifactStoreConfig, BaseArtifactStoreFlavor
{extra_imports}

class Config(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({{"{name}://"}})
{fields}

class Flavor(BaseArtifactStoreFlavor):
    name = "{name}"
    config_class = Config
    implementation_source = "wrong_flavors.stores:{store}"

@hookimpl
def cargohold_flavors():
    return [Flavor]
"""

FILES = {
    "pyproject.toml": """\
        [build-system]
        requires = ["hatchling"]
        build-backend = "hatchling.build"

        [project]
        name = "cargohold-wrong"
        version = "1.0"
        dependencies = ["cargohold"]

        [project.entry-points.cargohold]
        missing = "wrong_flavors.missing"
        heavy = "wrong_flavors.heavy"
        leaky = "wrong_flavors.leaky"

        [tool.hatch.build.targets.wheel]
        packages = ["wrong_flavors"]
        """,
    "wrong_flavors/__init__.py": "",
    "wrong_flavors/stores.py": """\
        import fsspec
        from cargohold.artifact_stores import FsspecArtifactStore

        class MemoryStore(FsspecArtifactStore):
            write_staging = "rename"

            def _make_filesystem(self):
                return fsspec.filesystem("memory")

        class MissingStore(FsspecArtifactStore):  # the mistake: no _make_filesystem
            write_staging = "rename"
        """,
    "wrong_flavors/missing.py": FLAVOR.format(name="missing", store="MissingStore", extra_imports="", fields=""),
    "wrong_flavors/heavy.py": FLAVOR.format(
        name="heavy", store="MemoryStore", extra_imports="import fsspec  # the mistake", fields=""
    ),
    "wrong_flavors/leaky.py": FLAVOR.format(
        name="leaky",
        store="MemoryStore",
        extra_imports="",
        fields=(
            "    token: str | None = SecretField(None)\n"
            "    password: str | None = None  # the mistake: a credential that is not a SecretField\n"
            "\n"
            "    def __str__(self):  # the mistake: shows the secret\n"
            "        return f'store at {self.path} with token {self.token}'\n"
        ),
    ),
    "tests/test_kit.py": """\
        import uuid
        import pytest
        from cargohold_testkit import ArtifactStoreTests, FlavorTests
        from wrong_flavors import heavy, leaky, missing

        def checks(module, values):
            class Checks(FlavorTests):
                @pytest.fixture
                def flavor_class(self):
                    return module.Flavor

                @pytest.fixture
                def entry_point(self):
                    return module.Flavor.name

                @pytest.fixture
                def config_values(self):
                    return values

            return Checks

        TestMissingFlavor = checks(missing, {"path": "missing://b/r"})
        TestHeavyFlavor = checks(heavy, {"path": "heavy://b/r"})
        TestLeakyFlavor = checks(leaky, {"path": "leaky://b/r", "token": "tok-1234", "password": "pw-5678"})

        class TestMissingStore(ArtifactStoreTests):
            @pytest.fixture
            def store(self):
                return missing.Flavor().build({"path": f"missing://{uuid.uuid4().hex}/r"})
        """,
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each test of the wrong project's kit run -> its failure message, or "passed"."""
    where = tmp_path_factory.mktemp("wrong")
    project = where / "cargohold-wrong"
    for relative, source in FILES.items():
        (project / relative).parent.mkdir(parents=True, exist_ok=True)
        (project / relative).write_text(textwrap.dedent(source))
    python = make_venv(where / "venv", CORE, TESTKIT, "pytest>=8")
    install(python, project)
    report = where / "report.xml"
    subprocess.run(
        [str(python), "-m", "pytest", "-p", "cargohold_testkit", f"--junitxml={report}", "-q", "tests"],
        cwd=project,
        capture_output=True,
        check=False,
    )
    results = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        name = f"{case.get('classname', '').rpartition('.')[2]}::{case.get('name')}"
        results[name] = "passed" if problem is None else f"{problem.get('message')}\n{problem.text}"
    return results


def failed(outcomes: dict[str, str], prefix: str) -> dict[str, str]:
    return {name: text for name, text in outcomes.items() if name.startswith(prefix) and text != "passed"}


def test_a_missing_method_is_named_with_where_it_is_described(outcomes: dict[str, str]) -> None:
    failures = failed(outcomes, "TestMissingFlavor::")
    assert list(failures) == ["TestMissingFlavor::test_implementation_implements_the_interface"]
    message = failures["TestMissingFlavor::test_implementation_implements_the_interface"]
    assert "MissingStore does not implement _make_filesystem: implement each with the behaviour" in message
    assert "its docstring in FsspecArtifactStore describes" in message
    store_failures = failed(outcomes, "TestMissingStore::")
    assert len(store_failures) > 40
    assert all("MissingStore must implement _make_filesystem()" in text for text in store_failures.values())


def test_a_heavy_import_is_traced_to_its_line(outcomes: dict[str, str]) -> None:
    failures = failed(outcomes, "TestHeavyFlavor::")
    assert list(failures) == ["TestHeavyFlavor::test_flavor_module_imports_no_heavy_library"]
    message = failures["TestHeavyFlavor::test_flavor_module_imports_no_heavy_library"]
    assert "Importing wrong_flavors.heavy imports fsspec (first imported at " in message
    assert "wrong_flavors/heavy.py:4)" in message
    assert "move that import into the implementation module" in message
    assert "Flavor.implementation_source" in message


def test_a_secret_in_repr_and_an_undeclared_credential_are_both_caught(outcomes: dict[str, str]) -> None:
    failures = failed(outcomes, "TestLeakyFlavor::")
    assert sorted(failures) == [
        "TestLeakyFlavor::test_secret_fields_are_declared",
        "TestLeakyFlavor::test_secret_values_never_show",
    ]
    shown = failures["TestLeakyFlavor::test_secret_values_never_show"]
    assert "A secret shows: str(config) shows 'token'. Leave" in shown
    assert "Leave __repr__ and __str__ to cargohold" in shown
    assert "tok-1234" not in shown
    undeclared = failures["TestLeakyFlavor::test_secret_fields_are_declared"]
    assert "Config has 'password', which look like credentials but are plain fields" in undeclared
    assert "declare each with cargohold.SecretField(...)" in undeclared


def test_what_is_right_passes(outcomes: dict[str, str]) -> None:
    passed = {name for name, text in outcomes.items() if text == "passed"}
    for flavor in ("Missing", "Heavy", "Leaky"):
        assert f"Test{flavor}Flavor::test_entry_point_resolves_to_the_flavor" in passed
        assert f"Test{flavor}Flavor::test_config_schema_renders_to_json" in passed


class HalfStore(BaseArtifactStore):
    """Written by hand, with only ``open`` so far."""

    def open(self, path: str, mode: str = "r") -> Any:
        raise NotImplementedError


class ShoutingConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"MyFS://"})


class HalfFlavor(BaseArtifactStoreFlavor):
    name = "half"
    config_class = ShoutingConfig

    @property
    def implementation_class(self) -> type[BaseArtifactStore]:
        return HalfStore


def test_every_unimplemented_method_is_listed() -> None:
    with pytest.raises(pytest.fail.Exception) as failure:
        FlavorTests().test_implementation_implements_the_interface(HalfFlavor())
    assert str(failure.value) == (
        "HalfStore does not implement copyfile, exists, glob, isdir, listdir, makedirs, mkdir, remove, rename, "
        "rmtree, size, stat, walk: implement each with the behaviour its docstring in BaseArtifactStore describes; "
        "or subclass FsspecArtifactStore, which implements them all over an fsspec filesystem."
    )


def test_a_scheme_no_path_can_match_is_caught() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"'MyFS://', which no path ever matches: a scheme is lowercase"):
        FlavorTests().test_schemes_are_ones_paths_can_match(HalfFlavor())


class FolderConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({""})


class EagerFolderStore(FsspecArtifactStore):
    """A local folder left on the object stores' staging: its files show as soon as they are opened."""

    def _make_filesystem(self) -> Any:
        import fsspec

        return fsspec.filesystem("file", auto_mkdir=True)


@pytest.mark.parametrize("test", ["test_failed_write_leaves_nothing", "test_failed_overwrite_keeps_the_old_content"])
def test_a_staged_write_failure_names_write_staging(tmp_path: Path, test: str) -> None:
    store = EagerFolderStore(FolderConfig(path=str(tmp_path / "root")))
    with pytest.raises(AssertionError) as failure:
        getattr(ArtifactStoreTests(), test)(store)
    assert 'EagerFolderStore.write_staging is "close"' in str(failure.value)
    assert 'set write_staging = "rename"' in str(failure.value)


def test_a_store_fixture_inside_a_through_fileio_class_is_explained() -> None:
    with pytest.raises(TypeError) as refused:

        class TestMineThroughFileio(ArtifactStoreTestsThroughFileio):
            @pytest.fixture
            def store(self) -> BaseArtifactStore:
                raise AssertionError("never built")

    assert "defines its own 'store' fixture, which replaces the kit's" in str(refused.value)
    assert "Move the fixture out of the class, to module level or conftest.py" in str(refused.value)


EAGER_KIT = """
from typing import ClassVar

import fsspec
import pytest

from cargohold.plugin import BaseArtifactStoreConfig, FsspecArtifactStore
from cargohold_testkit import ArtifactStoreTests


class Config(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({""})


class EagerStore(FsspecArtifactStore):
    def _make_filesystem(self):
        return fsspec.filesystem("file", auto_mkdir=True)


@pytest.fixture
def store(tmp_path):
    return EagerStore(Config(path=str(tmp_path / "root")))


class TestEager(ArtifactStoreTests):
    pass
"""


def test_every_failed_store_test_says_which_method_to_change(tmp_path: Path) -> None:
    (tmp_path / "test_eager.py").write_text(EAGER_KIT)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "cargohold_testkit", "-q", "-k", "failed_write", "test_eager.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    assert "cargohold-testkit: what to change" in result.stdout
    assert (
        "EagerStore.open does not keep the promise of BaseArtifactStore.open: Open a file; a write becomes visible "
        "under its name only when closed without error. Change EagerStore.open" in " ".join(result.stdout.split())
    )
