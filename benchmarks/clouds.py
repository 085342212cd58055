"""Each flavor as the transfer measures need it: a store and the raw fsspec filesystem on the same place.

Cloud flavors run against their emulators (``cargohold_testkit.servers``), started here on free
loopback ports and stopped afterwards, reached directly or, given a ``delay``, through the kit's latency proxy.
The store's config is the emulator's fsspec options, so the store and the raw filesystem log in the same way.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import NotAvailableError, script

from cargohold import BaseArtifactStore

if TYPE_CHECKING:
    from cargohold_testkit.proxy import LatencyProxy

BUCKET = "cargohold-bench"


@dataclass(frozen=True)
class Kind:
    """How to reach one flavor: its emulator, its URL scheme and its raw fsspec class ("module:Class")."""

    start: str | None
    scheme: str
    filesystem: str


KINDS = {
    "local": Kind(None, "", "fsspec.implementations.local:LocalFileSystem"),
    "s3": Kind("start_s3", "s3://", "s3fs:S3FileSystem"),
    "gcs": Kind("start_gcs", "gs://", "gcsfs.core:GCSFileSystem"),  # the plain class: see the kit's servers
    "azure": Kind("start_azure", "az://", "adlfs:AzureBlobFileSystem"),
}
CLOUDS = ("s3", "gcs", "azure")


@dataclass(frozen=True)
class Place:
    """A store rooted at ``url`` and the raw filesystem built from ``options`` (``raw_root`` is the same place)."""

    flavor: str
    url: str
    options: Mapping[str, Any]
    store: BaseArtifactStore
    raw: Any
    raw_root: str
    proxy: LatencyProxy | None = None
    """The proxy between everything here and the emulator, when the place was made with a delay."""

    @property
    def config(self) -> dict[str, Any]:
        """The store's config: its root and the emulator's options."""
        return {"path": self.url, **self.options}

    def clear(self) -> None:
        """Remove everything under the root, so the emulator's memory stays bounded between rounds."""
        with contextlib.suppress(FileNotFoundError):
            self.raw.rm(self.raw_root, recursive=True)


@contextlib.contextmanager
def place(flavor: str, workdir: Path, prefix: str, *, delay: float | None = None) -> Iterator[Place]:
    """A store of ``flavor`` under ``prefix`` and its raw filesystem; a cloud one on a fresh emulator, which
    everything here reaches through a :class:`~cargohold_testkit.proxy.LatencyProxy` holding each chunk ``delay``
    seconds each way when one is given (as a network between a client and a service would).

    Raises NotAvailableError when the flavor, its library or its emulator is missing here.
    """
    from cargohold.plugins import get_flavor_registry

    kind = KINDS[flavor]
    if ("artifact_store", flavor) not in get_flavor_registry():
        raise NotAvailableError(f"the {flavor} flavor is not installed")
    module, _, name = kind.filesystem.partition(":")
    try:
        filesystem: Callable[..., Any] = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise NotAvailableError(f"{module} is not installed: {exc}") from exc
    with contextlib.ExitStack() as stack:
        proxy = None
        if kind.start is None:
            options: dict[str, Any] = {}
            root = str(workdir / prefix)
            url = root
        else:
            from cargohold_testkit import servers

            try:
                server = stack.enter_context(getattr(servers, kind.start)(workdir))
            except RuntimeError as exc:
                raise NotAvailableError(str(exc)) from exc
            options = dict(server.storage_options)
            if delay is not None:
                from cargohold_testkit.proxy import LatencyProxy

                proxy = stack.enter_context(LatencyProxy(server.endpoint, delay=delay))
                options = proxy.storage_options(server)
            root = f"{BUCKET}/{prefix}"
            url = kind.scheme + root
        raw = filesystem(**options, skip_instance_cache=True)
        if kind.start is not None:
            raw.mkdir(BUCKET)
        store = get_flavor_registry().get_flavor("artifact_store", flavor).build({"path": url, **options}, name="b")
        assert isinstance(store, BaseArtifactStore)
        yield Place(flavor, url, options, store, raw, root, proxy)


def register(env: Mapping[str, str], name: str, where: Place) -> None:
    """Register ``where``'s store under ``name`` through the CLI, as a user would."""
    fields = [f"--{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in where.config.items()]
    argv = [script("cargohold"), "artifact-store", "register", name, "--flavor", where.flavor, *fields]
    done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"registering {name} failed: {done.stderr.strip()}")
