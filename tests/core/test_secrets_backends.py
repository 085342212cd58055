"""A plugin's secrets backend: chosen for the whole registry, every value moved there and read back through it,
old values discarded after the commit, and a missing or broken backend named in one sentence."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from registry_kit import registry_rows
from venvs import CORE, LOCAL, make_venv, write_plugin

#: Every test here runs on the embedded SQLite registry and on a PostgreSQL one.
pytestmark = pytest.mark.usefixtures("registry_backend")

#: A stand-in for Vault: each store() writes one file under $JAR_DIR and the registry keeps its name.
JAR = """\
import json
import os
import uuid
from pathlib import Path

from cargohold.plugin import SecretsBackend, hookimpl


class JarBackend(SecretsBackend):
    name = "jar"
    description = "values in files under $JAR_DIR"

    def store(self, secret_id, values):
        ref = f"{secret_id}-{uuid.uuid4().hex}"
        (Path(os.environ["JAR_DIR"]) / ref).write_text(json.dumps(dict(values)))
        return {key: f"{ref}#{key}" for key in values}

    def load(self, secret_id, stored):
        jar = Path(os.environ["JAR_DIR"])
        return {k: json.loads((jar / t.partition("#")[0]).read_text())[t.partition("#")[2]] for k, t in stored.items()}

    def discard(self, secret_id, stored):
        for text in stored.values():
            (Path(os.environ["JAR_DIR"]) / text.partition("#")[0]).unlink(missing_ok=True)


@hookimpl
def cargohold_secrets_backends():
    return [JarBackend]
"""
NAMELESS = """\
from cargohold.plugin import SecretsBackend, hookimpl


class Nameless(SecretsBackend):
    pass


@hookimpl
def cargohold_secrets_backends():
    return [Nameless]
"""


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("backends")
    jar = write_plugin(where / "src", "cargohold-jar", "jar_backend", JAR)
    nameless = write_plugin(where / "src", "cargohold-nameless", "nameless_backend", NAMELESS)
    return make_venv(where / "venv", f"{CORE}[postgresql]", LOCAL, jar, nameless)


class Shell:
    """The venv's ``cargohold`` in a fresh process, on the test's registry, with the jar in ``jar``; a run gives
    its stdout, or its stderr when it is expected to fail."""

    def __init__(self, venv: Path, jar: Path) -> None:
        self.venv, self.env = venv, {**os.environ, "JAR_DIR": str(jar)}

    def run(self, *args: str, fails: bool = False, **env: str) -> str:
        result = subprocess.run(
            [str(self.venv.parent / "cargohold"), *args],
            capture_output=True,
            text=True,
            env={**self.env, **env},
            check=False,
        )
        assert (result.returncode != 0) == fails, (args, result.stdout, result.stderr)
        return result.stderr if fails else result.stdout


def _stored(home: Path) -> str:
    return "\n".join(str(row[0]) for row in registry_rows(home, "SELECT data FROM secrets"))


def test_a_plugin_backend_keeps_every_value_and_the_registry_keeps_none(
    venv: Path, tmp_path: Path, cargohold_home: Path
) -> None:
    jar, data, moved = tmp_path / "jar", tmp_path / "data", tmp_path / "moved"
    for folder in (jar, data, moved):
        folder.mkdir()
    (tmp_path / "f.txt").write_text("payload")
    sh = Shell(venv, jar)
    path, token = str(data), f"token-{uuid.uuid4().hex}"

    sh.run("secret", "create", "where", f"--path={path}", f"--token={token}")
    sh.run("artifact-store", "register", "w", "-f", "local", "--path={{where.path}}")
    listed = json.loads(sh.run("secret", "backend", "--json"))
    assert [(b["name"], b["chosen"]) for b in listed] == [("fernet", True), ("jar", False)]

    assert "moved the values of 1 secret(s)" in sh.run("secret", "backend", "jar")
    assert json.loads(sh.run("secret", "backend", "--json"))[1]["chosen"] is True
    stored = _stored(cargohold_home)
    assert '"path": "jar:' in stored
    assert path not in stored
    assert token not in stored
    assert "fernet:" not in stored
    kept = {k: v for file in jar.iterdir() for k, v in json.loads(file.read_text()).items()}
    assert kept == {"path": path, "token": token}

    # the store's path comes from the jar: a copy lands in the folder the secret names
    sh.run("fs", "cp", str(tmp_path / "f.txt"), "w:f.txt")
    assert (data / "f.txt").read_text() == "payload"

    # an update writes a new jar entry and, once committed, the old one is discarded
    sh.run("secret", "update", "where", f"--path={moved}")
    assert len(list(jar.iterdir())) == 1
    sh.run("fs", "cp", str(tmp_path / "f.txt"), "w:g.txt")
    assert (moved / "g.txt").read_text() == "payload"

    # rotate-key is the built-in backend's; here it is refused and nothing changes
    before = _stored(cargohold_home)
    assert "rotates the built-in 'fernet' backend's key only" in sh.run("secret", "rotate-key", fails=True)
    assert _stored(cargohold_home) == before

    # back to the built-in one: every value sealed in the registry again, the jar emptied after the commit
    sh.run("secret", "backend", "fernet")
    assert list(jar.iterdir()) == []
    stored = _stored(cargohold_home)
    assert '"path": "fernet:' in stored
    assert str(moved) not in stored
    sh.run("fs", "cp", str(tmp_path / "f.txt"), "w:h.txt")
    assert (moved / "h.txt").read_text() == "payload"


def test_a_missing_or_broken_backend_is_one_sentence_and_changes_nothing(
    venv: Path, tmp_path: Path, cargohold_home: Path
) -> None:
    jar = tmp_path / "jar"
    jar.mkdir()
    sh = Shell(venv, jar)
    (tmp_path / "data").mkdir()
    sh.run("secret", "create", "where", f"--path={tmp_path / 'data'}")
    sh.run("artifact-store", "register", "w", "-f", "local", "--path={{where.path}}")
    before = _stored(cargohold_home)

    said = sh.run("secret", "backend", "vault", fails=True)
    assert "No secrets backend named 'vault' is installed (installed: fernet, jar)" in said
    assert _stored(cargohold_home) == before

    # the nameless backend is isolated like a broken flavor: reported, and the rest still work
    plugins = sh.run("plugins")
    assert "nameless_backend" in plugins
    assert "SecretsBackend classes with a name" in plugins

    # values kept by a backend that is no longer installed: reading them says which one to install
    sh.run("secret", "backend", "jar")
    said = sh.run("fs", "ls", "w:", fails=True, CARGOHOLD_DISABLE_PLUGINS="jar_backend")
    assert "No secrets backend named 'jar' is installed" in said
    assert str(tmp_path / "data") not in said
    assert "secret(s)" in sh.run("secret", "backend", "fernet")
    assert list(jar.iterdir()) == []
