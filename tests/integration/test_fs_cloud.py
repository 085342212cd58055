"""``cargohold fs`` against every cloud flavor on its real server: each command, and a round trip
local -> s3 -> gcs -> azure -> local whose bytes compare equal."""

from __future__ import annotations

import collections
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from fs_cli import CLI, fs, tree

from cargohold import transfer
from cargohold_testkit.proxy import LatencyProxy
from cargohold_testkit.servers import EmulatorServer


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Small files (moved as one request each) and one of 12 MiB (streamed in chunks, multipart on s3)."""
    top = tmp_path / "source"
    files = {
        "a.txt": b"alpha\n",
        "sub/b.bin": os.urandom(70_000),
        "sub/deep/empty": b"",
        "big.bin": os.urandom(12 << 20),
    }
    for name, data in files.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_bytes(data)
    return top


def test_a_round_trip_through_every_cloud_keeps_every_byte(
    clouds: dict[str, str], source: Path, tmp_path: Path
) -> None:
    fs("cp", "-r", str(source), "s3:trip")
    fs("cp", "-r", "s3:trip", "gcs:trip")
    fs("cp", "-r", "gcs:trip", "azure:trip")
    fs("cp", "-r", "azure:trip", str(tmp_path / "back"))
    assert tree(tmp_path / "back") == tree(source)


@pytest.mark.parametrize("cloud", ["s3", "gcs", "azure"])
def test_every_command_on_a_cloud_store(clouds: dict[str, str], cloud: str, source: Path, tmp_path: Path) -> None:
    root = clouds[cloud]
    fs("mkdir", "-p", f"{cloud}:data")
    fs("cp", "-r", f"{source}/", f"{cloud}:data")
    assert fs("ls", f"{cloud}:data").stdout.splitlines() == ["a.txt", "big.bin", "sub"]
    listed = {e["name"]: e["size"] for e in json.loads(fs("ls", "-R", "--json", f"{cloud}:data").stdout)}
    assert listed == {
        "a.txt": 6,
        "big.bin": 12 << 20,
        "sub": None,
        "sub/b.bin": 70_000,
        "sub/deep": None,
        "sub/deep/empty": 0,
    }
    assert fs("ls", "-l", f"{cloud}:data/a.txt").stdout.split()[1] == "6"
    long = [
        (line.split()[0], line.split()[1], line.split()[-1])
        for line in fs("ls", "-l", f"{cloud}:data").stdout.splitlines()
    ]
    assert long == [("-", "6", "a.txt"), ("-", str(12 << 20), "big.bin"), ("d", "-", "sub")]
    assert json.loads(fs("du", "-s", "--json", f"{cloud}:data").stdout) == [
        {"path": f"{root}/data", "size": 6 + (12 << 20) + 70_000, "files": 4}
    ]
    assert (
        subprocess.run([*CLI, "fs", "cat", f"{cloud}:data/sub/b.bin"], capture_output=True, check=True).stdout
        == (source / "sub" / "b.bin").read_bytes()
    )
    fs("mv", f"{cloud}:data/a.txt", f"{cloud}:data/renamed.txt")
    fs("rm", f"{cloud}:data/renamed.txt")
    assert fs("ls", f"{cloud}:data").stdout.splitlines() == ["big.bin", "sub"]
    assert "Synced 1 file" in fs("sync", str(source), f"{cloud}:data").stderr  # a.txt is back
    assert "Synced 0 files" in fs("sync", str(source), f"{cloud}:data").stderr
    fs("sync", f"{cloud}:data", str(tmp_path / "back"))
    assert "Synced 0 files" in fs("sync", f"{cloud}:data", str(tmp_path / "back")).stderr
    assert tree(tmp_path / "back") == tree(source)
    fs("cp", str(source / "a.txt"), f"{cloud}:data/extra.txt")
    assert fs("sync", "--delete", "--dry-run", str(source), f"{cloud}:data").stdout == (
        f"delete {root}/data/extra.txt\n"
    )
    fs("sync", "--delete", str(source), f"{cloud}:data")
    assert "extra.txt" not in fs("ls", f"{cloud}:data").stdout
    done = fs("cp", "-n", str(source / "a.txt"), f"{cloud}:data/a.txt", check=False)
    assert done.returncode == 1
    assert "exists" in done.stderr
    assert "Deleted 4 files" in fs("rm", "-r", f"{cloud}:data").stderr
    assert fs("ls", f"{cloud}:").stdout == ""


@pytest.mark.parametrize("cloud", ["s3", "gcs", "azure"])
def test_a_thousand_small_files_in_parallel_arrive_byte_for_byte(
    clouds: dict[str, str], cloud: str, tmp_path: Path
) -> None:
    many = tmp_path / "many"
    for i in range(1000):
        path = many / f"d{i % 13}" / f"f{i}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(i % 500))
    result = transfer.copy(str(many), f"{cloud}:many", recursive=True, jobs=32)
    assert result.ok, result.failed
    assert len(result.copied) == 1000
    back = transfer.copy(f"{cloud}:many", str(tmp_path / "back"), recursive=True, jobs=32)
    assert back.ok, back.failed
    assert tree(tmp_path / "back") == tree(many)


@pytest.mark.parametrize("cloud", ["s3", "gcs", "azure"])
def test_sync_sees_same_size_edits_in_the_same_second_or_older_into_and_out_of_a_cloud(
    clouds: dict[str, str], cloud: str, tmp_path: Path
) -> None:
    """The copy in the cloud records its source's mtime, and the copy back keeps it: any difference is an edit."""
    here, back = tmp_path / "here", tmp_path / "back"
    edited = here / "f.txt"
    here.mkdir()
    edited.write_bytes(b"aaaa")
    os.utime(edited, (1_700_000_000.25, 1_700_000_000.25))
    assert "Synced 1 file" in fs("sync", str(here), f"{cloud}:mirror").stderr
    assert "Synced 1 file" in fs("sync", f"{cloud}:mirror", str(back)).stderr
    assert (back / "f.txt").stat().st_mtime == 1_700_000_000.25
    for data, when in ((b"bbbb", 1_700_000_000.5), (b"cccc", 1_600_000_000.0)):
        edited.write_bytes(data)
        os.utime(edited, (when, when))
        assert "Synced 1 file" in fs("sync", str(here), f"{cloud}:mirror").stderr
        assert "Synced 1 file" in fs("sync", f"{cloud}:mirror", str(back)).stderr
        assert (back / "f.txt").read_bytes() == data
        assert "Synced 0 files" in fs("sync", str(here), f"{cloud}:mirror").stderr
        assert "Synced 0 files" in fs("sync", f"{cloud}:mirror", str(back)).stderr


