"""``cargohold.plugin``, the one module flavor authors import: every name resolves, and the flavor side is light."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cargohold.plugin
from cargohold.cli.scaffold import write_project
from cargohold.plugins import PLUGIN_API_VERSION

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
    with pytest.raises(AttributeError, match=r"plugins may use: .*FsspecArtifactStore"):
        cargohold.plugin.transfer  # noqa: B018


REPO = Path(__file__).resolve().parents[2]
PLUGINS = sorted((REPO / "plugins").glob("*/src/cargohold_*"))


def private_imports(path: Path, source: str) -> list[str]:
    """Each import of a cargohold name from anywhere but cargohold.plugin, or of a name it does not offer."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            if node.module == "cargohold.plugin":
                modules = []
                unknown = [a.name for a in node.names if a.name not in cargohold.plugin.__all__]
                found += [
                    f"{path}:{node.lineno} imports {name} from cargohold.plugin, which has no such name"
                    for name in unknown
                ]
        else:
            continue
        for module in modules:
            if module == "cargohold" or module.startswith("cargohold."):
                found.append(f"{path}:{node.lineno} imports {module}; a plugin imports only from cargohold.plugin")
    return found


def test_the_in_repo_plugins_import_only_from_cargohold_plugin() -> None:
    assert len(PLUGINS) == 4
    found = [
        problem
        for package in PLUGINS
        for path in sorted(package.glob("*.py"))
        for problem in private_imports(path, path.read_text())
    ]
    assert found == []


def test_the_viewer_imports_only_from_cargohold_plugin() -> None:
    package = REPO / "packages" / "ui" / "src" / "cargohold_ui"
    found = [problem for path in sorted(package.glob("*.py")) for problem in private_imports(path, path.read_text())]
    assert found == []


def test_the_scaffold_and_the_guide_import_only_from_cargohold_plugin(tmp_path: Path) -> None:
    files = write_project("myfs", "myfs://", tmp_path)
    found = [problem for path in files if path.suffix == ".py" for problem in private_imports(path, path.read_text())]
    guide = (REPO / "docs" / "writing-a-flavor.md").read_text()
    for number, block in enumerate(re.findall(r"^```python\n# (?:file|in): (\S+)\n(.*?)^```$", guide, re.M | re.S)):
        if not block[0].split("/")[-1].startswith("test_"):  # tests import their flavor and the kit too
            found += private_imports(Path(f"guide block {number} {block[0]}"), block[1])
    assert found == []


def test_a_private_import_is_caught() -> None:
    source = "from cargohold.artifact_stores.fsspec_store import Reader\nfrom cargohold.plugin import transfer\n"
    assert private_imports(Path("store.py"), source) == [
        "store.py:1 imports cargohold.artifact_stores.fsspec_store; a plugin imports only from cargohold.plugin",
        "store.py:2 imports transfer from cargohold.plugin, which has no such name",
    ]


def test_the_in_repo_plugins_declare_the_plugin_api_they_target() -> None:
    declared = {}
    for package in PLUGINS:
        for node in ast.parse((package / "flavor.py").read_text()).body:
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", "") == "cargohold_api_version" for t in node.targets
            ):
                declared[package.name] = ast.literal_eval(node.value)
    assert declared == dict.fromkeys((p.name for p in PLUGINS), PLUGIN_API_VERSION)


def test_a_plugin_error_names_its_problem_from_one_closed_set() -> None:
    from cargohold.exceptions import PluginError, PluginProblem

    error = PluginError(distribution="d", version="1", entry_point="e", reason="r", kind=PluginProblem.CONFLICTS)
    assert error.kind is PluginProblem.CONFLICTS
    assert str(error) == "Plugin 'e' from d 1 conflicts: r"
    assert PluginError(distribution="d", version="1", entry_point="e", reason="r").kind is PluginProblem.FAILED
