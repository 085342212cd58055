"""The local flavor: the conformance kit, plus what only a local folder has (symlinks, absolute paths)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cargohold import InvalidConfigError, OutsideStoreError
from cargohold_local.flavor import LocalArtifactStoreConfig, LocalArtifactStoreFlavor
from cargohold_local.store import LocalArtifactStore
from cargohold_testkit import ArtifactStoreTests, ArtifactStoreTestsThroughFileio, FlavorTests


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    built = LocalArtifactStoreFlavor().build({"path": str(tmp_path / "root")}, name="t")
    assert isinstance(built, LocalArtifactStore)
    return built


class TestLocalConformance(ArtifactStoreTests):
    pass


class TestLocalConformanceThroughFileio(ArtifactStoreTestsThroughFileio):
    pass


class TestLocalConformanceWithNamedStaging(ArtifactStoreTests):
    """Where the kernel cannot name an unnamed file, writes go through a hidden temporary name instead."""

    @pytest.fixture
    def store(self, store: LocalArtifactStore) -> LocalArtifactStore:
        store._unnamed = False
        return store


class TestLocalFlavor(FlavorTests):
    @pytest.fixture
    def flavor_class(self) -> type[LocalArtifactStoreFlavor]:
        return LocalArtifactStoreFlavor

    @pytest.fixture
    def entry_point(self) -> str:
        return "local"

    @pytest.fixture
    def config_values(self, tmp_path: Path) -> dict[str, str]:
        return {"path": str(tmp_path / "root")}


def test_a_symlink_that_leaves_the_root_is_refused(store: LocalArtifactStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("no")
    os.symlink(outside, os.path.join(store.path, "link"))
    with pytest.raises(OutsideStoreError, match="symlink"):
        store.open("link/secret.txt", "rb")
    with pytest.raises(OutsideStoreError):
        store.open("link/new.txt", "wb")
    assert not (outside / "new.txt").exists()


def test_a_symlink_inside_the_root_is_followed(store: LocalArtifactStore) -> None:
    os.makedirs(os.path.join(store.path, "real"))
    os.symlink(os.path.join(store.path, "real"), os.path.join(store.path, "alias"))
    with store.open("alias/x.txt", "w") as f:
        f.write("via alias")
    assert Path(store.path, "real", "x.txt").read_text() == "via alias"


def test_a_symlink_directly_in_the_root_that_leaves_it_is_refused(store: LocalArtifactStore, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("no")
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "secret.txt", os.path.join(store.path, "file-link"))
    os.symlink(tmp_path / "outside", os.path.join(store.path, "folder-link"))
    for mode in ("rb", "ab", "r+b"):
        with pytest.raises(OutsideStoreError, match="symlink"):
            store.open("file-link", mode)
    with pytest.raises(OutsideStoreError, match="symlink"):
        store.listdir("folder-link")
    with store.open("file-link", "wb") as f:
        f.write(b"in")
    assert (tmp_path / "secret.txt").read_text() == "no"


def test_a_symlink_directly_in_the_root_that_stays_inside_is_followed(store: LocalArtifactStore) -> None:
    store.makedirs("real")
    with store.open("real/x.txt", "w") as f:
        f.write("x")
    os.symlink("real", os.path.join(store.path, "folder-link"))
    os.symlink("real/x.txt", os.path.join(store.path, "file-link"))
    assert store.listdir("folder-link") == ["x.txt"]
    with store.open("file-link") as f:
        assert f.read() == "x"


def test_opening_a_folder_to_read_names_it(store: LocalArtifactStore) -> None:
    store.makedirs("d")
    with pytest.raises(IsADirectoryError, match=r"root/d'"):
        store.open("d", "rb")


@pytest.fixture(params=["disk", "tmpfs"])
def anywhere(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalArtifactStore]:
    """A store on the test's disk, and one on tmpfs, where an unnamed file can still be made in a deleted folder."""
    if request.param == "disk":
        yield LocalArtifactStoreFlavor().build({"path": str(tmp_path / "root")}, name="t")
        return
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no tmpfs at /dev/shm")
    where = tempfile.mkdtemp(dir="/dev/shm")
    try:
        yield LocalArtifactStoreFlavor().build({"path": os.path.join(where, "root")}, name="t")
    finally:
        shutil.rmtree(where)


