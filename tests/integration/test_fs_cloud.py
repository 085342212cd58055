"""``cargohold fs`` against every cloud flavor on its real server: each command, and a round trip
local -> s3 -> gcs -> azure -> local whose bytes compare equal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cargohold import transfer

CLI = [str(Path(sys.executable).with_name("cargohold"))]


def fs(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``cargohold fs ARGS``; by default it must succeed."""
    done = subprocess.run([*CLI, "fs", *args], capture_output=True, text=True, timeout=300, check=False)
    if check:
        assert done.returncode == 0, f"cargohold fs {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def tree(top: Path) -> dict[str, bytes]:
    return {str(p.relative_to(top)): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Small files (moved as one request each) and one of 12 MiB (streamed in chunks, multipart on s3)."""
    top = tmp_path / "source"
    files = {
        "a.txt": b"alpha\n",
        "sub/b.bin": os.urandom(70_000),
        "sub/deep/empty": b"",
        "big.bin": os.urandom(12 << 20),
    }
    for name, data in files.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_bytes(data)
    return top


def test_a_round_trip_through_every_cloud_keeps_every_byte(
    clouds: dict[str, str], source: Path, tmp_path: Path
) -> None:
    fs("cp", "-r", str(source), "s3:trip")
    fs("cp", "-r", "s3:trip", "gcs:trip")
    fs("cp", "-r", "gcs:trip", "azure:trip")
    fs("cp", "-r", "azure:trip", str(tmp_path / "back"))
    assert tree(tmp_path / "back") == tree(source)


@pytest.mark.parametrize("cloud", ["s3", "gcs", "azure"])
def test_every_command_on_a_cloud_store(clouds: dict[str, str], cloud: str, source: Path, tmp_path: Path) -> None:
    root = clouds[cloud]
    fs("mkdir", "-p", f"{cloud}:data")
    fs("cp", "-r", f"{source}/", f"{cloud}:data")
    assert fs("ls", f"{cloud}:data").stdout.splitlines() == ["a.txt", "big.bin", "sub"]
    listed = {e["name"]: e["size"] for e in json.loads(fs("ls", "-R", "--json", f"{cloud}:data").stdout)}
    assert listed == {
        "a.txt": 6,
        "big.bin": 12 << 20,
        "sub": None,
        "sub/b.bin": 70_000,
        "sub/deep": None,
        "sub/deep/empty": 0,
    }
    assert fs("ls", "-l", f"{cloud}:data/a.txt").stdout.split()[1] == "6"
    assert json.loads(fs("du", "-s", "--json", f"{cloud}:data").stdout) == [
        {"path": f"{root}/data", "size": 6 + (12 << 20) + 70_000, "files": 4}
    ]
    assert (
        subprocess.run([*CLI, "fs", "cat", f"{cloud}:data/sub/b.bin"], capture_output=True, check=True).stdout
        == (source / "sub" / "b.bin").read_bytes()
    )
    fs("mv", f"{cloud}:data/a.txt", f"{cloud}:data/renamed.txt")
    fs("rm", f"{cloud}:data/renamed.txt")
    assert fs("ls", f"{cloud}:data").stdout.splitlines() == ["big.bin", "sub"]
    assert "Synced 1 file" in fs("sync", str(source), f"{cloud}:data").stderr  # a.txt is back
    assert "Synced 0 files" in fs("sync", str(source), f"{cloud}:data").stderr
    fs("sync", f"{cloud}:data", str(tmp_path / "back"))
    assert "Synced 0 files" in fs("sync", f"{cloud}:data", str(tmp_path / "back")).stderr
    assert tree(tmp_path / "back") == tree(source)
    fs("cp", str(source / "a.txt"), f"{cloud}:data/extra.txt")
    assert fs("sync", "--delete", "--dry-run", str(source), f"{cloud}:data").stdout == (
        f"delete {root}/data/extra.txt\n"
    )
    fs("sync", "--delete", str(source), f"{cloud}:data")
    assert "extra.txt" not in fs("ls", f"{cloud}:data").stdout
    done = fs("cp", "-n", str(source / "a.txt"), f"{cloud}:data/a.txt", check=False)
    assert done.returncode == 1
    assert "exists" in done.stderr
    assert "Deleted 4 files" in fs("rm", "-r", f"{cloud}:data").stderr
    assert fs("ls", f"{cloud}:").stdout == ""


@pytest.mark.parametrize("cloud", ["s3", "gcs", "azure"])
def test_a_thousand_small_files_in_parallel_arrive_byte_for_byte(
    clouds: dict[str, str], cloud: str, tmp_path: Path
) -> None:
    many = tmp_path / "many"
    for i in range(1000):
        path = many / f"d{i % 13}" / f"f{i}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(i % 500))
    result = transfer.copy(str(many), f"{cloud}:many", recursive=True, jobs=32)
    assert result.ok, result.failed
    assert len(result.copied) == 1000
    back = transfer.copy(f"{cloud}:many", str(tmp_path / "back"), recursive=True, jobs=32)
    assert back.ok, back.failed
    assert tree(tmp_path / "back") == tree(many)