@pytest.mark.parametrize("cloud", ["s3", "gcs", "azure"])
def test_a_first_sync_over_objects_another_tool_wrote_copies_them_unless_checksums_match(
    clouds: dict[str, str], cloud: str, tmp_path: Path
) -> None:
    """Their service's time says nothing of their source's: the first sync copies them, and records it."""
    from cargohold.targets import store_named

    here = tmp_path / "here"
    here.mkdir()
    (here / "same.txt").write_bytes(b"same")
    (here / "edited.txt").write_bytes(b"new!")
    os.utime(here / "edited.txt", (1_600_000_000.0, 1_600_000_000.0))  # older than the object
    filesystem = store_named(cloud).filesystem
    root = clouds[cloud].split("://", 1)[1]
    filesystem.pipe({f"{root}/mirror/same.txt": b"same", f"{root}/mirror/edited.txt": b"old!"})
    done = fs("sync", "--checksum", str(here), f"{cloud}:mirror").stderr
    assert "Synced 1 file" in done
    assert "1 up to date" in done
    assert "Synced 1 file" in fs("sync", str(here), f"{cloud}:mirror").stderr  # same.txt, its mtime now recorded
    assert "Synced 0 files" in fs("sync", str(here), f"{cloud}:mirror").stderr
    assert subprocess.run([*CLI, "fs", "cat", f"{cloud}:mirror/edited.txt"], capture_output=True).stdout == b"new!"


