"""Each cloud flavor's store config for any endpoint (a hung server, a closed port), shared by
tests/reliability and the benchmarks' deadline figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cargohold import BaseArtifactStore
from cargohold_testkit.servers import AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME


def _s3(endpoint: str) -> dict[str, Any]:
    return {"path": "s3://bucket/root", "endpoint_url": endpoint, "key": "testing", "secret": "testing"}


def _gcs(endpoint: str) -> dict[str, Any]:
    return {"path": "gs://bucket/root", "endpoint_url": endpoint, "credentials": "anonymous"}


def _azure(endpoint: str) -> dict[str, Any]:
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT_NAME};AccountKey={AZURITE_ACCOUNT_KEY};"
        f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT_NAME};"
    )
    return {"path": "az://container/root", "connection_string": connection}


#: The config of each flavor's store on an endpoint, by flavor name.
CONFIGS: dict[str, Callable[[str], dict[str, Any]]] = {"s3": _s3, "gcs": _gcs, "azure": _azure}


def store_on(flavor: str, endpoint: str, **config: Any) -> BaseArtifactStore:
    """``flavor``'s store on ``endpoint``, built as the registry builds one; ``config`` overrides fields."""
    from cargohold.plugins import get_flavor_registry

    built = get_flavor_registry().get_flavor("artifact_store", flavor).build({**CONFIGS[flavor](endpoint), **config})
    assert isinstance(built, BaseArtifactStore)
    return built
