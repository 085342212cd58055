"""botocore's DEBUG lines show the access key id and the session token; cargohold masks every resolved secret."""

from __future__ import annotations

import io
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cargohold.client import Client
from cargohold_testkit.servers import EmulatorServer, closed_port

KEY_ID = f"AKIAMASK{uuid.uuid4().hex[:12].upper()}"
SECRET = f"masked-secret-{uuid.uuid4().hex}"
TOKEN = f"masked-session-token-{uuid.uuid4().hex}"


def test_debug_logs_of_botocore_never_show_a_secret(
    s3_server: EmulatorServer, store_config: Callable[..., dict[str, Any]], debug_log: io.StringIO
) -> None:
    client = Client()
    client.create_secret("aws", {"key": KEY_ID, "secret": SECRET, "token": TOKEN})
    root = f"s3://cargohold-tests/{uuid.uuid4().hex}"
    references = {"key": "{{aws.key}}", "secret": "{{aws.secret}}", "token": "{{aws.token}}"}
    client.register_component("artifact_store", "masked", "s3", {**store_config(s3_server, root), **references})
    store = client.get_artifact_store("masked")
    with store.open(f"{root}/x.txt", "w") as f:
        f.write("x")
    assert store.listdir(root) == ["x.txt"]
    logged = debug_log.getvalue()
    assert "X-Amz-Security-Token" in logged  # botocore did log the request headers that carry them
    assert "Credential=********" in logged
    assert KEY_ID not in logged
    assert TOKEN not in logged
    assert SECRET not in logged


def test_a_failure_under_debug_never_shows_a_secret() -> None:
    """``--debug`` shows more of a failure (a traceback, for a plugin's bug): still no secret value."""
    client = Client()
    client.create_secret("aws", {"key": KEY_ID, "secret": SECRET, "token": TOKEN})
    config = {
        "path": "s3://cargohold-tests/debug",
        "endpoint_url": closed_port(),
        "key": "{{aws.key}}",
        "secret": "{{aws.secret}}",
        "token": "{{aws.token}}",
        "retries": 0,
        "connect_timeout": 1,
        "deadline": 5,
    }
    client.register_component("artifact_store", "unreachable", "s3", config)
    cli = str(Path(sys.executable).with_name("cargohold"))
    done = subprocess.run([cli, "--debug", "fs", "ls", "unreachable:"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "cannot reach the S3 endpoint" in done.stderr
    shown = done.stdout + done.stderr
    assert not [v for v in (KEY_ID, SECRET, TOKEN) if v in shown]
