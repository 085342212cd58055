"""ZenML's guide "Implement a custom stack component", its three classes run through the seed's flow on moto.

The classes below are the guide's (the s3 re-implementation: config, store, flavor with ``@property``s), with
its ``zenml`` imports changed to cargohold's and two edits beyond the imports:

1. the store's base class, ``BaseArtifactStore`` -> ``FsspecArtifactStore`` (the guide's store implements only
   ``open`` and ``exists``; FsspecArtifactStore implements the rest over its ``filesystem`` property);
2. the guide's ``def open(self, path, mode: = "r")`` is a syntax error in Python; it reads ``mode = "r"`` here.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from registry_kit import cargohold, ok, python

from cargohold import Flavor, InvalidFlavorError
from cargohold_testkit import FlavorTests
from cargohold_testkit.servers import EmulatorServer

from .conftest import BUCKET

CONFIG = '''
from typing import Any, ClassVar, Dict, Optional, Set

from cargohold.artifact_stores import BaseArtifactStoreConfig
from cargohold import SecretField


class MyS3ArtifactStoreConfig(BaseArtifactStoreConfig):
    """Configuration for the S3 Artifact Store."""

    SUPPORTED_SCHEMES: ClassVar[Set[str]] = {"s3://"}

    key: Optional[str] = SecretField(default=None)
    secret: Optional[str] = SecretField(default=None)
    token: Optional[str] = SecretField(default=None)
    client_kwargs: Optional[Dict[str, Any]] = None
    config_kwargs: Optional[Dict[str, Any]] = None
    s3_additional_kwargs: Optional[Dict[str, Any]] = None
'''

STORE = '''
from typing import Optional

import s3fs

from cargohold.artifact_stores import FsspecArtifactStore


class MyS3ArtifactStore(FsspecArtifactStore):
    """Custom artifact store implementation."""

    _filesystem: Optional[s3fs.S3FileSystem] = None

    @property
    def filesystem(self) -> s3fs.S3FileSystem:
        """Get the underlying S3 file system."""
        if self._filesystem:
            return self._filesystem

        self._filesystem = s3fs.S3FileSystem(
            key=self.config.key,
            secret=self.config.secret,
            token=self.config.token,
            client_kwargs=self.config.client_kwargs,
            config_kwargs=self.config.config_kwargs,
            s3_additional_kwargs=self.config.s3_additional_kwargs,
        )
        return self._filesystem

    def open(self, path, mode = "r"):
        """Custom logic goes here."""
        return self.filesystem.open(path=path, mode=mode)

    def exists(self, path):
        """Custom logic goes here."""
        return self.filesystem.exists(path=path)
'''

FLAVOR = '''
from cargohold.artifact_stores import BaseArtifactStoreFlavor


class MyS3ArtifactStoreFlavor(BaseArtifactStoreFlavor):
    """Custom artifact store implementation."""

    @property
    def name(self):
        """The name of the flavor."""
        return 'my_s3_artifact_store'

    @property
    def implementation_class(self):
        """Implementation class for this flavor."""
        from flavors.my_store import MyS3ArtifactStore

        return MyS3ArtifactStore

    @property
    def config_class(self):
        """Configuration class for this flavor."""
        from flavors.my_config import MyS3ArtifactStoreConfig

        return MyS3ArtifactStoreConfig
'''

USE = """
import json
from cargohold import fileio
from cargohold.client import Client

store = Client().active_stack.artifact_store
root = store.path
with fileio.open(root + "/models/model.bin", "wb") as f:
    f.write(b"weights")
with fileio.open(root + "/models/model.bin", "rb") as f:
    read = f.read().decode()
try:
    store.open("s3://{bucket}/elsewhere/x", "wb")
    outside = "opened"
except PermissionError as exc:
    outside = type(exc).__name__
