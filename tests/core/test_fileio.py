"""fileio routing: the longest root wins, stores work side by side, unknown schemes say what is known."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from memory_store import MemoryConfig, MemoryStore, fresh_root

from cargohold import UnknownSchemeError, fileio


@pytest.fixture
def stores() -> Iterator[tuple[MemoryStore, MemoryStore, MemoryStore]]:
    root = fresh_root("fio")
    outer = MemoryStore(MemoryConfig(path=f"{root}/data"), name="outer")
    inner = MemoryStore(MemoryConfig(path=f"{root}/data/inner"), name="inner")
    other = MemoryStore(MemoryConfig(path=f"{root}/other"), name="other")
    for store in (outer, inner, other):
        fileio.mount(store)
    yield outer, inner, other
    for store in (outer, inner, other):
        fileio.unmount(store)


def test_the_longest_root_wins(stores: tuple[MemoryStore, MemoryStore, MemoryStore]) -> None:
    outer, inner, other = stores
    assert fileio.store_for(outer.path + "/x") is outer
    assert fileio.store_for(inner.path + "/x") is inner
    assert fileio.store_for(outer.path + "/inner2/x") is outer  # a sibling prefix is not inside inner
    assert fileio.store_for(other.path + "/x") is other


def test_write_and_read_by_path(stores: tuple[MemoryStore, MemoryStore, MemoryStore]) -> None:
    outer, inner, _ = stores
    with fileio.open(inner.path + "/model.bin", "wb") as f:
        f.write(b"weights")
    assert fileio.exists(inner.path + "/model.bin")
    assert fileio.listdir(outer.path) == ["inner"]
    assert fileio.size(outer.path) == 7
    assert fileio.stat(inner.path + "/model.bin").size == 7


def test_copy_and_move_across_stores(stores: tuple[MemoryStore, MemoryStore, MemoryStore]) -> None:
    outer, _, other = stores
    with fileio.open(outer.path + "/d/a.txt", "w") as f:
        f.write("a")
    with fileio.open(outer.path + "/d/e/b.txt", "w") as f:
        f.write("b")
    fileio.copyfile(outer.path + "/d/a.txt", other.path + "/a.txt")
    with pytest.raises(FileExistsError):
        fileio.copyfile(outer.path + "/d/a.txt", other.path + "/a.txt")
    fileio.rename(outer.path + "/d", other.path + "/moved")
    assert not fileio.exists(outer.path + "/d")
    assert fileio.glob(other.path + "/moved/**/*.txt") == [other.path + "/moved/a.txt", other.path + "/moved/e/b.txt"]


def test_an_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(UnknownSchemeError, match=r"No installed flavor serves 'nosuch://' \(known: "):
        fileio.exists("nosuch://bucket/key")


def test_a_default_stack_without_a_store_leaves_fileio_quiet() -> None:
    """Where no local flavor was installed, the default stack has no store; paths mounted or served by
    another flavor work in a fresh process without a warning (any warning is an error here)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from memory_store import MemoryConfig, MemoryStore, fresh_root\n"
        "from cargohold import fileio\n"
        "store = MemoryStore(MemoryConfig(path=fresh_root('quiet')), name='m')\n"
        "fileio.mount(store)\n"
        "with fileio.open(store.path + '/a.bin', 'wb') as f:\n"
        "    f.write(b'x')\n"
        "print(fileio.exists(store.path + '/a.bin'))\n"
    )
    env = {**os.environ, "CARGOHOLD_DISABLE_PLUGINS": "cargohold-local"}
    tests = str(Path(__file__).parents[1])  # where memory_store lives
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code, tests], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
