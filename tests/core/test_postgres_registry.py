"""What only a PostgreSQL registry has: a URL to choose it by and remember, a server that may be unreachable,
and clients of another schema version. The rest of the registry suite runs on both backends."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from postgres_server import PostgresServer

from cargohold import RegistryError
from cargohold.client import Client
from cargohold.registry import SCHEMA_VERSION

CLI = str(Path(sys.executable).with_name("cargohold"))


def cargohold(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120, check=False)


def test_an_unreachable_server_fails_in_bounded_time_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CARGOHOLD_REGISTRY_URL", f"postgresql://team:hunter2-secret@127.0.0.1:{port}/registry")
    started = time.monotonic()
    done = cargohold("stack", "list")
    assert time.monotonic() - started < 60
    assert done.returncode == 1
    assert f"Cannot reach the registry at postgresql://team:***@127.0.0.1:{port}/registry" in done.stderr
    assert "hunter2" not in done.stdout + done.stderr


def test_connect_remembers_the_url_and_embedded_forgets_it(
    postgres_server: PostgresServer, cargohold_home: Path
) -> None:
    url = postgres_server.new_database()
    connected = cargohold("connect", url)
    assert connected.returncode == 0, connected.stderr
    assert cargohold("secret", "create", "team", "--token=t0ken").returncode == 0
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT name FROM secrets WHERE name = 'team'").fetchall() == [("team",)]
    assert cargohold("connect").stdout.strip() == f"Using {url}."
    assert cargohold("connect", "--embedded").returncode == 0
    assert "team" not in cargohold("secret", "list").stdout
    refused = cargohold("connect", url.replace("cargohold@", "cargohold:pw-in-url@"))
    assert refused.returncode == 1
    assert "~/.pgpass or PGPASSWORD" in refused.stderr
    assert "pw-in-url" not in refused.stderr


def test_a_client_older_than_the_database_gets_one_sentence_and_changes_nothing(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_server.new_database()
    Client(url=url).create_secret("kept", {"token": "t0ken"})
    with psycopg.connect(url) as conn:
        conn.execute("UPDATE schema_version SET version = version + 1")
        before = conn.execute("SELECT * FROM secrets ORDER BY id").fetchall()
    monkeypatch.setenv("CARGOHOLD_REGISTRY_URL", url)
    done = cargohold("secret", "create", "more", "--token=t0ken")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"Error: The registry at {url} has schema version {SCHEMA_VERSION + 1}, newer than the {SCHEMA_VERSION} "
        "this cargohold understands; upgrade cargohold to use it."
    ]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT * FROM secrets ORDER BY id").fetchall() == before
    with pytest.raises(RegistryError, match="newer than"):
        Client(url=url).stacks()
