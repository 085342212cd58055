"""Two s3 stores on two servers, with different credentials, in one process: fileio sends each path to its own."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from cargohold import BaseArtifactStore, fileio
from cargohold_s3.flavor import S3ArtifactStoreFlavor
from cargohold_s3.store import S3ArtifactStore
from cargohold_testkit.servers import EmulatorServer


def test_each_path_goes_to_its_own_server(
    s3_server: EmulatorServer,
    other_s3_server: EmulatorServer,
    store_config: Callable[..., dict[str, Any]],
    raw_filesystem: Callable[[EmulatorServer], Any],
    mount: Callable[[BaseArtifactStore], None],
) -> None:
    run = uuid.uuid4().hex
    first = S3ArtifactStoreFlavor().build(
        store_config(s3_server, f"s3://cargohold-tests/{run}", key="first-key", secret="first-secret"), name="first"
    )
    second = S3ArtifactStoreFlavor().build(
        store_config(other_s3_server, f"s3://cargohold-other/{run}", key="second-key", secret="second-secret"),
        name="second",
    )
    assert isinstance(first, S3ArtifactStore)
    assert isinstance(second, S3ArtifactStore)
    mount(first)
    mount(second)

    with fileio.open(f"{first.path}/a.txt", "w") as f:
        f.write("to the first server")
    with fileio.open(f"{second.path}/b.txt", "w") as f:
        f.write("to the second server")
    fileio.copyfile(f"{first.path}/a.txt", f"{second.path}/copied/a.txt")  # streamed from one server to the other

    assert fileio.store_for(f"{first.path}/a.txt") is first
    assert fileio.store_for(f"{second.path}/b.txt") is second
    on_first, on_second = raw_filesystem(s3_server), raw_filesystem(other_s3_server)
    assert on_first.cat_file(f"cargohold-tests/{run}/a.txt") == b"to the first server"
    assert on_second.cat_file(f"cargohold-other/{run}/b.txt") == b"to the second server"
    assert on_second.cat_file(f"cargohold-other/{run}/copied/a.txt") == b"to the first server"
    assert not on_first.exists("cargohold-other")  # nothing for the second store went to the first server
    assert not on_second.exists("cargohold-tests")
    assert fileio.listdir(second.path) == ["b.txt", "copied"]

    fileio.rename(f"{second.path}/copied", f"{first.path}/back")
    assert on_first.cat_file(f"cargohold-tests/{run}/back/a.txt") == b"to the first server"
    assert not fileio.exists(f"{second.path}/copied")
