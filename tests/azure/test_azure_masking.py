"""The Azure SDK and adlfs at DEBUG, with the connection string given as a secret reference: neither it nor
the account key inside it shows in any log record."""

from __future__ import annotations

import io
import uuid

from cargohold.client import Client


def test_debug_logs_of_the_azure_sdk_never_show_the_account_key(
    connection_string: str, container: str, debug_log: io.StringIO
) -> None:
    client = Client()
    client.create_secret("azure", {"connection": connection_string})
    root = f"az://{container}/{uuid.uuid4().hex}"
    client.register_component(
        "artifact_store", "masked", "azure", {"path": root, "connection_string": "{{azure.connection}}"}
    )
    store = client.get_artifact_store("masked")
    with store.open(f"{root}/x.txt", "w") as f:
        f.write("x")
    assert store.listdir(root) == ["x.txt"]
    logged = debug_log.getvalue()
    assert "Request URL:" in logged
    assert "x.txt" in logged
    account_key = connection_string.split("AccountKey=")[1].split(";")[0]
    assert account_key not in logged
    assert connection_string not in logged
