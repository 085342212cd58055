"""Hostile targets against a registered local store: no spelling of ``NAME:path``, ``cargohold://NAME/path``
or a URL reaches outside the store's root, for reading or for writing.

The "outside" file each attack aims at lies in tmp_path, so an attack that got through would only
touch this test's own folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fsspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cargohold import CargoholdError, fileio, targets
from cargohold._paths import inside, normalize
from cargohold.client import Client

CLI = [str(Path(sys.executable).with_name("cargohold"))]
SECRET = "outside-secret-7d1c"


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A store ``loc`` at tmp/x/root, a file outside it at tmp/x/outside/s.txt, the working folder deep below."""
    root, outside = tmp_path / "x" / "root", tmp_path / "x" / "outside"
    (root / "in").mkdir(parents=True)
    (root / "in" / "f.txt").write_text("inside")
    outside.mkdir()
    (outside / "s.txt").write_text(SECRET)
    work = tmp_path / "x" / "work" / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    Client().register_component("artifact_store", "loc", "local", {"path": str(root)})
    targets._store_named.cache_clear()
    return root, outside


@pytest.mark.usefixtures("layout")
def test_cli_cat_with_a_scheme_inside_a_named_target_is_refused() -> None:
    for target in ("loc:a://../../outside/s.txt", "loc:a://../../../outside/s.txt", "loc:../outside/s.txt"):
        done = subprocess.run([*CLI, "fs", "cat", target], capture_output=True, text=True, check=False)
        assert done.returncode != 0
        assert SECRET not in done.stdout
        assert "climbs above the root" in done.stderr
    done = subprocess.run([*CLI, "fs", "cat", "loc:in/f.txt"], capture_output=True, text=True, check=False)
    assert done.stdout == "inside"


def test_a_name_holding_a_scheme_is_a_plain_name_inside_the_store(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    location = targets.resolve("loc:a://b")
    assert location.path == str(root / "a:" / "b")
    with location.store.open(location.path, "w") as f:
        f.write("plain")
    assert (root / "a:" / "b").read_text() == "plain"


def test_cargohold_urls_cannot_leave_the_store(layout: tuple[Path, Path]) -> None:
    _, outside = layout
    fs = fsspec.filesystem("cargohold")
    for url in (
        "cargohold://loc/a://../../../../x/outside/s.txt",
        "cargohold://loc/a://../../outside/s.txt",
        "cargohold://loc/../outside/s.txt",
        "cargohold://loc/in/../../outside/s.txt",
    ):
        with pytest.raises((CargoholdError, OSError)):
            fs.cat_file(url)
        with pytest.raises((CargoholdError, OSError)), fs.open(url, "wb") as f:
            f.write(b"overwritten")
    assert (outside / "s.txt").read_text() == SECRET
    with pytest.raises(FileNotFoundError, match="not a valid"):
        fs.cat_file("cargohold://a:/x")


def test_upper_case_schemes_route_like_lower_case(layout: tuple[Path, Path]) -> None:
    root, _ = layout
    store = targets.store_named("loc")
    fileio.mount(store)
    try:
        assert fileio.store_for(f"FILE://{root}/in/f.txt") is store
        with fileio.open(f"File://{root}/in/f.txt") as f:
            assert f.read() == "inside"
    finally:
        fileio.unmount(store)


_PIECES = st.sampled_from(
    [":", "/", "\\", "%", "%2e", "%2f", "..", ".", "\x00", "://", "S3://", "FILE://", "file://", "loc", "a", "in",
     "outside", "s.txt", "LOC", "~", " "]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(_PIECES, max_size=10), prefix=st.sampled_from(["loc:", "cargohold://loc/", ":", ""]))
@pytest.mark.usefixtures("layout")
def test_no_generated_target_reaches_outside_the_root(pieces: list[str], prefix: str) -> None:
    """Every target that resolves names a place inside its store's root; reading it never yields the secret."""
    target = prefix + "".join(pieces)
    try:
        if target.startswith("cargohold://"):
            data = fsspec.filesystem("cargohold").cat_file(target)
            assert SECRET.encode() not in data
            return
        location = targets.resolve(target)
    except (CargoholdError, OSError, ValueError):
        return
    if target.startswith("loc:"):
        assert location.store is targets.store_named("loc")
    if "\x00" in location.path:  # no file can be named so: every call on it raises ValueError
        return
    real = os.path.realpath(location.path.removeprefix("file://"))
    assert inside(normalize(real) or (), normalize(os.path.realpath(location.store.path)) or ())
    try:
        with location.store.open(location.path, "rb") as f:
            assert SECRET.encode() not in f.read()
    except (CargoholdError, OSError, ValueError):
        pass
