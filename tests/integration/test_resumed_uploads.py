"""A ``cargohold fs cp`` killed halfway through a large upload is taken up by the rerun, which sends only what
the service does not hold yet; the result is the file byte for byte, and cleanup then finds nothing left.

What reached the service is read from the server itself (the unfinished upload's parts); what the rerun
sends is counted at its client's requests, in this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError
from fs_cli import CLI, fs
from fsspec.asyn import sync

from cargohold import transfer
from cargohold.targets import store_named

#: 16 parts of the stores' 6 MiB: a part sent but lost to the kill (a retry cut short) costs 6% of the file.
SIZE = 96 << 20


def _s3_held(root: str) -> int:
    """Bytes the parts of the unfinished uploads of ``big.bin`` hold on the server."""
    filesystem = store_named("s3").filesystem
    bucket, _, prefix = root.removeprefix("s3://").partition("/")
    key = f"{prefix}/big.bin"
    held = 0
    for upload in filesystem.call_s3("list_multipart_uploads", Bucket=bucket, Prefix=key).get("Uploads", []):
        parts = filesystem.call_s3("list_parts", Bucket=bucket, Key=key, UploadId=upload["UploadId"])
        held += sum(part["Size"] for part in parts.get("Parts", []))
    return held


def _s3_count(sent: list[int]) -> None:
    """Count into ``sent`` the body of every part and object this process uploads."""
    filesystem = store_named("s3").filesystem
    filesystem.connect()
    for call in ("UploadPart", "PutObject"):
        filesystem.s3.meta.events.register(
            f"before-parameter-build.s3.{call}", lambda params, **_: sent.append(len(params["Body"]))
        )


def _azure_held(root: str) -> int:
    """Bytes of the blocks staged for ``big.bin`` and not committed, on the server."""
    filesystem = store_named("azure").filesystem
    container, _, prefix = root.removeprefix("az://").partition("/")
    client = filesystem.service_client.get_blob_client(container, f"{prefix}/big.bin")
    try:
        _, uncommitted = sync(filesystem.loop, client.get_block_list, "uncommitted")
    except ResourceNotFoundError:  # nothing staged yet
        return 0
    return sum(block.size for block in uncommitted)


def _azure_count(sent: list[int]) -> None:
    """Count into ``sent`` the body of every PUT (a block, a blob, a block list) this process sends."""
    from azure.storage.blob.aio import BlobServiceClient

    def hook(request: Any) -> None:
        if request.http_request.method == "PUT" and request.http_request.body:
            sent.append(len(request.http_request.body))

    filesystem = store_named("azure").filesystem
    built = filesystem.service_client
    filesystem.service_client = BlobServiceClient(
        built.url, credential=built.credential, raw_request_hook=hook, **filesystem._client_options
    )


HELD: dict[str, Callable[[str], int]] = {"s3": _s3_held, "azure": _azure_held}
COUNT: dict[str, Callable[[list[int]], Any]] = {"s3": _s3_count, "azure": _azure_count}


def _kill_halfway(cloud: str, root: str, big: Path) -> None:
    """Start ``cargohold fs cp`` of ``big`` to ``CLOUD:big.bin`` and kill -9 it once the server holds half the file."""
    # Paced at 16 MiB a second, the upload takes 6 s; it is killed once the server holds half of the file.
    copying = subprocess.Popen([*CLI, "fs", "cp", "-q", "--bwlimit", "16M", str(big), f"{cloud}:big.bin"])
    try:
        give_up = time.monotonic() + 120
        while HELD[cloud](root) < SIZE // 2:
            assert copying.poll() is None, "the copy ended before it was killed"
            assert time.monotonic() < give_up, "half of the file never reached the server"
            time.sleep(0.05)
    finally:
        copying.send_signal(signal.SIGKILL)
        copying.wait(timeout=60)
    assert copying.returncode == -signal.SIGKILL
    assert fs("ls", f"{cloud}:").stdout == ""  # nothing under the final name


@pytest.mark.parametrize("cloud", ["s3", "azure"])
def test_an_upload_killed_halfway_is_resumed_by_a_rerun_that_sends_under_60_percent(
    clouds: dict[str, str], cloud: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(data := os.urandom(SIZE))
    _kill_halfway(cloud, clouds[cloud], big)
    sent: list[int] = []
    COUNT[cloud](sent)
    result = transfer.copy(str(big), f"{cloud}:big.bin")
    assert result.ok, result.failed
    assert 0 < sum(sent) < 0.6 * SIZE, f"the rerun sent {sum(sent)} of {SIZE} bytes"
    assert subprocess.run([*CLI, "fs", "cat", f"{cloud}:big.bin"], capture_output=True, check=True).stdout == data
    assert fs("cleanup", "--older-than", "0", f"{cloud}:").stdout == ""
    assert HELD[cloud](clouds[cloud]) == 0


@pytest.mark.parametrize(("cloud", "left"), [("s3", "multipart upload"), ("azure", "uncommitted blocks")])
def test_cleanup_removes_what_a_killed_upload_left_once_it_is_old_enough(
    clouds: dict[str, str], cloud: str, left: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(data := os.urandom(SIZE))
    _kill_halfway(cloud, clouds[cloud], big)
    if cloud == "azure":  # moto dates every multipart upload 2010-11-10
        assert fs("cleanup", f"{cloud}:").stdout == ""  # younger than the default 24 hours: it may still be running
    [would] = fs("cleanup", "--dry-run", "--older-than", "0", f"{cloud}:").stdout.splitlines()
    assert would.startswith(f"would remove {clouds[cloud]}/big.bin ({left}")
    assert HELD[cloud](clouds[cloud]) >= SIZE // 2
    assert left in fs("cleanup", "--older-than", "0", f"{cloud}:").stdout
    assert HELD[cloud](clouds[cloud]) == 0
    assert fs("cleanup", "--older-than", "0", f"{cloud}:").stdout == ""
    assert fs("ls", f"{cloud}:").stdout == ""
    fs("cp", str(big), f"{cloud}:big.bin")
    assert subprocess.run([*CLI, "fs", "cat", f"{cloud}:big.bin"], capture_output=True, check=True).stdout == data


def _read_so_far(pid: int, path: Path) -> int:
    """How far the process has read the file at ``path``: the position of its descriptor, or 0 before it opens it."""
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd) == str(path):
                return int(Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text().split()[1])  # "pos: N"
        except (FileNotFoundError, ProcessLookupError):  # closed meanwhile
            continue
    return 0


def test_a_gcs_upload_killed_halfway_leaves_nothing_to_clean_up(clouds: dict[str, str], tmp_path: Path) -> None:
    """The gcs store sends a file of known size in one streamed request, not a resumable session (which GCS could
    not list): a kill leaves no object and nothing for cleanup, and the rerun sends the whole file."""
    big = tmp_path / "big.bin"
    big.write_bytes(data := os.urandom(SIZE))
    copying = subprocess.Popen([*CLI, "fs", "cp", "-q", "--bwlimit", "16M", str(big), "gcs:big.bin"])
    try:
        give_up = time.monotonic() + 120
        while _read_so_far(copying.pid, big) < SIZE // 2:
            assert copying.poll() is None, "the copy ended before it was killed"
            assert time.monotonic() < give_up, "the copy never read half of the file"
            time.sleep(0.05)
    finally:
        copying.send_signal(signal.SIGKILL)
        copying.wait(timeout=60)
    assert copying.returncode == -signal.SIGKILL
    assert fs("ls", "gcs:").stdout == ""
    assert fs("cleanup", "--older-than", "0", "gcs:").stdout == ""
    fs("cp", str(big), "gcs:big.bin")
    assert subprocess.run([*CLI, "fs", "cat", "gcs:big.bin"], capture_output=True, check=True).stdout == data
