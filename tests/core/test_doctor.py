"""Configs that drift from their flavor, and ``cargohold doctor``: found, named field by field, and repaired."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from registry_kit import cargohold, ok

FLAVOR = """
from typing import ClassVar

from cargohold.plugin import BaseArtifactStoreConfig, BaseArtifactStoreFlavor, SecretField


class ShelfConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({{""}})
    token: str | None = SecretField(None)
    {fields}


class ShelfFlavor(BaseArtifactStoreFlavor):
    name = "shelf"
    config_class = ShelfConfig
    implementation_source = "shelf_store:ShelfStore"


class DownFlavor(ShelfFlavor):
    name = "down"
    implementation_source = "shelf_store:DownStore"
"""

STORE = """
import fsspec

from cargohold.plugin import FsspecArtifactStore


class ShelfStore(FsspecArtifactStore):
    write_staging = "rename"

    def _make_filesystem(self):
        return fsspec.filesystem("file", auto_mkdir=True)


class DownStore(ShelfStore):
    def exists(self, path):
        raise ConnectionError("the service refused the connection")
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    """A repository with two custom flavors; a store of each, and the 'shelf' one in the active stack."""
    repo, home = tmp_path / "repo", tmp_path / "home"
    repo.mkdir()
    (repo / "shelf_flavors.py").write_text(FLAVOR.format(fields="replicas: int = 1"))
    (repo / "shelf_store.py").write_text(STORE)
    ok(cargohold(home, "init", cwd=repo))
    for flavor in ("ShelfFlavor", "DownFlavor"):
        ok(cargohold(home, "flavor", "register", f"shelf_flavors.{flavor}", cwd=repo))
    ok(cargohold(home, "artifact-store", "register", "s", "-f", "shelf", f"--path={tmp_path / 's'}", cwd=repo))
    ok(cargohold(home, "artifact-store", "register", "d", "-f", "down", f"--path={tmp_path / 'd'}", cwd=repo))
    ok(cargohold(home, "stack", "register", "main", "-a", "s", "--set", cwd=repo))
    return home, repo


def doctor(home: Path, repo: Path, *args: str) -> tuple[int, list[dict[str, str]]]:
    result = cargohold(home, "doctor", "--json", *args, cwd=repo)
    return result.returncode, json.loads(result.stdout)


def test_a_healthy_setup_has_no_problems(setup: tuple[Path, Path]) -> None:
    home, repo = setup
    assert doctor(home, repo) == (0, [])
    assert ok(cargohold(home, "doctor", cwd=repo)) == "No problems found.\n"


def test_a_config_that_drifted_is_shown_named_and_repaired(setup: tuple[Path, Path]) -> None:
    home, repo = setup
    # the flavor's next release: a new required field, and 'replicas' gone
    (repo / "shelf_flavors.py").write_text(FLAVOR.format(fields="region: str"))
    listed = {r["name"]: r for r in json.loads(ok(cargohold(home, "artifact-store", "list", "--json", cwd=repo)))}
    assert set(listed["s"]["config_problems"]) == {"region", "replicas"}
    table = ok(cargohold(home, "artifact-store", "list", cwd=repo))
    assert "invalid: region, replicas" in table
    described = ok(cargohold(home, "artifact-store", "describe", "s", cwd=repo))
    assert "invalid under the installed flavor: region: Field required" in described
    assert "invalid under the installed flavor: replicas: Extra inputs are not permitted" in described

    code, found = doctor(home, repo)
    assert code == 1
    assert [(p["check"], p["subject"]) for p in found] == [
        ("config", "artifact_store 'd'"),
        ("config", "artifact_store 's'"),
    ]
    assert "region: Field required" in found[1]["problem"]
    assert "cargohold artifact-store update s --FIELD=VALUE" in found[1]["fix"]

    ok(cargohold(home, "artifact-store", "update", "s", "--region=eu", "--remove-attribute", "replicas", cwd=repo))
    listed = {r["name"]: r for r in json.loads(ok(cargohold(home, "artifact-store", "list", "--json", cwd=repo)))}
    assert listed["s"]["config_problems"] == {}
    ok(cargohold(home, "artifact-store", "update", "d", "--region=eu", "--remove-attribute", "replicas", cwd=repo))
    assert doctor(home, repo) == (0, [])


def test_doctor_finds_each_kind_of_problem_with_what_to_do(setup: tuple[Path, Path]) -> None:
    home, repo = setup
    ok(cargohold(home, "secret", "create", "gone", "--token=t0ken", cwd=repo))
    ok(cargohold(home, "artifact-store", "update", "d", "--token={{gone.token}}", cwd=repo))
    with sqlite3.connect(home / "registry.db") as db:  # as a registry restored from an older copy would have it
        db.execute("DELETE FROM secrets WHERE name = 'gone'")
    ok(cargohold(home, "stack", "register", "broken", "-a", "d", "--set", cwd=repo))
    (repo / "shelf_flavors.py").rename(repo / "moved.py")
    code, found = doctor(home, repo)
    assert code == 1
    checks = [(p["check"], p["subject"]) for p in found]
    assert ("custom flavor", f"custom artifact_store flavor 'shelf' (shelf_flavors.ShelfFlavor in {repo})") in checks
    assert ("flavor", "artifact_store 's'") in checks
    assert ("secret", "artifact_store 'd' field 'token'") in checks
    secret = next(p for p in found if p["check"] == "secret")
    assert secret["problem"] == "it refers to {{gone.token}}, but the secret 'gone' does not exist"
    assert secret["fix"] == "run 'cargohold secret create gone' with that key"
    lines = cargohold(home, "doctor", cwd=repo).stdout.splitlines()
    assert len(lines) == len(found)
    assert all(line.endswith(".") for line in lines)


def test_an_unreachable_active_store_is_reported(setup: tuple[Path, Path]) -> None:
    home, repo = setup
    ok(cargohold(home, "stack", "register", "down", "-a", "d", "--set", cwd=repo))
    code, found = doctor(home, repo)
    assert code == 1
    assert found == [
        {
            "check": "store",
            "subject": "the active stack's artifact store",
            "problem": "it cannot be reached: ConnectionError: the service refused the connection",
            "fix": "check its config and credentials with 'cargohold stack describe' and that its service is up",
        }
    ]
