"""A plugin's bug on the command line: one line that says where, and the traceback only when asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
from registry_kit import cargohold, ok

FLAVOR = """
from typing import ClassVar

from cargohold.plugin import BaseArtifactStoreConfig, BaseArtifactStoreFlavor, FsspecArtifactStore


class BuggyConfig(BaseArtifactStoreConfig):
    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"buggy://"})


class BuggyStore(FsspecArtifactStore):
    def _make_filesystem(self):
        raise RuntimeError("the plugin's own\\nbug")


class BuggyFlavor(BaseArtifactStoreFlavor):
    name = "buggy"
    config_class = BuggyConfig
    implementation_source = "buggy:BuggyStore"
"""


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, Path]:
    repo, home = tmp_path / "repo", tmp_path / "home"
    repo.mkdir()
    (repo / "buggy.py").write_text(FLAVOR)
    ok(cargohold(home, "init", cwd=repo))
    ok(cargohold(home, "flavor", "register", "buggy.BuggyFlavor", cwd=repo))
    ok(cargohold(home, "artifact-store", "register", "b", "-f", "buggy", "--path=buggy://x/y", cwd=repo))
    return home, repo


def test_a_plugins_bug_is_one_line_naming_where_it_was_raised(home: tuple[Path, Path]) -> None:
    result = cargohold(*home[:1], "fs", "ls", "b:", cwd=home[1])
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Error: RuntimeError: the plugin's own bug (raised at {home[1] / 'buggy.py'}:13); this is a bug in "
        "cargohold or in a plugin, and --debug (or CARGOHOLD_DEBUG=1) shows its traceback."
    ]


@pytest.mark.parametrize(("flag", "env"), [(["--debug"], {}), ([], {"CARGOHOLD_DEBUG": "1"})])
def test_debug_shows_the_traceback(
    home: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, flag: list[str], env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = cargohold(home[0], *flag, "fs", "ls", "b:", cwd=home[1])
    assert result.returncode == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert 'buggy.py", line 13, in _make_filesystem' in result.stderr
