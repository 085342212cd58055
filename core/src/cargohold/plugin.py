"""Everything a plugin imports from cargohold, from one place that stays stable.

A plugin imports only from here; the modules behind these names may move between releases. A flavor
uses the store bases; a visualizer ``Visualizer`` and ``Visualization``; an application such as a viewer
the registry's ``Client``, ``in_named_store`` and the artifact readers.
Each name loads its module on first access, so a flavor module importing the config and flavor
bases never pulls in fsspec through ``FsspecArtifactStore``::

    from cargohold.plugin import BaseArtifactStoreConfig, BaseArtifactStoreFlavor, SecretField, hookimpl
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cargohold.artifact_stores import (
        STAGING_SUFFIX,
        BaseArtifactStore,
        BaseArtifactStoreConfig,
        BaseArtifactStoreFlavor,
        EndpointUrl,
        FileStat,
        ObjectInfo,
        RenamedField,
        WalkItem,
    )
    from cargohold.artifact_stores.fsspec_store import (
        FsspecArtifactStore,
        PartUpload,
        Reader,
        SizedStream,
        UploadRecord,
    )
    from cargohold.artifact_stores.remote import (
        RemoteArtifactStoreConfig,
        anon_as_credentials,
        apply_deadline,
        mapped_errors,
    )
    from cargohold.artifacts import METADATA, VisualizationFile, list_visualizations, load_metadata
    from cargohold.client import Client
    from cargohold.components import StackComponent, StackComponentConfig, StackComponentSettings, StackComponentType
    from cargohold.exceptions import (
        CargoholdError,
        DeprecatedFieldWarning,
        InvalidConfigError,
        MissingDependencyError,
        NotRegisteredError,
        OutsideStoreError,
        ProtectedPathError,
    )
    from cargohold.flavors import Flavor
    from cargohold.hookspecs import hookimpl
    from cargohold.locations import home
    from cargohold.secrets import SecretField, SecretReference, SecretsBackend, parse_secret_reference
    from cargohold.targets import Location, in_named_store
    from cargohold.visualizers import Visualization, Visualizer

_LAZY = {
    **dict.fromkeys(
        [
            "STAGING_SUFFIX",
            "BaseArtifactStore",
            "BaseArtifactStoreConfig",
            "BaseArtifactStoreFlavor",
            "EndpointUrl",
            "FileStat",
            "ObjectInfo",
            "RenamedField",
            "WalkItem",
        ],
        "cargohold.artifact_stores",
    ),
    **dict.fromkeys(
        ["FsspecArtifactStore", "PartUpload", "Reader", "SizedStream", "UploadRecord"],
        "cargohold.artifact_stores.fsspec_store",
    ),
    **dict.fromkeys(
        ["RemoteArtifactStoreConfig", "anon_as_credentials", "apply_deadline", "mapped_errors"],
        "cargohold.artifact_stores.remote",
    ),
    **dict.fromkeys(["METADATA", "VisualizationFile", "list_visualizations", "load_metadata"], "cargohold.artifacts"),
    "Client": "cargohold.client",
    **dict.fromkeys(
        ["StackComponent", "StackComponentConfig", "StackComponentSettings", "StackComponentType"],
        "cargohold.components",
    ),
    **dict.fromkeys(
        [
            "CargoholdError",
            "DeprecatedFieldWarning",
            "InvalidConfigError",
            "MissingDependencyError",
            "NotRegisteredError",
            "OutsideStoreError",
            "ProtectedPathError",
        ],
        "cargohold.exceptions",
    ),
    "Flavor": "cargohold.flavors",
    "hookimpl": "cargohold.hookspecs",
    "home": "cargohold.locations",
    **dict.fromkeys(
        ["SecretField", "SecretReference", "SecretsBackend", "parse_secret_reference"], "cargohold.secrets"
    ),
    **dict.fromkeys(["Location", "in_named_store"], "cargohold.targets"),
    **dict.fromkeys(["Visualization", "Visualizer"], "cargohold.visualizers"),
}

__all__ = [
    "METADATA",
    "STAGING_SUFFIX",
    "BaseArtifactStore",
    "BaseArtifactStoreConfig",
    "BaseArtifactStoreFlavor",
    "CargoholdError",
    "Client",
    "DeprecatedFieldWarning",
    "EndpointUrl",
    "FileStat",
    "Flavor",
    "FsspecArtifactStore",
    "InvalidConfigError",
    "Location",
    "MissingDependencyError",
    "NotRegisteredError",
    "ObjectInfo",
    "OutsideStoreError",
    "PartUpload",
    "ProtectedPathError",
    "Reader",
    "RemoteArtifactStoreConfig",
    "RenamedField",
    "SecretField",
    "SecretReference",
    "SecretsBackend",
    "SizedStream",
    "StackComponent",
    "StackComponentConfig",
    "StackComponentSettings",
    "StackComponentType",
    "UploadRecord",
    "Visualization",
    "VisualizationFile",
    "Visualizer",
    "WalkItem",
    "anon_as_credentials",
    "apply_deadline",
    "home",
    "hookimpl",
    "in_named_store",
    "list_visualizations",
    "load_metadata",
    "mapped_errors",
    "parse_secret_reference",
]


def __getattr__(name: str) -> Any:
    """Load a public name's module on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(
            f"module 'cargohold.plugin' has no attribute {name!r}; plugins may use: {', '.join(__all__)}"
        )
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
