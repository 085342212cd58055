"""Flavors written with class attributes and flavors written with properties (ZenML's way) are read alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from registry_kit import cargohold, ok

from cargohold.artifact_stores import BaseArtifactStoreConfig, BaseArtifactStoreFlavor
from cargohold.flavors import inspect_flavor


class SetConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[set[str]] = {"zen://"}  # type: ignore[misc]


class ZenFlavor(BaseArtifactStoreFlavor):
    @property  # type: ignore[misc]
    def name(self) -> str:
        return "zen"

    @property  # type: ignore[misc]
    def config_class(self) -> type[SetConfig]:
        return SetConfig

    @property
    def implementation_class(self) -> Any:
        raise AssertionError("implementation_class was called")


class NeedsArguments(ZenFlavor):
    def __init__(self, region: str) -> None:
        self.region = region


def test_a_property_flavor_is_read_from_an_instance_without_its_implementation() -> None:
    flavor, problems = inspect_flavor(ZenFlavor)
    assert problems == []
    assert flavor is not None
    assert (flavor.type, flavor.name, flavor.config_class) == ("artifact_store", "zen", SetConfig)


def test_a_set_of_schemes_is_frozen() -> None:
    assert frozenset({"zen://"}) == SetConfig.SUPPORTED_SCHEMES
    assert isinstance(SetConfig.SUPPORTED_SCHEMES, frozenset)


def test_a_property_name_on_a_class_cargohold_cannot_make_says_what_to_write() -> None:
    flavor, problems = inspect_flavor(NeedsArguments)
    assert flavor is None
    assert problems == [
        "cargohold makes a flavor with NeedsArguments() and that raised TypeError: "
        "NeedsArguments.__init__() missing 1 required positional argument: 'region'; give it an __init__ that "
        "takes no arguments, or write name, config_class as class attributes (e.g. name = 'my_store') instead of "
        "properties"
    ]


FLAVOR = """
from typing import ClassVar, Set

from cargohold.artifact_stores import BaseArtifactStoreConfig, BaseArtifactStoreFlavor


class ZenConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[Set[str]] = {"zen://"}


class ZenFlavor(BaseArtifactStoreFlavor):
    @property
    def name(self):
        return "zen"

    @property
    def config_class(self):
        return ZenConfig

    @property
    def implementation_class(self):
        raise RuntimeError("implementation_class was called")


class Unmakeable(ZenFlavor):
    def __init__(self, region):
        self.region = region
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "repo" / "zen").mkdir(parents=True)
    (tmp_path / "repo" / "zen" / "__init__.py").write_text("")
    (tmp_path / "repo" / "zen" / "flavors.py").write_text(FLAVOR)
    return tmp_path / "repo"


def test_register_list_and_describe_never_call_the_implementation_property(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    ok(cargohold(home, "init", cwd=repo))
    assert "flavor 'zen'" in ok(cargohold(home, "flavor", "register", "zen.flavors.ZenFlavor", cwd=repo))
    listed = json.loads(ok(cargohold(home, "flavor", "list", "--json", cwd=repo)))
    assert [(r["name"], r["error"]) for r in listed if r["origin"] == "custom"] == [("zen", None)]
    described = json.loads(ok(cargohold(home, "flavor", "describe", "zen", "--json", cwd=repo)))
    assert [f["name"] for f in described["fields"]] == ["path"]
    ok(cargohold(home, "artifact-store", "register", "z", "-f", "zen", "--path=zen://b/x", cwd=repo))


def test_registering_an_unmakeable_property_flavor_says_what_to_write(repo: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    ok(cargohold(home, "init", cwd=repo))
    result = cargohold(home, "flavor", "register", "zen.flavors.Unmakeable", cwd=repo)
    assert result.returncode == 1
    assert "give it an __init__ that takes no arguments, or write name, config_class as class attributes" in (
        result.stderr
    )
    assert len(result.stderr.splitlines()) == 1
