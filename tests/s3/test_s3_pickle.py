"""A store built from the registry pickles as where it is registered: its resolved secret never travels."""

from __future__ import annotations

import pickle
import uuid
from collections.abc import Callable
from typing import Any

from cargohold.client import Client
from cargohold_testkit.servers import EmulatorServer

SECRET = f"pickled-secret-{uuid.uuid4().hex}"


def test_a_registered_store_pickles_without_its_secret_and_works_again(
    s3_server: EmulatorServer, store_config: Callable[..., dict[str, Any]]
) -> None:
    client = Client()
    client.create_secret("aws", {"key": "pickle-key-id", "secret": SECRET})
    root = f"s3://cargohold-tests/{uuid.uuid4().hex}"  # the bucket tests/s3/conftest.py makes
    config = {**store_config(s3_server, root), "key": "{{aws.key}}", "secret": "{{aws.secret}}"}
    client.register_component("artifact_store", "pickled", "s3", config)
    store = client.get_artifact_store("pickled")
    assert store.config.model_dump()["secret"] == SECRET  # what the backend needs, resolved in this process
    data = pickle.dumps(store)
    assert SECRET.encode() not in data
    assert b"pickle-key-id" not in data
    again = pickle.loads(data)
    with again.open(f"{root}/x.txt", "w") as f:
        f.write("through the copy")
    with store.open(f"{root}/x.txt") as f:
        assert f.read() == "through the copy"
