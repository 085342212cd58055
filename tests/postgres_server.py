"""A PostgreSQL server of the tests' own: Debian's ``postgresql`` binaries, started on a free loopback port in
a folder the tests own, with no Docker. Shared by the registry tests and the benchmarks.

Debian's package (``apt-get install postgresql``, which the README's test command runs on a fresh machine)
is the server most teams run, kept patched by the OS; PyPI packages that bundle the binaries trail it. The
server refuses to run as root, so under root (CI) it runs as ``nobody``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

USER = "cargohold"


def binary(name: str) -> str:
    """The path of one of PostgreSQL's programs (initdb, pg_ctl, pg_dump)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} was not found; install Debian's postgresql package")
    return found


def _as_server_user() -> tuple[Callable[[], None] | None, int | None]:
    """What runs the server's processes as ``nobody`` when the tests run as root, and its uid."""
    if os.geteuid() != 0:
        return None, None
    nobody = pwd.getpwnam("nobody")

    def drop() -> None:
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    return drop, nobody.pw_uid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class PostgresServer:
    """A running server; ``url(database)`` is how a client reaches one of its databases."""

    port: int
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"t{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def postgres() -> Iterator[PostgresServer]:
    """Start a server in a temporary folder of its own, and stop it and remove the folder afterwards."""
    drop, uid = _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="cargohold-pg-"))
    if uid is not None:
        os.chown(folder, uid, -1)
    data, log = folder / "data", folder / "server.log"
    run = {"preexec_fn": drop, "cwd": folder}
    subprocess.run(
        [binary("initdb"), "-D", str(data), "-U", USER, "--auth=trust", "--locale=C", "-E", "UTF8"],
        check=True,
        capture_output=True,
        **run,  # type: ignore[arg-type]
    )
    port = _free_port()
    ctl = binary("pg_ctl")
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c max_connections=200"
    started = subprocess.run(
        [ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
        capture_output=True,
        text=True,
        **run,  # type: ignore[arg-type]
    )
    if started.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr}{started.stdout}")
    try:
        yield PostgresServer(port, folder)
    finally:
        subprocess.run([ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True, **run)  # type: ignore[arg-type]
        shutil.rmtree(folder, ignore_errors=True)
