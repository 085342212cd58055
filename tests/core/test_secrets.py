"""Secret values never show: not in any list or describe, not in errors, reprs or logs, not in the component rows."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
from registry_kit import FLAVOR, cargohold, make_repo, ok, python

from cargohold.client import Client

#: Every test here runs on the embedded SQLite registry and on a PostgreSQL one.
pytestmark = pytest.mark.usefixtures("registry_backend")

#: Every secret value the test gives; each is unique, so finding it anywhere is a leak.
VALUES = ("vault_token", "vault_password", "plain_token", "plain_password", "rotated", "prompted", "filed")
VALUES += ("rejected", "duplicate", "not_json")


def _at_rest(home: Path) -> tuple[str, str, bytes]:
    """The component rows and the secrets' stored data as text, and the registry's whole bytes: its files, or
    a pg_dump of its PostgreSQL database."""
    url = os.environ.get("CARGOHOLD_REGISTRY_URL")
    if url:
        import psycopg
        from postgres_server import binary

        with psycopg.connect(url) as conn:
            components = "\n".join(map(repr, conn.execute("SELECT * FROM components").fetchall()))
            stored = "\n".join(row[0] for row in conn.execute("SELECT data FROM secrets").fetchall())
        dump = subprocess.run([binary("pg_dump"), "--dbname", url], capture_output=True, check=True).stdout
        assert b"COPY public.secrets" in dump  # the dump does hold the table the values were written to
        return components, stored, dump
    registry = home / "registry.db"
    assert stat.S_IMODE(os.stat(registry).st_mode) == 0o600
    with contextlib.closing(sqlite3.connect(registry)) as sqlite:
        components = "\n".join(map(repr, sqlite.execute("SELECT * FROM components").fetchall()))
        stored = "\n".join(row[0] for row in sqlite.execute("SELECT data FROM secrets").fetchall())
    return components, stored, b"".join(path.read_bytes() for path in home.glob("registry.db*"))


def test_secret_values_appear_in_no_output_and_no_component_row(tmp_path: Path) -> None:
    home, repo = tmp_path / "home", make_repo(tmp_path / "repo", "leakpkg")
    secrets = {name: f"{name}-{uuid.uuid4().hex}" for name in VALUES}
    (tmp_path / "values.json").write_text(json.dumps({"from_file": secrets["filed"]}))
    outputs: list[str] = []

    def run(*args: str, stdin: str | None = None, fails: bool = False) -> None:
        result = cargohold(home, *args, cwd=repo, stdin=stdin)
        assert (result.returncode != 0) == fails, (args, result.stderr)
        outputs.append(result.stdout + result.stderr)

    folder = f"--path=folder://{tmp_path}"
    run("init")
    run("flavor", "register", f"leakpkg.{FLAVOR}")
    run("secret", "create", "vault", f"--token={secrets['vault_token']}", f"--password={secrets['vault_password']}")
    run("secret", "create", "typed", "-i", stdin=f"key\n{secrets['prompted']}\n\n")
    run("secret", "create", "filed", f"--values=@{tmp_path / 'values.json'}")
    run(
        "artifact-store",
        "register",
        "plain",
        "-f",
        "folder",
        f"{folder}/plain",
        f"--token={secrets['plain_token']}",
        f"--password={secrets['plain_password']}",
    )
    run(
        "artifact-store",
        "register",
        "referring",
        "-f",
        "folder",
        f"{folder}/referring",
        "--token={{vault.token}}",
        "--password={{vault.password}}",
    )
    run("artifact-store", "update", "plain", f"--token={secrets['rotated']}")
    run("stack", "register", "leaky", "-a", "plain", "--set")

    for json_flag in ([], ["--json"]):
        for args in (
            ["artifact-store", "list"],
            ["artifact-store", "describe", "plain"],
            ["artifact-store", "describe", "referring"],
            ["stack", "list"],
            ["stack", "describe"],
            ["stack", "describe", "leaky"],
            ["secret", "list"],
            ["secret", "describe", "vault"],
            ["secret", "describe", "typed"],
            ["secret", "describe", "filed"],
            ["secret", "describe", "plain-artifact-store"],
            ["flavor", "list"],
            ["flavor", "describe", "folder"],
            ["artifact-store", "flavor", "list"],
            ["artifact-store", "flavor", "describe", "folder"],
        ):
            run(*args, *json_flag)

    for args in (
        [
            "artifact-store",
            "register",
            "x",
            "-f",
            "folder",
            f"{folder}/x",
            f"--token={secrets['rejected']}",
            "--replicas=9",
        ],
        ["artifact-store", "register", "plain", "-f", "folder", f"{folder}/x", f"--token={secrets['duplicate']}"],
        ["artifact-store", "register", "x", "-f", "folder", f"{folder}/x", f"--labels={secrets['not_json']}"],
        ["artifact-store", "register", "x", "-f", "folder", f"{folder}/x", "--token={{vault.nokey}}"],
        ["artifact-store", "update", "plain", f"--token={secrets['rejected']}", "--replicas=0"],
        ["secret", "create", "vault", f"--token={secrets['duplicate']}"],
        ["secret", "update", "vault", "--remove-key", "token"],
        ["secret", "delete", "vault"],
        ["secret", "delete", "plain-artifact-store"],
    ):
        run(*args, fails=True)

    in_python = python(
        home,
        """
        import logging
        from cargohold import CargoholdError
        from cargohold.client import Client

        logging.basicConfig(level=logging.DEBUG)
        client = Client()
        for name in ("plain", "referring"):
            store = client.get_artifact_store(name)
            print(repr(store), str(store), repr(store.config), str(store.config))
            print(repr(client.get_component("artifact_store", name)))
        print(repr(client.active_stack), repr(client.active_stack.artifact_store))
        try:
            client.get_artifact_store("plain", settings={"token": "x"})
        except CargoholdError as exc:
            print(exc)
        """,
        cwd=tmp_path,
    )
    assert ok(in_python).count("FolderStore(name=") == 5  # repr and str of both stores, and the active one
    outputs.append(in_python.stdout + in_python.stderr)

    everything = "\n".join(outputs)
    leaked = sorted(name for name, value in secrets.items() if value in everything)
    assert leaked == []
    assert "********" in everything  # the redacted reprs were printed, so their values would have been seen

    components, stored, files = _at_rest(home)
    assert sorted(name for name, value in secrets.items() if value in components) == []
    assert "{{plain-artifact-store.token}}" in components
    assert "{{vault.password}}" in components
    # Sealed at rest: no value stands in the secrets table, nor anywhere in the registry's files (or its dump)...
    assert sorted(name for name, value in secrets.items() if value in stored) == []
    assert sorted(name for name, value in secrets.items() if value.encode() in files) == []
    # ...yet the values did reach the registry, so the scans above could have found them.
    with Client(home).registry.read() as tx:
        kept_back = {value for secret in tx.secrets() for value in tx.secret_values(secret.name).values()}
    kept = ("vault_token", "vault_password", "prompted", "filed", "rotated", "plain_password")
    assert sorted(name for name, value in secrets.items() if value in kept_back) == sorted(kept)
