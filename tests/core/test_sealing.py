"""Secret values sealed at rest: never plain in the registry's files, a plain registry sealed on first open,
a wrong or missing key named in one sentence, and a key rotation that leaves every value readable."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cargohold._sealing import SecretsKeyError
from cargohold.client import Client

VALUES = {"token": "sealed-token-6d0f", "password": "sealed-password-91aa"}


def _files(home: Path) -> bytes:
    return b"".join(path.read_bytes() for path in home.glob("registry.db*"))


def _rows(home: Path) -> list[str]:
    conn = sqlite3.connect(home / "registry.db")
    try:
        return [row[0] for row in conn.execute("SELECT data FROM secrets")]
    finally:
        conn.close()


def test_values_are_sealed_in_the_files_and_read_back(cargohold_home: Path, cargohold_config: Path) -> None:
    client = Client()
    client.create_secret("vault", VALUES)
    client.update_secret("vault", {"token": "sealed-token-rewritten"})
    files = _files(cargohold_home)
    assert not [v for v in (*VALUES.values(), "sealed-token-rewritten") if v.encode() in files]
    with client.registry.read() as tx:
        assert tx.secret_values("vault") == {**VALUES, "token": "sealed-token-rewritten"}
    key = cargohold_config / "secrets.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_plain_registry_is_sealed_on_first_open(cargohold_home: Path) -> None:
    Client().stacks()  # a new registry, then a secret written as a cargohold from before sealing wrote it
    conn = sqlite3.connect(cargohold_home / "registry.db")
    with conn:
        conn.execute(
            "INSERT INTO secrets (id, name, owner, data, created, updated) VALUES ('s1', 'old', NULL, ?, 'x', 'x')",
            (json.dumps(VALUES),),
        )
        conn.execute("DELETE FROM state WHERE key = 'secrets_sealed'")
    conn.close()
    assert VALUES["token"].encode() in _files(cargohold_home)
    client = Client()
    with client.registry.read() as tx:
        assert tx.secret_values("old") == VALUES
    assert not [v for v in VALUES.values() if v.encode() in _files(cargohold_home)]
    assert all(value.startswith("fernet:") for row in _rows(cargohold_home) for value in json.loads(row).values())


def test_a_wrong_or_missing_key_is_one_sentence_naming_where_it_looked(
    cargohold_home: Path, cargohold_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Client().create_secret("vault", VALUES)
    monkeypatch.setenv("CARGOHOLD_SECRETS_KEY", "XbdbSZ_A9HMJ9uTJZn_4GVevBZCZv_yAzhhfz91gT5A=")
    with (
        pytest.raises(SecretsKeyError, match="cannot be decrypted with the key from CARGOHOLD_SECRETS_KEY") as wrong,
        Client().registry.read() as tx,
    ):
        tx.secret_values("vault")
    assert VALUES["token"] not in str(wrong.value)
    monkeypatch.delenv("CARGOHOLD_SECRETS_KEY")
    monkeypatch.setenv("CARGOHOLD_CONFIG_DIR", str(cargohold_config / "elsewhere"))
    cli = str(Path(sys.executable).with_name("cargohold"))
    done = subprocess.run([cli, "artifact-store", "list"], capture_output=True, text=True)
    assert done.returncode == 0  # listing needs no secret value
    with (
        pytest.raises(SecretsKeyError, match=r"no key was found: looked in the OS keyring .*secrets.key \(missing\)"),
        Client().registry.read() as tx,
    ):
        tx.secret_values("vault")


def test_rotate_key_reseals_every_value_and_keeps_only_the_new_key(
    cargohold_home: Path, cargohold_config: Path
) -> None:
    client = Client()
    client.create_secret("vault", VALUES)
    client.create_secret("other", {"k": "other-value-33"})
    before, old_key = _rows(cargohold_home), (cargohold_config / "secrets.key").read_text()
    cli = str(Path(sys.executable).with_name("cargohold"))
    done = subprocess.run([cli, "secret", "rotate-key"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Sealed 2 secret(s) with a new key" in done.stdout
    new_key = (cargohold_config / "secrets.key").read_text()
    assert new_key != old_key
    assert len(new_key.split()) == 1
    assert set(_rows(cargohold_home)).isdisjoint(before)
    with Client().registry.read() as tx:
        assert tx.secret_values("vault") == VALUES
        assert tx.secret_values("other") == {"k": "other-value-33"}
    assert old_key.split()[0] not in done.stdout + done.stderr
    assert new_key.split()[0] not in done.stdout + done.stderr
