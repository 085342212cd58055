"""Every error cargohold raises on purpose, so callers can catch one family."""

from __future__ import annotations

__all__ = [
    "CargoholdError",
    "FlavorConflictError",
    "FlavorNotFoundError",
    "InvalidConfigError",
    "MissingDependencyError",
    "OutsideStoreError",
    "PluginError",
    "PluginWarning",
    "UnknownSchemeError",
]


class CargoholdError(Exception):
    """Base of every error raised by cargohold itself."""


class PluginError(CargoholdError):
    """A plugin that could not be used; kept as a record and raised only in strict mode."""

    def __init__(self, *, distribution: str, version: str, entry_point: str, reason: str, kind: str = "failed") -> None:
        self.distribution = distribution
        self.version = version
        self.entry_point = entry_point
        self.reason = reason
        self.kind = kind
        super().__init__(f"Plugin {entry_point!r} from {distribution} {version} {kind}: {reason}")


class FlavorConflictError(CargoholdError):
    """Two sources claim the same (component type, flavor name)."""


class FlavorNotFoundError(CargoholdError, LookupError):
    """No installed or registered flavor has the requested name."""


class InvalidConfigError(CargoholdError, ValueError):
    """A component config failed validation; the message names each bad field."""


class MissingDependencyError(CargoholdError, ImportError):
    """A flavor's implementation needs a library that is not installed."""


class OutsideStoreError(CargoholdError, PermissionError):
    """A path resolves outside the root of the artifact store it was given to."""


class UnknownSchemeError(CargoholdError, ValueError):
    """No installed flavor serves a path's scheme."""


class PluginWarning(UserWarning):
    """Issued for each plugin that failed to load; the others still load."""
