"""fileio and paths no store contains: refused unless a user opts in to ad-hoc stores, which are rooted
at the path's nearest existing folder; deletes of a filesystem root, a home or a store's root are refused.

Every destructive call here stays in tmp_path: the protected places are stood in for by folders in it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cargohold import ProtectedPathError, UnownedPathError, fileio
from cargohold.client import Client
from cargohold_local.flavor import LocalArtifactStoreConfig
from cargohold_local.store import LocalArtifactStore


@pytest.fixture
def adhoc() -> Iterator[None]:
    fileio.allow_adhoc_stores()
    yield
    fileio.allow_adhoc_stores(None)


def test_a_path_no_store_contains_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    target = tmp_path / "new" / "x.bin"
    with pytest.raises(UnownedPathError, match="CARGOHOLD_ADHOC_STORES=1"):
        fileio.open(str(target), "wb")
    with pytest.raises(UnownedPathError):
        fileio.exists(str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_a_read_on_a_machine_never_set_up_creates_no_registry(tmp_path: Path, cargohold_home: Path) -> None:
    (tmp_path / "a.txt").write_text("a")
    with pytest.raises(UnownedPathError):
        fileio.exists(str(tmp_path / "a.txt"))
    fileio.allow_adhoc_stores()
    try:
        assert fileio.exists(str(tmp_path / "a.txt"))
    finally:
        fileio.allow_adhoc_stores(None)
    assert list(cargohold_home.iterdir()) == []  # no registry.db, no artifacts/


def test_a_path_in_a_registered_store_outside_the_active_stack_names_it(tmp_path: Path) -> None:
    Client().register_component("artifact_store", "elsewhere", "local", {"path": str(tmp_path / "s")})
    with pytest.raises(UnownedPathError, match=r"registered artifact store 'elsewhere', which is not in the active"):
        fileio.open(str(tmp_path / "s" / "x.txt"), "w")
    assert not (tmp_path / "s" / "x.txt").exists()


@pytest.mark.usefixtures("adhoc")
def test_an_adhoc_store_is_rooted_at_the_nearest_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    target = tmp_path / "a" / "new" / "deep" / "x.txt"
    with fileio.open(str(target), "w") as f:
        f.write("hi")
    assert target.read_text() == "hi"
    store = fileio.store_for(str(target))
    assert isinstance(store, LocalArtifactStore)
    assert store.path == str(tmp_path / "a")
    assert fileio.store_for(str(tmp_path / "a" / "y.txt")) is store  # one store per root, reused
    with pytest.raises(UnownedPathError, match="filesystem root"):
        fileio.store_for("/cargohold-no-such-folder-" + tmp_path.name)


def test_the_environment_opts_in_for_a_new_process(tmp_path: Path) -> None:
    code = "import sys; from cargohold import fileio; print(fileio.listdir(sys.argv[1]))"
    (tmp_path / "d").mkdir()
    env = {**os.environ, "CARGOHOLD_ADHOC_STORES": "1"}
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['d']"
    env["CARGOHOLD_ADHOC_STORES"] = "0"
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True, text=True)
    assert "UnownedPathError" in done.stderr


@pytest.mark.usefixtures("adhoc")
def test_rmtree_of_a_folder_holding_the_home_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "users" / "me"
    (home / "work").mkdir(parents=True)
    (home / "work" / "keep.txt").write_text("keep")
    monkeypatch.setenv("HOME", str(home))
    for doomed in (home, tmp_path / "users"):
        with pytest.raises(ProtectedPathError, match="home folder"):
            fileio.rmtree(str(doomed), force=True)
    assert (home / "work" / "keep.txt").read_text() == "keep"
    fileio.rmtree(str(home / "work"))  # below the home is the user's to delete
    assert not (home / "work").exists()


def test_cli_rm_of_a_folder_holding_the_home_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "keep.txt").parent.mkdir()
    (home / "keep.txt").write_text("keep")
    cli = str(Path(sys.executable).with_name("cargohold"))
    env = {**os.environ, "HOME": str(home)}
    for target in (str(home), str(tmp_path)):
        done = subprocess.run([cli, "fs", "rm", "-r", target], env=env, capture_output=True, text=True)
        assert done.returncode == 1
        assert "holds the user's home folder" in done.stderr + done.stdout
    assert (home / "keep.txt").read_text() == "keep"


def test_a_filesystem_root_is_never_deletable(tmp_path: Path) -> None:
    """Checked without deleting anything: the guard is asked, and fileio.rmtree asks it (the test above)."""
    store = LocalArtifactStore(_config(tmp_path))
    for root in ("/", "//", "/.", "/tmp/.."):
        with pytest.raises(ProtectedPathError, match="filesystem root"):
            fileio.check_deletable(store, root, force=True)


def test_a_registered_store_root_needs_force(tmp_path: Path) -> None:
    client = Client()
    root = tmp_path / "store"
    client.register_component("artifact_store", "kept", "local", {"path": str(root)})
    client.register_stack("s", {"artifact_store": "kept"}, activate=True)
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "f.txt").write_text("f")
    with pytest.raises(ProtectedPathError, match="'kept'"):
        fileio.rmtree(str(root))
    fileio.allow_adhoc_stores()
    try:
        with pytest.raises(ProtectedPathError, match="'kept'"):
            fileio.rmtree(str(tmp_path))  # a folder holding the store's root, reached through an ad-hoc store
    finally:
        fileio.allow_adhoc_stores(None)
    assert (root / "sub" / "f.txt").exists()
    fileio.rmtree(str(root / "sub"))
    assert root.is_dir()
    assert not (root / "sub").exists()


def _config(tmp_path: Path) -> LocalArtifactStoreConfig:
    return LocalArtifactStoreConfig(path=str(tmp_path))
