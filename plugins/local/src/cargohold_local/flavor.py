"""The local flavor: its config, the flavor and the hook; imports only cargohold, pydantic and the stdlib."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from pydantic import Field, field_validator

from cargohold.plugin import BaseArtifactStoreConfig, BaseArtifactStoreFlavor, home, hookimpl

__all__ = ["LocalArtifactStoreConfig", "LocalArtifactStoreFlavor"]

#: The plugin API this module is written for; a cargohold offering another reports the plugin incompatible.
cargohold_api_version = 1


def _default_path() -> str:
    return str(home() / "artifacts")


class LocalArtifactStoreConfig(BaseArtifactStoreConfig):
    """A folder on this machine; a relative path is made absolute when validated."""

    SUPPORTED_SCHEMES: ClassVar[frozenset[str]] = frozenset({"", "file://"})

    path: str = Field(default_factory=_default_path, description="Root folder of the store.")

    @field_validator("path", mode="before")
    @classmethod
    def _refuse_remote(cls, value: Any) -> Any:
        """Say plainly that a URL needs its own flavor, before the generic scheme check."""
        if isinstance(value, str) and "://" in value and not value.strip().strip("\"'").startswith("file://"):
            scheme = value.strip().strip("\"'").split("://", 1)[0]
            raise ValueError(
                f"path {value!r} is a remote {scheme}:// URL; the local flavor takes a folder on this machine, "
                f"so register it with the flavor for {scheme}:// instead"
            )
        return value

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        value = value.removeprefix("file://")
        return os.path.normpath(os.path.abspath(os.path.expanduser(value)))


class LocalArtifactStoreFlavor(BaseArtifactStoreFlavor):
    """Artifacts in a folder on this machine."""

    name = "local"
    config_class = LocalArtifactStoreConfig
    implementation_source = "cargohold_local.store:LocalArtifactStore"
    description = "A folder on this machine, with atomic writes and a symlink-proof sandbox."
    docs_url = "https://github.com/cargohold/cargohold/tree/main/plugins/local"


@hookimpl
def cargohold_flavors() -> list[type[BaseArtifactStoreFlavor]]:
    """The local flavor."""
    return [LocalArtifactStoreFlavor]