def test_sync_checksum_compares_the_hashes_services_keep_across_services(
    clouds: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MD5s (S3's single-part ETag, GCS's md5Hash, Azure's Content-MD5) compared across services, with no
    download; only an S3 multipart upload, which keeps no MD5, is read to compute one."""
    from cargohold.targets import store_named

    here = tmp_path / "here"
    here.mkdir()
    (here / "a.txt").write_bytes(b"alpha")
    (here / "big.bin").write_bytes(os.urandom(12 << 20))  # multipart on S3, a block list on Azure
    fs("sync", str(here), "s3:c")
    fs("sync", "s3:c", "gcs:c")
    fs("sync", "gcs:c", "azure:c")
    read: collections.Counter[str] = collections.Counter()
    for name in clouds:
        store = store_named(name)
        monkeypatch.setattr(
            store, "open", lambda p, mode="r", s=store, n=name: read.update([n]) or type(s).open(s, p, mode)
        )
    for source, target, reads in (
        ("gcs:c", "azure:c", {}),
        ("s3:c", "gcs:c", {"s3": 1}),
        ("azure:c", "s3:c", {"s3": 1}),
    ):
        read.clear()
        result = transfer.sync(source, target, checksum=True)
        assert (result.copied, len(result.skipped)) == ([], 2), (source, target)
        assert read == reads, (source, target)
    store_named("gcs").filesystem.pipe_file(f"{clouds['gcs'].split('://', 1)[1]}/c/a.txt", b"ALPHA")
    result = transfer.sync("s3:c", "gcs:c", checksum=True)
    assert [s for s, _ in result.copied] == [f"{clouds['s3']}/c/a.txt"]


def test_a_copy_between_two_s3_stores_of_one_account_stays_inside_the_service(
    clouds: dict[str, str], servers: dict[str, Any], bucket: str, tmp_path: Path
) -> None:
    from cargohold.client import Client
    from cargohold.targets import store_named

    other = {"path": f"s3://{bucket}/{uuid.uuid4().hex[:12]}", **servers["s3"].storage_options}
    Client().register_component("artifact_store", "s3b", "s3", other)
    (tmp_path / "f.bin").write_bytes(os.urandom(7 << 20))
    assert transfer.copy(str(tmp_path / "f.bin"), "s3:f.bin").ok
    requests: collections.Counter[str] = collections.Counter()
    for name in ("s3", "s3b"):
        filesystem = store_named(name).filesystem
        filesystem.connect()
        filesystem.s3.meta.events.register("before-call.s3", lambda model, **_: requests.update([model.name]))
    assert transfer.copy("s3:f.bin", "s3b:f.bin").ok
    assert requests["CopyObject"] == 1
    assert not {"GetObject", "PutObject", "UploadPart"} & set(requests), requests
    assert store_named("s3b").size("f.bin") == 7 << 20


def _register_behind(proxy: LatencyProxy, bucket: str) -> None:
    """An s3 store ``far`` whose requests go through ``proxy`` (the files come from local paths, hence this folder)."""
    root = f"s3://{bucket}/{uuid.uuid4().hex}"
    fields = [f"--endpoint-url={proxy.endpoint}", "--key=testing", "--secret=testing"]
    register = [*CLI, "artifact-store", "register", "far", "--flavor", "s3", "--path", root, *fields]
    subprocess.run(register, capture_output=True, text=True, timeout=120, check=True)


def test_cp_and_sync_keep_jobs_requests_in_flight_and_never_more(
    servers: dict[str, EmulatorServer], bucket: str, tmp_path: Path
) -> None:
    """Through a proxy that holds every request and reply 50 ms, as a network would: with ``--jobs 4`` at least two
    requests are in flight at once (the files move in parallel) and never more than four (one limit, not a pool of
    threads each running coroutines), for ``cp -r``, and for ``sync``'s comparisons (a HEAD each) and copies."""
    source = tmp_path / "many"
    for i in range(48):
        (source / f"d{i % 3}").mkdir(parents=True, exist_ok=True)
        (source / f"d{i % 3}" / f"f{i}").write_bytes(bytes([i]) * 1000)
    with LatencyProxy(servers["s3"].endpoint, delay=0.05) as proxy:
        _register_behind(proxy, bucket)
        fs("cp", "-r", "--jobs", "4", f"{source}/", "far:many")
        copied = (proxy.requests, proxy.peak_in_flight)
        for i in range(0, 48, 2):  # half the files edited, their sizes kept
            (source / f"d{i % 3}" / f"f{i}").write_bytes(bytes([i + 1]) * 1000)
        proxy.reset()
        assert "Synced 24 files" in fs("sync", "--jobs", "4", f"{source}/", "far:many").stderr
        synced = (proxy.requests, proxy.peak_in_flight)
    assert copied[0] >= 48
    assert 2 <= copied[1] <= 4, copied
    assert synced[0] >= 48 + 24
    assert 2 <= synced[1] <= 4, synced


def test_cp_keeps_more_in_flight_than_botocores_default_pool(
    servers: dict[str, EmulatorServer], bucket: str, tmp_path: Path
) -> None:
    """``--jobs 16`` (the default) has 16 requests in flight, not the 10 of botocore's default connection pool."""
    source = tmp_path / "many"
    source.mkdir()
    for i in range(64):
        (source / f"f{i}").write_bytes(bytes([i]) * 1000)
    with LatencyProxy(servers["s3"].endpoint, delay=0.05) as proxy:
        _register_behind(proxy, bucket)
        fs("cp", "-r", "--jobs", "16", f"{source}/", "far:many")
    assert 10 < proxy.peak_in_flight <= 16, proxy.peak_in_flight
