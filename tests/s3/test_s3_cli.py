"""The s3 flavor from the command line and from fresh processes: registering needs no s3fs, building without it
names the distribution to install, a stack whose credentials live in a secret works end to end, and no command
ever prints a credential."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from cargohold_testkit.servers import EmulatorServer

CARGOHOLD = str(Path(sys.executable).with_name("cargohold"))
#: s3fs and what it stands on: a process that cannot import any of them must still list, describe and register.
HEAVY = ("s3fs", "botocore", "aiobotocore", "boto3", "aiohttp", "fsspec")
_BLOCK = f"import sys\nfor name in {HEAVY!r}:\n    sys.modules[name] = None\n"
_CLI_WITHOUT_HEAVY = _BLOCK + "from cargohold.cli import main\nsys.exit(main())\n"


def _run(command: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if check and done.returncode != 0:
        pytest.fail(f"{command} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return done


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run([CARGOHOLD, *args], check=check)


def _register(name: str, path: str, *fields: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _cli("artifact-store", "register", name, "--flavor", "s3", "--path", path, *fields, check=check)


def _cli_without_heavy(*args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-c", _CLI_WITHOUT_HEAVY, *args])


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-c", code])


def _output(done: Iterable[subprocess.CompletedProcess[str]]) -> str:
    return "\n".join(d.stdout + d.stderr for d in done)


def test_list_describe_and_register_need_no_s3fs() -> None:
    listed = _cli_without_heavy("flavor", "list")
    assert any(line.split()[:3] == ["artifact_store", "s3", "cargohold-s3"] for line in listed.stdout.splitlines())
    described = _cli_without_heavy("flavor", "describe", "s3")
    for field in ("endpoint_url", "connect_timeout", "s3_additional_kwargs"):
        assert field in described.stdout
    register = ["artifact-store", "register", "offline", "--flavor", "s3", "--path", "s3://cargohold-tests/offline"]
    _cli_without_heavy(
        *register,
        "--credentials=environment",
        "--region=eu-west-1",
        '--config-kwargs={"s3": {"addressing_style": "path"}}',
    )
    shown = json.loads(_cli("artifact-store", "describe", "offline", "--json").stdout)
    assert shown["config"]["credentials"] == "environment"
    assert shown["config"]["region"] == "eu-west-1"
    assert shown["config"]["config_kwargs"] == {"s3": {"addressing_style": "path"}}


def test_without_s3fs_building_names_the_distribution_to_install() -> None:
    _cli_without_heavy(
        "artifact-store",
        "register",
        "offline",
        "--flavor",
        "s3",
        "--path",
        "s3://cargohold-tests/x",
        "--credentials=anonymous",
    )
    _cli_without_heavy("stack", "register", "offline-stack", "-a", "offline", "--set")
    probe = _python(
        _BLOCK
        + """
from cargohold import MissingDependencyError, fileio
from cargohold.client import Client
from cargohold_s3.flavor import S3ArtifactStoreFlavor

for build in (
    lambda: S3ArtifactStoreFlavor().build({"path": "s3://cargohold-tests/x"}),
    lambda: Client().get_artifact_store("offline"),
    lambda: fileio.exists("s3://cargohold-tests/x/file"),
):
    try:
        build()
    except MissingDependencyError as exc:
        print("refused:", exc)
    else:
        print("built, although s3fs cannot be imported")
"""
    )
    lines = probe.stdout.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("refused:") and "pip install cargohold-s3" in line for line in lines), lines


def test_a_stack_with_credentials_in_a_secret_serves_a_new_process(
    s3_server: EmulatorServer, raw_filesystem: Callable[[EmulatorServer], Any], tmp_path: Path
) -> None:
    key, secret = "AKIACLIFLOWSAMPLE", "cli-flow-secret-value"
    values = tmp_path / "aws.json"
    values.write_text(json.dumps({"key": key, "secret": secret}))
    root = f"s3://cargohold-tests/{uuid.uuid4().hex}"
    done = [
        _cli("secret", "create", "moto-login", f"--values=@{values}"),
        _register(
            "moto",
            root,
            f"--endpoint-url={s3_server.endpoint}",
            "--key={{moto-login.key}}",
            "--secret={{moto-login.secret}}",
            "--retries=1",
        ),
        _cli("stack", "register", "moto-stack", "-a", "moto", "--set"),
    ]
    used = _python(
        f"""
from cargohold import fileio
with fileio.open("{root}/reports/summary.txt", "w") as f:
    f.write("written by a new process")
with fileio.open("{root}/reports/summary.txt") as f:
    print(f.read())
print(fileio.listdir("{root}"))
"""
    )
    assert used.stdout.splitlines() == ["written by a new process", "['reports']"]
    on_server = raw_filesystem(s3_server).cat_file(f"{root.removeprefix('s3://')}/reports/summary.txt")
    assert on_server == b"written by a new process"

    done += [
        used,
        _cli("artifact-store", "describe", "moto"),
        _cli("artifact-store", "describe", "moto", "--json"),
        _cli("artifact-store", "list"),
        _cli("stack", "describe"),
        _cli("secret", "list"),
        _cli("secret", "describe", "moto-login"),
    ]
    shown = _output(done)
    assert "{{moto-login.secret}}" in shown  # describe shows the reference...
    assert key not in shown  # ...and never what it stands for
    assert secret not in shown


def test_plain_credentials_given_to_register_never_show() -> None:
    key, secret, token = "AKIAPLAINSAMPLE", "plain-secret-value", "plain-session-token"
    done = [
        _register("plain", "s3://cargohold-tests/plain", f"--key={key}", f"--secret={secret}", f"--token={token}"),
        _cli("artifact-store", "describe", "plain"),
        _cli("artifact-store", "describe", "plain", "--json"),
        _cli("artifact-store", "list", "--json"),
        _cli("secret", "list"),
        # Refused configs: the messages name the fields, never the values.
        _register("half", "s3://b-1/x", f"--key={key}", check=False),
        _register("wrong", "s3://b-1/x", f'--client-kwargs={{"aws_secret_access_key": "{secret}"}}', check=False),
        _cli("artifact-store", "update", "plain", "--endpoint-url=ftp://nowhere", check=False),
    ]
    assert [d.returncode != 0 for d in done[-3:]] == [True, True, True]
    assert "key and secret go together" in done[-3].stderr
    shown = _output(done)
    for value in (key, secret, token):
        assert value not in shown
