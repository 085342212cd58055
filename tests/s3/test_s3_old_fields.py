"""An s3 store registered before retries replaced max_attempts (and read_timeout's default moved) still loads
and works, from Python and from the command line, and says which field to use instead."""

from __future__ import annotations

import subprocess
import sys
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from cargohold import DeprecatedFieldWarning, InvalidConfigError
from cargohold.client import Client
from cargohold_s3.flavor import S3ArtifactStoreFlavor
from cargohold_s3.store import S3ArtifactStore
from cargohold_testkit.servers import EmulatorServer

from .conftest import BUCKET

CARGOHOLD = str(Path(sys.executable).with_name("cargohold"))
MESSAGE = r"The config field 'max_attempts' is deprecated .*: it is read as retries = 4 .* Use 'retries' instead"


def _register_as_before(client: Client, name: str, config: dict[str, Any]) -> None:
    """Register ``name``, then store its config row as the code before the rename wrote it: every field
    dumped, ``max_attempts`` in place of ``retries``."""
    record = client.register_component("artifact_store", name, "s3", config)
    row = {k: v for k, v in record.config.items() if k != "retries"}
    row.update(connect_timeout=4.0, read_timeout=15.0, max_attempts=5)
    with client.registry.write() as tx:
        tx.set_component_config(record.id, row)


@pytest.fixture
def old_store(s3_server: EmulatorServer, store_config: Callable[..., dict[str, Any]]) -> str:
    name = f"old-{uuid.uuid4().hex[:8]}"
    _register_as_before(Client(), name, store_config(s3_server, f"s3://{BUCKET}/{name}"))
    return name


def test_a_store_registered_with_max_attempts_loads_works_and_says_it_is_deprecated(old_store: str) -> None:
    with pytest.warns(DeprecatedFieldWarning, match=MESSAGE):
        store = cast(S3ArtifactStore, Client().get_artifact_store(old_store))
    assert (store.config.retries, store.config.connect_timeout, store.config.read_timeout) == (4, 4.0, 15.0)
    botocore = store.filesystem.config_kwargs
    assert botocore["retries"]["total_max_attempts"] == 5  # five tries in all, as max_attempts said
    with store.open("x.bin", "wb") as f:
        f.write(b"still works")
    with store.open("x.bin", "rb") as f:
        assert f.read() == b"still works"


def test_the_command_line_shows_the_deprecation_and_still_works(old_store: str) -> None:
    with pytest.warns(DeprecatedFieldWarning), Client().get_artifact_store(old_store).open("x.txt", "wb") as f:
        f.write(b"hello")
    done = subprocess.run(
        [CARGOHOLD, "fs", "cat", f"{old_store}:x.txt"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello"
    assert done.stderr.count("Warning: The config field 'max_attempts' is deprecated") == 1, done.stderr


def test_an_update_stores_the_new_name(old_store: str) -> None:
    client = Client()
    with pytest.warns(DeprecatedFieldWarning):
        updated = client.update_component("artifact_store", old_store, {"deadline": 20})
    assert "max_attempts" not in updated.config
    assert (updated.config["retries"], updated.config["deadline"]) == (4, 20)


def test_the_new_name_wins_over_the_old_when_both_are_given() -> None:
    with pytest.warns(DeprecatedFieldWarning, match="'max_attempts' .* it is ignored, since 'retries' is given too"):
        config = S3ArtifactStoreFlavor().validate_config(
            {"path": "s3://bucket/x", "credentials": "environment", "max_attempts": 9, "retries": 1}
        )
    assert config.retries == 1  # type: ignore[attr-defined]


def test_an_old_value_that_was_refused_before_is_refused_now() -> None:
    with pytest.warns(DeprecatedFieldWarning), pytest.raises(InvalidConfigError, match="retries: "):
        S3ArtifactStoreFlavor().validate_config(
            {"path": "s3://bucket/x", "credentials": "anonymous", "max_attempts": 0}
        )


# -- a store registered before credentials had to be named -----------------------------------------


@pytest.fixture
def chain_store(s3_server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store whose row was written before ``credentials`` existed: no key, no secret, ``anon: false``; the
    AWS chain (the environment here) holds what moto takes."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "from-the-environment")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "from-the-environment")
    client = Client()
    name = f"chain-{uuid.uuid4().hex[:8]}"
    config = {"path": f"s3://{BUCKET}/{name}", "endpoint_url": s3_server.endpoint, "credentials": "environment"}
    record = client.register_component("artifact_store", name, "s3", config)
    row = {k: v for k, v in record.config.items() if k != "credentials"}
    with client.registry.write() as tx:
        tx.set_component_config(record.id, {**row, "anon": False})
    return name


CHAIN = r"names no credentials, so it logs in with the environment's default chain .* --credentials=environment"


def test_a_store_registered_without_credentials_loads_works_and_says_to_name_them(chain_store: str) -> None:
    client = Client()
    with pytest.warns(DeprecatedFieldWarning, match=CHAIN) as warned:
        store = cast(S3ArtifactStore, client.get_artifact_store(chain_store))
    assert not [w for w in warned if "'anon'" in str(w.message)]  # anon: false was every row's default: no noise
    assert store.config.credentials_source == "environment"
    with store.open("x.bin", "wb") as f:
        f.write(b"still works")
    with pytest.warns(DeprecatedFieldWarning):
        assert client.config_problems(client.get_component("artifact_store", chain_store)) == {}


def test_naming_the_source_in_an_update_ends_the_warning(chain_store: str) -> None:
    client = Client()
    updated = client.update_component("artifact_store", chain_store, {"credentials": "environment"})
    assert updated.config["credentials"] == "environment"
    assert "anon" not in updated.config
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        store = cast(S3ArtifactStore, client.get_artifact_store(chain_store))
    assert store.exists(store.path)


def test_a_store_registered_with_anon_reads_as_anonymous(s3_server: EmulatorServer) -> None:
    client = Client()
    name = f"anon-{uuid.uuid4().hex[:8]}"
    config = {"path": f"s3://{BUCKET}/{name}", "endpoint_url": s3_server.endpoint, "credentials": "anonymous"}
    record = client.register_component("artifact_store", name, "s3", config)
    row = {k: v for k, v in record.config.items() if k != "credentials"}
    with client.registry.write() as tx:
        tx.set_component_config(record.id, {**row, "anon": True})
    with pytest.warns(DeprecatedFieldWarning, match="'anon' is deprecated .* read as credentials = 'anonymous'"):
        store = cast(S3ArtifactStore, client.get_artifact_store(name))
    assert store.filesystem.anon is True
