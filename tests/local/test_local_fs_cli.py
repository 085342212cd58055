"""Every ``cargohold fs`` command against local stores, run as the user runs it: a subprocess per command.

The root conftest gives each test its own CARGOHOLD_HOME, so ``:path`` is the default store of a
fresh registry (a local store under that home) and ``NAME:path`` a store registered here.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fs_cli import CLI, fs, tree

from cargohold.client import Client


@pytest.fixture
def default_root(cargohold_home: Path) -> Path:
    """The folder of the default stack's local store (created with the registry)."""
    return cargohold_home / "artifacts"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    top = tmp_path / "source"
    for name, data in {"a.txt": b"alpha\n", "sub/b.bin": bytes(range(256)) * 40, "sub/deep/c": b""}.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_bytes(data)
    return top


@pytest.fixture
def named(tmp_path: Path) -> Path:
    """A second local store, registered as ``shelf``."""
    root = tmp_path / "shelf"
    Client().register_component("artifact_store", "shelf", "local", {"path": str(root)})
    return root


# -- ls, du, cat, mkdir ----------------------------------------------------------------------------


def test_ls_lists_the_root_of_the_active_store_by_default(source: Path, default_root: Path) -> None:
    assert fs("ls").stdout == ""
    fs("cp", "-r", str(source), ":data")
    assert fs("ls").stdout.splitlines() == ["data"]
    assert fs("ls", ":data").stdout.splitlines() == ["a.txt", "sub"]


def test_ls_long_recursive_and_json(source: Path) -> None:
    fs("cp", "-r", str(source), ":data")
    long = fs("ls", "-l", ":data").stdout.splitlines()
    assert long[0].startswith("-")
    assert long[0].split()[1] == "6"
    assert long[0].endswith(" a.txt")
    assert long[1].startswith("d")
    assert long[1].endswith(" sub")
    assert fs("ls", "-R", ":data").stdout.splitlines() == ["a.txt", "sub/", "sub/b.bin", "sub/deep/", "sub/deep/c"]
    listed = json.loads(fs("ls", "-R", "--json", ":data").stdout)
    assert {e["name"]: (e["type"], e["size"]) for e in listed} == {
        "a.txt": ("file", 6),
        "sub": ("directory", None),
        "sub/b.bin": ("file", 10240),
        "sub/deep": ("directory", None),
        "sub/deep/c": ("file", 0),
    }
    (entry,) = json.loads(fs("ls", "--json", ":data/a.txt").stdout)
    assert entry["name"] == "a.txt"
    assert entry["mtime"] > 0


