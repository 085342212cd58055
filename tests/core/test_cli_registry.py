"""The registry from the command line: the seed flow end to end, and bad input that changes nothing."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from registry_kit import FLAVOR, cargohold, digest, make_repo, ok, python

from cargohold.registry._schema import SCHEMA_VERSION

PACKAGE = "shelfpkg"
HEAVY = ("fsspec", "rich", "s3fs", "gcsfs", "adlfs", "boto3", "botocore", "google", "azure", f"{PACKAGE}.store")
REGISTER_IMPORTING_NOTHING_HEAVY = f"""
import sys
from cargohold.cli import main
try:
    main(sys.argv[1:], prog_name="cargohold")
except SystemExit as exc:
    assert exc.code == 0, exc.code
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""


@pytest.mark.usefixtures("registry_backend")
def test_the_seed_flow_from_init_to_fileio(tmp_path: Path) -> None:
    home, repo, elsewhere = tmp_path / "home", make_repo(tmp_path / "repo", PACKAGE), tmp_path / "elsewhere"
    elsewhere.mkdir()
    store_root = tmp_path / "shelf"

    assert "repository root" in ok(cargohold(home, "init", cwd=repo))
    assert (repo / ".cargohold").is_dir()
    registered = cargohold(home, "artifact-store", "flavor", "register", f"{PACKAGE}.{FLAVOR}", cwd=repo)
    assert "Registered the custom artifact_store flavor 'folder'" in ok(registered)
    assert registered.stderr == ""  # a marked root: no warning about the working directory

    listing = json.loads(ok(cargohold(home, "flavor", "list", "--json", cwd=elsewhere)))
    custom = [row for row in listing if row["origin"] == "custom"]
    assert custom == [
        {
            "type": "artifact_store",
            "name": "folder",
            "origin": "custom",
            "source": f"{PACKAGE}.{FLAVOR}",
            "version": None,
            "root": str(repo),
            "description": "Files in a folder on this machine, addressed as folder://<absolute path>.",
            "error": None,
        }
    ]
    table = [line.split() for line in ok(cargohold(home, "flavor", "list", cwd=elsewhere)).splitlines()]
    assert ["artifact_store", "folder", f"{PACKAGE}.{FLAVOR}", "in", str(repo), "custom"] in table
    if importlib.util.find_spec("cargohold_local"):
        assert ["artifact_store", "local", "cargohold-local", "0.1.0"] in table

    url = f"folder://{store_root}"
    register = ["artifact-store", "register", "shelf", "--flavor", "folder", "--path", url, "--replicas=2"]
    registered = python(home, REGISTER_IMPORTING_NOTHING_HEAVY, *register, cwd=elsewhere)
    assert ok(registered).splitlines() == ["Registered the artifact store 'shelf' of flavor 'folder'.", "[]"]
    ok(cargohold(home, "stack", "register", "main", "--artifact-store", "shelf", cwd=elsewhere))
    ok(cargohold(home, "stack", "set", "main", cwd=elsewhere))
    stacks = json.loads(ok(cargohold(home, "stack", "list", "--json")))
    assert {s["name"]: s["active"] for s in stacks} == {"default": False, "main": True}

    used = python(
        home,
        """
        import json
        from cargohold import fileio
        from cargohold.client import Client

        url = Client().active_stack.artifact_store.path
        with fileio.open(url + "/models/model.bin", "wb") as f:
            f.write(b"weights")
        with fileio.open(url + "/models/model.bin", "rb") as f:
            read = f.read().decode()
        store = fileio.store_for(url + "/models/model.bin")
        tagged = Client().get_artifact_store("shelf", settings={"tag": "v1"})
        print(json.dumps({
            "read": read,
            "listing": fileio.listdir(url + "/models"),
            "store": [store.name, store.flavor, type(store).__name__, store.config.replicas],
            "settings": [tagged.settings.tag, store.settings, Client().get_artifact_store("shelf").settings],
        }))
        """,
        cwd=elsewhere,
    )
    assert json.loads(ok(used)) == {
        "read": "weights",
        "listing": ["model.bin"],
        "store": ["shelf", "folder", "FolderStore", 2],
        "settings": ["v1", None, None],
    }
    assert (store_root / "models" / "model.bin").read_bytes() == b"weights"


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A registry with the custom flavor, a secret, two stores and an active stack; and the repository."""
    where = tmp_path_factory.mktemp("bad-input")
    home, repo = where / "home", make_repo(where / "repo", "badpkg")
    for args in (
        ["init"],
        ["flavor", "register", f"badpkg.{FLAVOR}"],
        ["secret", "create", "creds", "--token=t0ken"],
        ["secret", "create", "taken-artifact-store", "--token=t0ken"],
        ["artifact-store", "register", "owner", "-f", "folder", f"--path=folder://{where}/owner", "--token=own"],
        ["artifact-store", "register", "shelf", "-f", "folder", f"--path=folder://{where}/shelf"],
        [
            "artifact-store",
            "register",
            "spare",
            "-f",
            "folder",
            f"--path=folder://{where}/spare",
            "--token={{creds.token}}",
        ],
        ["stack", "register", "main", "-a", "shelf", "--set"],
    ):
        ok(cargohold(home, *args, cwd=repo))
    (where / "not-a-dict.json").write_text("[1, 2]")
    return home, repo


FOLDER = "--path=folder:///tmp/never"
BAD_INPUT = {
    "unknown flavor": (["artifact-store", "register", "x", "-f", "nosuch", FOLDER], "flavor named 'nosuch'"),
    "bad path scheme": (["artifact-store", "register", "x", "-f", "folder", "--path=s3://b/k"], "is not supported"),
    "failing validator": (
        ["artifact-store", "register", "x", "-f", "folder", FOLDER, "--replicas=7"],
        "replicas: replicas must be between 1 and 3",
    ),
    "wrong field type": (["artifact-store", "register", "x", "-f", "folder", FOLDER, "--replicas=many"], "replicas:"),
    "unknown field": (["artifact-store", "register", "x", "-f", "folder", FOLDER, "--colour=red"], "no field 'colour'"),
    "bad JSON": (["artifact-store", "register", "x", "-f", "folder", FOLDER, "--labels={oops"], "takes JSON"),
    "option without value": (["artifact-store", "register", "x", "-f", "folder", FOLDER, "--labels"], "needs a value"),
    "bad name": (["artifact-store", "register", "a b", "-f", "folder", FOLDER], "not a valid artifact_store name"),
    "duplicate store": (["artifact-store", "register", "shelf", "-f", "folder", FOLDER], "'shelf' is taken"),
    "missing secret": (
        ["artifact-store", "register", "x", "-f", "folder", FOLDER, "--token={{nosuch.token}}"],
        "secret 'nosuch', which does not exist",
    ),
    "missing secret key": (
        ["artifact-store", "register", "x", "-f", "folder", FOLDER, "--password={{creds.password}}"],
        "which has only the keys: token",
    ),
    "update unknown store": (["artifact-store", "update", "nosuch", "--replicas=2"], "owner, shelf, spare)."),
    "update without changes": (["artifact-store", "update", "shelf"], "Nothing to update"),
    "update failing validator": (["artifact-store", "update", "shelf", "--replicas=0"], "between 1 and 3"),
    "update unsets required": (
        ["artifact-store", "update", "shelf", "--remove-attribute", "path"],
        "path: Field required",
    ),
    "update removes unknown": (["artifact-store", "update", "shelf", "--remove-attribute", "nope"], "no field 'nope'"),
    "update missing secret": (["artifact-store", "update", "shelf", "--token={{gone.key}}"], "secret 'gone'"),
    "update sets and removes": (
        ["artifact-store", "update", "shelf", "--replicas=2", "--remove-attribute", "replicas"],
        "both given a value and removed",
    ),
    "rename to taken name": (["artifact-store", "rename", "spare", "shelf"], "'shelf' is taken"),
    "rename onto a taken secret name": (
        ["artifact-store", "rename", "owner", "taken"],
        "A secret named 'taken-artifact-store' already exists",
    ),
    "own secret name taken": (
        ["artifact-store", "register", "taken", "-f", "folder", FOLDER, "--token=plain"],
        "go into a secret named 'taken-artifact-store', but one already exists",
    ),
    "rename unknown": (["artifact-store", "rename", "nosuch", "other"], "No artifact_store named 'nosuch'"),
    "delete store in use": (["artifact-store", "delete", "shelf"], "part of the stack(s) main"),
    "describe unknown store": (["artifact-store", "describe", "nosuch"], "No artifact_store named 'nosuch'"),
    "stack duplicate": (["stack", "register", "main", "-a", "shelf"], "'main' is taken"),
    "stack unknown store": (["stack", "register", "x", "-a", "nosuch"], "No artifact_store named 'nosuch'"),
    "stack without store": (["stack", "register", "x"], "needs an artifact store"),
    "stack bad component": (["stack", "register", "x", "-a", "shelf", "-c", "oops"], "TYPE=NAME"),
    "stack set unknown": (["stack", "set", "nosuch"], "registered: default, main"),
    "stack update unknown store": (["stack", "update", "main", "-a", "nosuch"], "No artifact_store named 'nosuch'"),
    "stack rename to taken": (["stack", "rename", "main", "default"], "'default' is taken"),
    "stack delete active": (["stack", "delete", "main"], "is active"),
    "stack describe unknown": (["stack", "describe", "nosuch"], "No stack named 'nosuch'"),
    "secret duplicate": (["secret", "create", "creds", "--token=other"], "'creds' already exists"),
    "secret without values": (["secret", "create", "empty"], "at least one key"),
    "secret bad key": (["secret", "create", "x", "--a.b=1"], "not a valid secret key name"),
    "secret values not a dict": (["secret", "create", "x", "--values=@{where}/not-a-dict.json"], "JSON object"),
    "secret values missing file": (["secret", "create", "x", "--values=@{where}/missing.json"], "Cannot read"),
    "secret update unknown": (["secret", "update", "nosuch", "--k=v"], "No secret named 'nosuch'"),
    "secret drops referenced key": (
        ["secret", "update", "creds", "--remove-key", "token"],
        "artifact_store:spare.token",
    ),
    "secret drops missing key": (["secret", "update", "creds", "--remove-key", "nokey"], "has no key 'nokey'"),
    "secret delete referenced": (["secret", "delete", "creds"], "referred to by artifact_store:spare.token"),
    "secret describe unknown": (["secret", "describe", "nosuch"], "No secret named 'nosuch'"),
    "flavor module missing": (["flavor", "register", "badpkg.nope.Flavor"], "Cannot import 'badpkg.nope'"),
    "flavor attribute missing": (["flavor", "register", "badpkg.flavors.Nope"], "has no attribute 'Nope'"),
    "flavor not a Flavor": (["flavor", "register", "badpkg.flavors.FolderConfig"], "not a Flavor subclass"),
    "flavor config not a config": (
        ["flavor", "register", "badpkg.flavors.BadConfigFlavor"],
        "is not a StackComponentConfig subclass",
    ),
    "flavor implementation not a component": (
        ["flavor", "register", "badpkg.flavors.BadImplementationFlavor"],
        "is not a StackComponent",
    ),
    "flavor duplicate": (["flavor", "register", f"badpkg.{FLAVOR}"], "already registered"),
    "flavor not a path": (["flavor", "register", "nodots"], "not a dotted path"),
    "flavor delete in use": (["flavor", "delete", "folder"], "used by owner, shelf, spare"),
    "flavor delete unknown": (["flavor", "delete", "nosuch"], "No custom flavor named 'nosuch'"),
    "flavor describe unknown": (["flavor", "describe", "nosuch"], "flavor named 'nosuch'"),
}
if importlib.util.find_spec("cargohold_local"):
    BAD_INPUT["flavor collides with a plugin"] = (
        ["flavor", "register", "badpkg.flavors.LocalClash"],
        "already provided by cargohold-local",
    )
    BAD_INPUT["flavor delete of a plugin flavor"] = (["flavor", "delete", "local"], "uninstall the plugin")


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_is_one_sentence_and_changes_nothing(populated: tuple[Path, Path], case: str) -> None:
    home, repo = populated
    args, expected = BAD_INPUT[case]
    args = [arg.replace("{where}", str(home.parent)) for arg in args]
    registry = home / "registry.db"
    before = digest(registry)

    result = cargohold(home, *args, cwd=repo)

    assert result.returncode != 0
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ")
    assert expected in line
    assert digest(registry) == before


def test_bad_settings_and_a_newer_registry_change_nothing(populated: tuple[Path, Path], tmp_path: Path) -> None:
    home, repo = populated
    registry = home / "registry.db"
    before = digest(registry)
    bad_settings = python(
        home,
        """
        from cargohold import CargoholdError
        from cargohold.client import Client
        try:
            Client().get_artifact_store("shelf", settings={"colour": "red"})
        except CargoholdError as exc:
            print(exc)
        """,
    )
    assert "Invalid settings for the 'folder' flavor: colour: Extra inputs are not permitted." in ok(bad_settings)
    assert digest(registry) == before

    home = tmp_path / "newer"
    shutil.copytree(populated[0], home)
    registry = home / "registry.db"
    with sqlite3.connect(registry) as conn:
        conn.execute("UPDATE schema_version SET version = version + 1")
    conn.close()
    newer = digest(registry)
    result = cargohold(home, "stack", "list", cwd=repo)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"Error: The registry at {registry} has schema version {SCHEMA_VERSION + 1}, newer than the {SCHEMA_VERSION} "
        "this cargohold understands; "
        "upgrade cargohold to use it."
    ]
    assert digest(registry) == newer
