"""The CLI flow: a gcs store whose service-account key lives in a secret, in an active stack, used by a new
process through fileio; and the key never shows in anything the CLI prints."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from cargohold_testkit.servers import EmulatorServer

CLI = [sys.executable, "-c", "import sys; from cargohold.cli import main; sys.exit(main())"]

NEW_PROCESS = """
import sys
from cargohold import fileio
root = sys.argv[1]
with fileio.open(root + "/reports/hello.txt", "w") as f:
    f.write("written through the active stack")
print(fileio.listdir(root + "/reports"))
with fileio.open(root + "/reports/hello.txt") as f:
    print(f.read())
print(type(fileio.store_for(root)).__name__)
"""


def cargohold(*args: str) -> str:
    """Run the real command in its own process; its stdout and stderr together, as a person sees them."""
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"cargohold {' '.join(args)} failed:\n{result.stdout}{result.stderr}"
    return result.stdout + result.stderr


@pytest.fixture
def root(bucket: str) -> str:
    return f"gs://{bucket}/cli-{uuid.uuid4().hex[:8]}"


def _secret_parts(key: dict[str, str]) -> list[str]:
    """Pieces of the key that must never show: its id and lines of the private key's body."""
    body = [line for line in key["private_key"].splitlines() if line and not line.startswith("-----")]
    return [key["private_key_id"], body[0], body[len(body) // 2]]


def test_a_store_with_its_key_in_a_secret_serves_a_new_process_through_the_active_stack(
    tmp_path: Path,
    gcs_server: EmulatorServer,
    root: str,
    service_account_key: dict[str, str],
    token_endpoint: Any,
    store_on: Any,
) -> None:
    values = tmp_path / "secret.json"
    values.write_text(json.dumps({"token": json.dumps(service_account_key)}))
    where = [f"--path={root}", f"--endpoint-url={gcs_server.endpoint}"]
    shown = [
        cargohold("secret", "create", "gcs-creds", f"--values=@{values}"),
        cargohold("artifact-store", "register", "gcs-store", "--flavor", "gcs", *where, "--token={{gcs-creds.token}}"),
        cargohold("stack", "register", "gcs-stack", "-a", "gcs-store"),
        cargohold("stack", "set", "gcs-stack"),
    ]
    granted_before = token_endpoint.granted.count(service_account_key["client_email"])

    result = subprocess.run([sys.executable, "-c", NEW_PROCESS, root], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["['hello.txt']", "written through the active stack", "GCSArtifactStore"]
    # The new process logged in with the key from the secret, and the object is really on the server.
    assert token_endpoint.granted.count(service_account_key["client_email"]) > granted_before
    with store_on(gcs_server.endpoint, root).open("reports/hello.txt") as f:
        assert f.read() == "written through the active stack"

    shown += [
        cargohold("artifact-store", "describe", "gcs-store"),
        cargohold("artifact-store", "describe", "gcs-store", "--json"),
        cargohold("artifact-store", "list"),
        cargohold("stack", "describe", "gcs-stack"),
        cargohold("secret", "list"),
        cargohold("secret", "describe", "gcs-creds"),
    ]
    everything = "\n".join(shown)
    assert "{{gcs-creds.token}}" in everything  # the config shows the reference ...
    for part in _secret_parts(service_account_key):  # ... and never the key
        assert part not in everything


def test_a_key_given_inline_moves_into_a_secret_and_never_shows(
    gcs_server: EmulatorServer, root: str, service_account_key: dict[str, str]
) -> None:
    key = json.dumps(service_account_key)
    where = [f"--path={root}", f"--endpoint-url={gcs_server.endpoint}"]
    shown = [
        cargohold("artifact-store", "register", "inline", "--flavor", "gcs", *where, f"--token={key}"),
        cargohold("artifact-store", "describe", "inline", "--json"),
        cargohold("secret", "list"),
    ]
    described = json.loads(shown[1])
    assert str(described).count("{{") == 1  # the token is a reference to the secret the store owns
    for part in _secret_parts(service_account_key):
        assert all(part not in text for text in shown)


def test_a_bad_key_is_refused_by_register_without_showing_it(root: str) -> None:
    result = subprocess.run(
        [*CLI, "artifact-store", "register", "bad", "--flavor", "gcs", f"--path={root}", '--token={"hunter2": 1}'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "token" in result.stderr
    assert "hunter2" not in result.stdout + result.stderr
