"""``cargohold.plugin``, the one module flavor authors import: every name resolves, and the flavor side is light."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import cargohold.plugin

FLAVOR_SIDE = """
import json, sys
from cargohold.plugin import BaseArtifactStoreConfig, BaseArtifactStoreFlavor, EndpointUrl, SecretField, hookimpl
print(json.dumps(sorted(m for m in ("fsspec", "cargohold.artifact_stores.fsspec_store") if m in sys.modules)))
"""


def test_every_public_name_resolves() -> None:
    assert [name for name in cargohold.plugin.__all__ if getattr(cargohold.plugin, name, None) is None] == []
    assert dir(cargohold.plugin) == sorted(cargohold.plugin.__all__)


def test_a_flavor_modules_imports_pull_in_no_filesystem_library() -> None:
    result = subprocess.run([sys.executable, "-c", FLAVOR_SIDE], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_a_name_it_does_not_offer_lists_the_ones_it_does() -> None:
    with pytest.raises(AttributeError, match=r"flavors may use: .*FsspecArtifactStore"):
        cargohold.plugin.Client  # noqa: B018