def test_a_write_open_while_the_root_is_deleted_and_made_again_lands_in_the_new_root(
    anywhere: LocalArtifactStore,
) -> None:
    store = anywhere
    with store.open("before.bin", "wb") as f:
        f.write(b"1")
    pending = store.open("pending.bin", "wb")
    pending.write(b"2")
    shutil.rmtree(store.path)
    os.mkdir(store.path)
    with store.open("after.bin", "wb") as f:
        f.write(b"3")
    pending.close()
    assert sorted(os.listdir(store.path)) == ["after.bin", "pending.bin"]
    with store.open("pending.bin", "rb") as f:
        assert f.read() == b"2"


def test_a_write_after_the_root_was_deleted_makes_it_again(anywhere: LocalArtifactStore) -> None:
    store = anywhere
    with store.open("before.bin", "wb") as f:
        f.write(b"1")
    shutil.rmtree(store.path)
    with store.open("after.bin", "wb") as f:
        f.write(b"2")
    assert os.listdir(store.path) == ["after.bin"]


def test_an_absolute_path_elsewhere_is_refused(store: LocalArtifactStore, tmp_path: Path) -> None:
    with pytest.raises(OutsideStoreError, match="outside the artifact store root"):
        store.open(str(tmp_path / "elsewhere.txt"), "w")
    with pytest.raises(OutsideStoreError):
        store.listdir("/etc")


def test_the_root_reached_through_a_symlinked_ancestor_is_inside(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "alias")
    store = LocalArtifactStoreFlavor().build({"path": str(tmp_path / "alias" / "root")})
    store.makedirs("d")
    assert store.exists(str(tmp_path / "real" / "root" / "d"))


def test_file_urls_are_accepted(store: LocalArtifactStore) -> None:
    with store.open("file://" + os.path.join(store.path, "u.txt"), "w") as f:
        f.write("u")
    assert store.exists("u.txt")


def test_a_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert LocalArtifactStoreConfig(path="rel/store").path == str(tmp_path / "rel" / "store")


def test_quotes_around_the_path_are_stripped(tmp_path: Path) -> None:
    assert LocalArtifactStoreConfig(path=f"'{tmp_path}'").path == str(tmp_path)


def test_the_default_path_is_under_cargohold_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARGOHOLD_HOME", str(tmp_path))
    assert LocalArtifactStoreConfig().path == str(tmp_path / "artifacts")


def test_the_default_path_is_under_the_platform_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("CARGOHOLD_HOME", raising=False)
    expected = platformdirs.user_data_path("cargohold", appauthor=False) / "artifacts"
    assert LocalArtifactStoreConfig().path == str(expected)


@pytest.mark.parametrize("url", ["s3://bucket/x", "gs://b", "az://c/d"])
def test_remote_schemes_are_refused_with_a_sentence(url: str) -> None:
    with pytest.raises(InvalidConfigError, match=r"path: .*remote .* local flavor takes a folder"):
        LocalArtifactStoreFlavor().validate_config({"path": url})


def test_a_rename_without_overwrite_refuses_an_existing_empty_folder(store: LocalArtifactStore) -> None:
    store.makedirs("src/x")
    store.makedirs("dst")
    with pytest.raises(FileExistsError):
        store.rename("src", "dst")
    assert store.isdir("src/x")


def test_temporary_files_are_cleaned_after_a_failed_write(store: LocalArtifactStore) -> None:
    store.makedirs("d")
    with pytest.raises(RuntimeError), store.open("d/f.bin", "wb") as f:
        f.write(b"x")
        raise RuntimeError
    assert os.listdir(os.path.join(store.path, "d")) == []
