"""gcsfs and google-auth at DEBUG, with a service-account key given as a secret reference: no part of the key,
nor the access token it was exchanged for, shows in any log record."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

from cargohold.client import Client
from cargohold_testkit.servers import EmulatorServer


def test_debug_logs_of_gcsfs_never_show_the_key(
    gcs_server: EmulatorServer,
    bucket: str,
    service_account_key: dict[str, str],
    token_endpoint: Any,
    debug_log: io.StringIO,
) -> None:
    client = Client()
    client.create_secret("gcp", {"token": json.dumps(service_account_key)})
    root = f"gs://{bucket}/{uuid.uuid4().hex}"
    config = {"path": root, "endpoint_url": gcs_server.endpoint, "token": "{{gcp.token}}"}
    client.register_component("artifact_store", "masked", "gcs", config)
    store = client.get_artifact_store("masked")
    with store.open(f"{root}/x.txt", "w") as f:
        f.write("x")
    assert store.listdir(root) == ["x.txt"]
    assert service_account_key["client_email"] in token_endpoint.granted  # the key was used to log in
    logged = debug_log.getvalue()
    assert "POST /token" in logged
    assert "upload/storage/v1" in logged
    pem = service_account_key["private_key"].splitlines()[1:-1]
    assert not [line for line in pem if line in logged]
    assert service_account_key["private_key_id"] not in logged
    assert "ya29.test" not in logged  # the token endpoint's access token