print(json.dumps({{
    "store": type(store).__name__,
    "read": read,
    "exists": [store.exists("models/model.bin"), store.exists("models/nope")],
    "listdir": fileio.listdir(root + "/models"),
    "walk": [[d, sorted(ds), sorted(fs)] for d, ds, fs in fileio.walk(root)],
    "outside": outside,
}}))
"""


def _repo(where: Path) -> Path:
    package = where / "flavors"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for module, source in (("my_config", CONFIG), ("my_store", STORE), ("my_flavor", FLAVOR)):
        (package / f"{module}.py").write_text(source.lstrip())
    return where


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return _repo(tmp_path / "repo")


def test_the_guides_classes_run_the_seed_flow(repo: Path, tmp_path: Path, s3_server: EmulatorServer) -> None:
    home = tmp_path / "home"
    root = f"s3://{BUCKET}/zenml-guide"
    ok(cargohold(home, "init", cwd=repo))
    registered = cargohold(
        home, "artifact-store", "flavor", "register", "flavors.my_flavor.MyS3ArtifactStoreFlavor", cwd=repo
    )
    assert "Registered the custom artifact_store flavor 'my_s3_artifact_store'" in ok(registered)
    table = [line.split() for line in ok(cargohold(home, "artifact-store", "flavor", "list", cwd=repo)).splitlines()]
    assert [
        "artifact_store",
        "my_s3_artifact_store",
        "flavors.my_flavor.MyS3ArtifactStoreFlavor",
        "in",
        str(repo),
        "custom",
    ] in table
    client_kwargs = json.dumps({"endpoint_url": s3_server.endpoint})
    ok(
        cargohold(
            home, "artifact-store", "register", "guide", "--flavor=my_s3_artifact_store", f"--path={root}",
            "--key=testing", "--secret=testing", f"--client_kwargs={client_kwargs}", cwd=repo,
        )
    )  # fmt: skip
    described = json.loads(ok(cargohold(home, "artifact-store", "describe", "guide", "--json", cwd=repo)))
    assert described["config"]["key"] == "{{guide-artifact-store.key}}"  # the plain value went into a secret
    ok(cargohold(home, "stack", "register", "guide", "-a", "guide", "--set", cwd=repo))

    used = json.loads(ok(python(home, USE.format(bucket=BUCKET), cwd=repo)))
    assert used == {
        "store": "MyS3ArtifactStore",
        "read": "weights",
        "exists": [True, False],
        "listdir": ["model.bin"],
        "walk": [[root, ["models"], []], [f"{root}/models", [], ["model.bin"]]],
        "outside": "OutsideStoreError",
    }


@pytest.fixture
def guide_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The guide's package importable in this process, forgotten after the test."""
    where = _repo(tmp_path / "in-process")
    monkeypatch.syspath_prepend(str(where))
    for name in [m for m in sys.modules if m == "flavors" or m.startswith("flavors.")]:
        monkeypatch.delitem(sys.modules, name)
    return where / "flavors"


def test_a_store_with_part_of_the_interface_is_told_what_is_missing(guide_modules: Path) -> None:
    # The guide's store as written, on BaseArtifactStore: only open and exists.
    store = guide_modules / "my_store.py"
    store.write_text(store.read_text().replace("FsspecArtifactStore", "BaseArtifactStore"))
    flavor = importlib.import_module("flavors.my_flavor").MyS3ArtifactStoreFlavor()
    with pytest.raises(InvalidFlavorError) as raised:
        flavor.build({"path": f"s3://{BUCKET}/x"})
    message = str(raised.value)
    missing = "copyfile, glob, isdir, listdir, makedirs, mkdir, remove, rename, rmtree, size, stat, walk"
    assert message.startswith(f"MyS3ArtifactStore does not implement {missing}; ")
    assert "subclass FsspecArtifactStore (from cargohold.plugin)" in message


class TestTheGuidesFlavorPassesTheKit(FlavorTests):
    @pytest.fixture
    def flavor_class(self, guide_modules: Path) -> type[Flavor]:
        cls: type[Flavor] = importlib.import_module("flavors.my_flavor").MyS3ArtifactStoreFlavor
        return cls

    @pytest.fixture
    def entry_point(self) -> None:
        return None

    @pytest.fixture
    def config_values(self) -> dict[str, Any]:
        return {"path": f"s3://{BUCKET}/kit", "key": "AKIA-MADE-UP", "secret": "made-up-secret", "token": "made-up"}
