"""cargohold: one interface for every artifact store, and a plugin ecosystem of storage flavors.

Importing this package imports nothing but its version; each name below loads its module on
first access, so ``cargohold --version`` and plugin modules stay cheap to import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cargohold._version import __version__

if TYPE_CHECKING:
    from cargohold import fileio
    from cargohold.artifact_stores import (
        BaseArtifactStore,
        BaseArtifactStoreConfig,
        BaseArtifactStoreFlavor,
        FileStat,
        FsspecArtifactStore,
        ObjectInfo,
    )
    from cargohold.client import Client
    from cargohold.components import (
        StackComponent,
        StackComponentConfig,
        StackComponentSettings,
        StackComponentType,
    )
    from cargohold.exceptions import (
        CargoholdError,
        DeadlineError,
        DeprecatedFieldWarning,
        FlavorConflictError,
        FlavorNotFoundError,
        InUseError,
        InvalidConfigError,
        InvalidFlavorError,
        MissingDependencyError,
        NameTakenError,
        NotRegisteredError,
        OutsideStoreError,
        PluginError,
        PluginWarning,
        ProtectedPathError,
        RegistryError,
        RevisionConflictError,
        SecretNotFoundError,
        SourceError,
        UnknownSchemeError,
        UnownedPathError,
    )
    from cargohold.flavors import Flavor
    from cargohold.hookspecs import hookimpl, hookspec
    from cargohold.plugins import PLUGIN_API_VERSION, FlavorRegistry, get_flavor_registry
    from cargohold.secrets import SecretField

_LAZY = {
    "fileio": "cargohold.fileio",
    **dict.fromkeys(
        [
            "BaseArtifactStore",
            "BaseArtifactStoreConfig",
            "BaseArtifactStoreFlavor",
            "FileStat",
            "FsspecArtifactStore",
            "ObjectInfo",
        ],
        "cargohold.artifact_stores",
    ),
    "Client": "cargohold.client",
    **dict.fromkeys(
        ["StackComponent", "StackComponentConfig", "StackComponentSettings", "StackComponentType"],
        "cargohold.components",
    ),
    **dict.fromkeys(
        [
            "CargoholdError",
            "DeadlineError",
            "DeprecatedFieldWarning",
            "FlavorConflictError",
            "FlavorNotFoundError",
            "InUseError",
            "InvalidConfigError",
            "InvalidFlavorError",
            "MissingDependencyError",
            "NameTakenError",
            "NotRegisteredError",
            "OutsideStoreError",
            "PluginError",
            "PluginWarning",
            "ProtectedPathError",
            "RegistryError",
            "RevisionConflictError",
            "RevisionConflictError",
            "SecretNotFoundError",
            "SourceError",
            "UnknownSchemeError",
            "UnownedPathError",
        ],
        "cargohold.exceptions",
    ),
    "Flavor": "cargohold.flavors",
    "hookimpl": "cargohold.hookspecs",
    "hookspec": "cargohold.hookspecs",
    "PLUGIN_API_VERSION": "cargohold.plugins",
    "FlavorRegistry": "cargohold.plugins",
    "get_flavor_registry": "cargohold.plugins",
    "SecretField": "cargohold.secrets",
}

__all__ = [
    "PLUGIN_API_VERSION",
    "BaseArtifactStore",
    "BaseArtifactStoreConfig",
    "BaseArtifactStoreFlavor",
    "CargoholdError",
    "Client",
    "DeadlineError",
    "DeprecatedFieldWarning",
    "FileStat",
    "Flavor",
    "FlavorConflictError",
    "FlavorNotFoundError",
    "FlavorRegistry",
    "FsspecArtifactStore",
    "InUseError",
    "InvalidConfigError",
    "InvalidFlavorError",
    "MissingDependencyError",
    "NameTakenError",
    "NotRegisteredError",
    "ObjectInfo",
    "OutsideStoreError",
    "PluginError",
    "PluginWarning",
    "ProtectedPathError",
    "RegistryError",
    "RevisionConflictError",
    "SecretField",
    "SecretNotFoundError",
    "SourceError",
    "StackComponent",
    "StackComponentConfig",
    "StackComponentSettings",
    "StackComponentType",
    "UnknownSchemeError",
    "UnownedPathError",
    "__version__",
    "fileio",
    "get_flavor_registry",
    "hookimpl",
    "hookspec",
]


def __getattr__(name: str) -> Any:
    """Load a public name's module on first access."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cargohold' has no attribute {name!r}")
    value = importlib.import_module(module)
    return value if name == "fileio" else getattr(value, name)


def __dir__() -> list[str]:
    return sorted(__all__)