def test_ls_long_takes_details_from_one_listing_not_a_stat_per_entry(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from cargohold.cli.fs import fs as fs_group
    from cargohold_local.store import LocalArtifactStore

    fs("cp", "-r", f"{source}/", ":data")
    stats: list[str] = []
    real_stat = LocalArtifactStore.stat

    def counted_stat(self: LocalArtifactStore, path: str) -> Any:
        stats.append(path)
        return real_stat(self, path)

    monkeypatch.setattr(LocalArtifactStore, "stat", counted_stat)
    done = CliRunner().invoke(fs_group, ["ls", "-l", ":data"], catch_exceptions=False)
    assert [line.split()[0] + line.split()[-1] for line in done.output.splitlines()] == ["-a.txt", "dsub"]
    assert done.output.splitlines()[0].split()[1] == "6"
    assert len(stats) == 1  # the listed directory itself


def test_ls_of_a_missing_path_is_one_sentence() -> None:
    done = fs("ls", ":nothing/here", check=False)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "nothing/here" in done.stderr
    assert "Traceback" not in done.stderr


def test_du_per_directory_and_summarised(source: Path, default_root: Path) -> None:
    fs("cp", "-r", str(source), ":data")
    lines = [line.split("\t") for line in fs("du", ":data").stdout.splitlines()]
    assert lines == [
        ["0", f"{default_root}/data/sub/deep"],
        ["10240", f"{default_root}/data/sub"],
        ["10246", f"{default_root}/data"],
    ]
    assert json.loads(fs("du", "-s", "--json", ":data").stdout) == [
        {"path": f"{default_root}/data", "size": 10246, "files": 3}
    ]
    assert fs("du", "-s").stdout == f"10246\t{default_root}\n"


def test_cat_streams_files_to_stdout(source: Path) -> None:
    fs("cp", "-r", str(source), ":data")
    done = subprocess.run([*CLI, "fs", "cat", ":data/a.txt", ":data/sub/b.bin"], capture_output=True, check=True)
    assert done.stdout == b"alpha\n" + bytes(range(256)) * 40


def test_mkdir_needs_p_for_parents_and_refuses_what_exists(default_root: Path) -> None:
    assert fs("mkdir", ":a/b", check=False).returncode == 1
    assert not (default_root / "a").exists()
    fs("mkdir", "-p", ":a/b")
    assert (default_root / "a" / "b").is_dir()
    fs("mkdir", ":a/c")
    assert fs("mkdir", ":a/c", check=False).returncode == 1
    fs("mkdir", "-p", ":a/c")


# -- cp, mv, rm ------------------------------------------------------------------------------------


def test_cp_in_out_and_between_stores(source: Path, default_root: Path, named: Path, tmp_path: Path) -> None:
    fs("cp", "-r", str(source), ":data")
    assert tree(default_root / "data") == tree(source)
    fs("cp", "-r", ":data", "shelf:copied")
    assert tree(named / "copied") == tree(source)
    fs("cp", "-r", "shelf:copied", str(tmp_path / "back"))
    assert tree(tmp_path / "back") == tree(source)
    fs("cp", "shelf:copied/a.txt", ":data/sub/")
    assert (default_root / "data" / "sub" / "a.txt").read_bytes() == b"alpha\n"


def test_cp_of_a_directory_without_r_fails_and_copies_nothing(source: Path, default_root: Path) -> None:
    done = fs("cp", str(source), ":data", check=False)
    assert done.returncode == 1
    assert "1 failed" in done.stderr
    assert "-r" in done.stderr
    assert not (default_root / "data").exists()


def test_cp_lists_each_failure_and_copies_the_rest(source: Path, default_root: Path) -> None:
    done = fs("cp", str(source / "a.txt"), str(source / "missing"), ":out", check=False)
    assert done.returncode == 1
    assert f"  {source / 'missing'}: " in done.stderr
    assert tree(default_root / "out") == {"a.txt": b"alpha\n"}


def test_cp_no_clobber_keeps_what_is_there(source: Path, default_root: Path) -> None:
    (default_root / "out").mkdir(parents=True)
    (default_root / "out" / "a.txt").write_bytes(b"mine")
    done = fs("cp", "-n", str(source / "a.txt"), ":out/", check=False)
    assert done.returncode == 1
    assert "exists" in done.stderr
    assert (default_root / "out" / "a.txt").read_bytes() == b"mine"
    fs("cp", str(source / "a.txt"), ":out/")
    assert (default_root / "out" / "a.txt").read_bytes() == b"alpha\n"


def test_a_thousand_small_files_copy_in_parallel_byte_for_byte(tmp_path: Path, default_root: Path) -> None:
    many = tmp_path / "many"
    for i in range(1000):
        path = many / f"d{i % 17}" / f"f{i}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(i % 300))
    done = fs("cp", "-r", "--jobs", "32", str(many), ":many")
    assert "Copied 1000 files" in done.stderr
    assert tree(default_root / "many") == tree(many)


def test_mv_within_a_store_and_across_stores(source: Path, default_root: Path, named: Path) -> None:
    fs("cp", "-r", str(source), ":data")
    fs("mv", ":data", ":moved")
    assert not (default_root / "data").exists()
    assert tree(default_root / "moved") == tree(source)
    fs("mv", ":moved", "shelf:moved")
    assert not (default_root / "moved").exists()
    assert tree(named / "moved") == tree(source)


def test_rm_files_and_trees(source: Path, default_root: Path) -> None:
    fs("cp", "-r", str(source), ":data")
    fs("rm", ":data/a.txt")
    assert not (default_root / "data" / "a.txt").exists()
    done = fs("rm", ":data/sub", check=False)
    assert done.returncode == 1
    assert "-r" in done.stderr
    assert (default_root / "data" / "sub" / "b.bin").exists()
    assert "Deleted 2 files" in fs("rm", "-r", ":data").stderr
    assert not (default_root / "data").exists()
    fs("cp", "-r", str(source), ":again")
    assert "Deleted 3 files" in fs("rm", "-r", ":").stderr
    assert default_root.is_dir()
    assert list(default_root.iterdir()) == []


# -- sync ------------------------------------------------------------------------------------------


def test_sync_is_idempotent_and_delete_removes_only_what_the_source_lacks(
    source: Path, default_root: Path, tmp_path: Path
) -> None:
    assert "Synced 3 files" in fs("sync", str(source), ":mirror").stderr
    assert "Synced 0 files (0 B)" in fs("sync", str(source), ":mirror").stderr
    (default_root / "mirror" / "extra").write_bytes(b"e")
    (default_root / "elsewhere").write_bytes(b"e")
    (source / "new").write_bytes(b"n")
    planned = fs("sync", "--delete", "--dry-run", str(source), ":mirror").stdout.splitlines()
    assert planned == [f"copy {source}/new -> {default_root}/mirror/new", f"delete {default_root}/mirror/extra"]
    assert not (default_root / "mirror" / "new").exists()
    fs("sync", "--delete", str(source), ":mirror")
    assert tree(default_root / "mirror") == tree(source)
    assert (default_root / "elsewhere").exists()
    fs("sync", ":mirror", str(tmp_path / "back"))
    assert tree(tmp_path / "back") == tree(source)
    assert "Synced 0 files (0 B)" in fs("sync", ":mirror", str(tmp_path / "back")).stderr


def test_sync_sees_edits_that_keep_the_size_newer_in_the_same_second_or_older(
    tmp_path: Path, default_root: Path
) -> None:
    edited, copy = tmp_path / "src" / "f.txt", default_root / "mirror" / "f.txt"
    edited.parent.mkdir()
    edited.write_bytes(b"aaaa")
    os.utime(edited, (1_700_000_000.25, 1_700_000_000.25))
    assert "Synced 1 file" in fs("sync", str(edited.parent), ":mirror").stderr
    assert copy.stat().st_mtime == edited.stat().st_mtime  # the copy keeps its source's mtime
    for data, when in ((b"bbbb", 1_700_000_000.5), (b"cccc", 1_600_000_000.0)):
        edited.write_bytes(data)
        os.utime(edited, (when, when))
        assert "Synced 1 file" in fs("sync", str(edited.parent), ":mirror").stderr
        assert copy.read_bytes() == data
        assert "Synced 0 files" in fs("sync", str(edited.parent), ":mirror").stderr


def test_sync_checksum_sees_an_edit_that_kept_size_and_mtime(tmp_path: Path, default_root: Path) -> None:
    edited = tmp_path / "src" / "f.txt"
    edited.parent.mkdir()
    edited.write_bytes(b"aaaa")
    fs("sync", str(edited.parent), ":mirror")
    (default_root / "mirror" / "f.txt").write_bytes(b"zzzz")
    os.utime(default_root / "mirror" / "f.txt", ns=(edited.stat().st_atime_ns, edited.stat().st_mtime_ns))
    assert "Synced 0 files" in fs("sync", str(edited.parent), ":mirror").stderr
    assert "Synced 1 file" in fs("sync", "--checksum", str(edited.parent), ":mirror").stderr
    assert (default_root / "mirror" / "f.txt").read_bytes() == b"aaaa"
    assert "1 up to date" in fs("sync", "--checksum", str(edited.parent), ":mirror").stderr


@pytest.mark.parametrize("fsync", [True, False])
def test_a_copy_into_the_local_store_is_fsynced_file_and_folder(
    fsync: bool, source: Path, default_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cargohold import transfer

    synced: list[int] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_ino)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    assert transfer.copy(str(source / "a.txt"), ":sub/a.txt", fsync=fsync).ok
    copied = default_root / "sub" / "a.txt"
    expected = [copied.stat().st_ino, copied.parent.stat().st_ino] if fsync else []
    assert synced == expected


def test_the_readme_progress_example_runs(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    example = next(block for block in readme.split("```python\n")[1:] if "progress=" in block).split("```")[0]
    Client().register_component("artifact_store", "models", "local", {"path": str(tmp_path / "models")})
    data = source.rename(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    exec(compile(example, "README.md", "exec"), {})  # the README's own words, run as a user would
    assert tree(tmp_path / "models" / "datasets" / "v3") == tree(data)


def test_sync_refuses_a_tree_inside_itself(source: Path) -> None:
    fs("cp", "-r", str(source), ":data")
    done = fs("sync", ":data", ":data/backup", check=False)
    assert done.returncode == 1
    assert "one contains the other" in done.stderr


# -- filters, dry runs, JSON and progress lines -----------------------------------------------------


def test_include_and_exclude_on_cp_sync_rm_ls_and_du(source: Path, default_root: Path) -> None:
    fs("cp", "-r", "--include", "*.bin", "--include", "a.txt", "--exclude", "sub/deep/*", f"{source}/", ":f")
    assert tree(default_root / "f") == {"a.txt": b"alpha\n", "sub/b.bin": bytes(range(256)) * 40}
    assert fs("ls", "-R", "--exclude", "*.txt", ":f").stdout.splitlines() == ["sub/", "sub/b.bin"]
    assert fs("du", "-s", "--include", "a.txt", "--json", ":f").stdout.count('"files": 1') == 1
    (default_root / "f" / "kept.log").write_bytes(b"mine")
    fs("sync", "--delete", "--exclude", "*.log", str(source), ":f")  # an excluded file is not deleted
    assert (default_root / "f" / "kept.log").exists()
    assert (default_root / "f" / "sub" / "deep" / "c").exists()
    assert "Deleted 1 file" in fs("rm", "-r", "--include", "*.bin", ":f").stderr
    assert sorted(tree(default_root / "f")) == ["a.txt", "kept.log", "sub/deep/c"]


def test_dry_run_of_cp_mv_and_rm_changes_nothing(source: Path, default_root: Path) -> None:
    fs("cp", "-r", str(source), ":d")
    before = tree(default_root)
    assert fs("cp", "--dry-run", f"{source}/a.txt", ":e.txt").stdout == (
        f"copy {source}/a.txt -> {default_root}/e.txt\n"
    )
    assert (
        fs("mv", "--dry-run", ":d/a.txt", ":m.txt").stdout == f"move {default_root}/d/a.txt -> {default_root}/m.txt\n"
    )
    assert fs("rm", "-r", "--dry-run", ":d/sub").stdout.splitlines() == [
        f"delete {default_root}/d/sub/b.bin",
        f"delete {default_root}/d/sub/deep/c",
    ]
    assert tree(default_root) == before


def test_json_summary_of_a_transfer_with_a_failure(source: Path) -> None:
    done = fs("cp", "--json", str(source / "a.txt"), str(source / "missing"), ":j/", check=False)
    assert done.returncode == 1
    summary = json.loads(done.stdout)
    assert summary["files"] == 1
    assert summary["bytes"] == 6
    assert summary["seconds"] >= 0
    assert summary["failures"] == [{"path": str(source / "missing"), "reason": "No such file or directory"}]


def test_bwlimit_takes_a_rate_and_refuses_anything_else(source: Path, default_root: Path) -> None:
    fs("cp", "-r", "--bwlimit", "10M", str(source), ":b")
    assert tree(default_root / "b") == tree(source)
    done = fs("cp", "-r", "--bwlimit", "fast", str(source), ":c", check=False)
    assert done.returncode == 2
    assert "'fast' is not a rate; give bytes a second, such as 512K, 10M or 1G." in done.stderr
    assert not (default_root / "c").exists()


def test_cleanup_removes_only_staged_files_older_than_asked(default_root: Path) -> None:
    (default_root / "d").mkdir(parents=True)
    stale, fresh = default_root / "d" / ".a.bin.123-0.cargohold-tmp", default_root / ".b.bin.123-1.cargohold-tmp"
    for path in (stale, fresh, default_root / "d" / "a.bin"):
        path.write_bytes(b"x")
    os.utime(stale, (1_600_000_000, 1_600_000_000))
    assert fs("cleanup", "--dry-run", ":").stdout == f"would remove {stale}\n"
    assert stale.exists()
    assert fs("cleanup", ":").stdout == f"removed {stale}\n"
    assert sorted(tree(default_root)) == [".b.bin.123-1.cargohold-tmp", "d/a.bin"]
    assert fs("cleanup", "--older-than", "0", ":").stdout == f"removed {fresh}\n"


def test_progress_lines_when_output_is_not_a_terminal(source: Path) -> None:
    lines = fs("cp", "-r", "--progress-every", "0", str(source), ":p").stderr.splitlines()
    assert lines[-2] == "3/3 files, 10.0 KiB of 10.0 KiB, " + lines[-2].rpartition(", ")[2]
    assert lines[-1].startswith("Copied 3 files")


# -- interruption and progress ---------------------------------------------------------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    """A named pipe as the source of a copy: the test decides when (and whether) its bytes end."""
    path = tmp_path / "big.bin"
    os.mkfifo(path)
    return path


def _bytes_staged(pid: int, folder: Path) -> int:
    """Bytes the process has written to files it holds open in ``folder``: its staged write in progress.

    Seen through ``/proc/PID/fd``, so it works whether the store stages under a hidden name or in an
    unnamed ``O_TMPFILE`` (shown as ``folder/#inode (deleted)``).
    """
    staged = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(f"{folder}/"):
                staged += os.stat(fd).st_size
        except FileNotFoundError:  # closed meanwhile
            continue
    return staged


def test_a_killed_copy_leaves_nothing_under_the_final_name_and_a_rerun_completes(
    fifo: Path, default_root: Path
) -> None:
    copying = subprocess.Popen([*CLI, "fs", "cp", "-q", str(fifo), ":big.bin"], stderr=subprocess.PIPE)
    writer = os.open(fifo, os.O_WRONLY)  # blocks until the copy opens its end
    try:
        fed = 0
        while not _bytes_staged(copying.pid, default_root):  # fed until the copy has written some of it
            assert fed < 1 << 30, "the copy wrote nothing of the first GiB it read"
            fed += os.write(writer, os.urandom(1 << 20))
        copying.send_signal(signal.SIGKILL)
        assert copying.wait(timeout=60) == -signal.SIGKILL
    finally:
        os.close(writer)
        assert copying.stderr is not None
        copying.stderr.close()
    assert not (default_root / "big.bin").exists()
    fifo.unlink()
    data = os.urandom(48 << 20)
    fifo.write_bytes(data)
    fs("cp", str(fifo), ":big.bin")
    assert (default_root / "big.bin").read_bytes() == data


@pytest.fixture
def ctrl_c_armed() -> Iterator[None]:
    """Children start with Ctrl-C's default action, as in a terminal, even when this run was started as
    a background job: a shell without job control starts those with SIGINT ignored, and so would they."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # exec resets a handler to default
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_armed")
def test_ctrl_c_stops_a_copy_and_throws_its_staged_write_away(fifo: Path, default_root: Path) -> None:
    copying = subprocess.Popen([*CLI, "fs", "cp", "-q", str(fifo), ":big.bin"], stderr=subprocess.PIPE, text=True)
    writer = os.open(fifo, os.O_WRONLY)
    try:
        while not _bytes_staged(copying.pid, default_root):
            os.write(writer, os.urandom(1 << 20))
        copying.send_signal(signal.SIGINT)
        with contextlib.suppress(BrokenPipeError):  # the source never ends: only Ctrl-C stops the copy
            for _ in range(1024):
                os.write(writer, os.urandom(1 << 20))
            pytest.fail("the copy went on for a GiB after Ctrl-C")
    finally:
        os.close(writer)
    _, stderr = copying.communicate(timeout=60)
    assert copying.returncode == 1
    assert "Aborted" in stderr
    assert list(default_root.iterdir()) == []


@pytest.fixture
def terminal() -> Iterator[tuple[int, int]]:
    """A pseudo-terminal of 100x30, as (controller, terminal end)."""
    controller, end = pty.openpty()
    fcntl.ioctl(end, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    yield controller, end
    os.close(controller)


def test_a_transfer_that_takes_a_while_shows_a_progress_bar_on_a_terminal(
    fifo: Path, default_root: Path, terminal: tuple[int, int]
) -> None:
    controller, end = terminal
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    copying = subprocess.Popen([*CLI, "fs", "cp", str(fifo), ":big.bin"], stdout=end, stderr=end, env=env)
    os.close(end)
    shown = bytearray()
    writer = os.open(fifo, os.O_WRONLY)
    feeding = threading.Event()

    def feed() -> None:
        while not feeding.is_set():
            os.write(writer, b"x" * (1 << 16))

    feeder = threading.Thread(target=feed)
    feeder.start()
    try:
        while b"files" not in shown:  # fed until the bar appears, however long that takes
            if select.select([controller], [], [], 60)[0]:
                shown += os.read(controller, 1 << 16)
    finally:
        feeding.set()
        feeder.join()
        os.close(writer)
    assert copying.wait(timeout=60) == 0
    shown += _drain(controller)
    assert b"0/1 files" in shown or b"1/1 files" in shown
    assert b"MB" in shown or b"kB" in shown  # the bytes column
    assert (default_root / "big.bin").stat().st_size > 0


def _drain(controller: int) -> bytes:
    out = bytearray()
    while True:
        try:
            chunk = os.read(controller, 1 << 16)
        except OSError as exc:  # EIO once the terminal end is closed
            if exc.errno != errno.EIO:
                raise
            return bytes(out)
        if not chunk:
            return bytes(out)
        out += chunk


def test_no_progress_bar_when_output_is_not_a_terminal(source: Path) -> None:
    done = fs("cp", "-r", str(source), ":data")
    assert done.stdout == ""
    assert done.stderr.startswith("Copied 3 files")
    assert fs("cp", "-r", "-q", str(source), ":data2").stderr == ""
