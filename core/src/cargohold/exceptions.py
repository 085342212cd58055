"""Every error cargohold raises on purpose, so callers can catch one family."""

from __future__ import annotations

import enum

__all__ = [
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
    "PluginProblem",
    "PluginWarning",
    "ProtectedPathError",
    "RegistryError",
    "RevisionConflictError",
    "SecretNotFoundError",
    "SourceError",
    "UnknownSchemeError",
    "UnownedPathError",
]


class CargoholdError(Exception):
    """Base of every error raised by cargohold itself."""


class PluginProblem(enum.StrEnum):
    """Why a plugin is not used; each value reads on after the plugin's name ("... is incompatible: ...")."""

    FAILED = "failed"
    INCOMPATIBLE = "is incompatible"
    MISSING_DEPENDENCY = "is missing a dependency"
    CONFLICTS = "conflicts"


class PluginError(CargoholdError):
    """A plugin that could not be used; kept as a record and raised only in strict mode."""

    def __init__(
        self,
        *,
        distribution: str,
        version: str,
        entry_point: str,
        reason: str,
        kind: PluginProblem = PluginProblem.FAILED,
    ) -> None:
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


class ProtectedPathError(CargoholdError, PermissionError):
    """A delete was refused: the path is a filesystem root, holds the user's home, or is a store's root."""


class DeadlineError(CargoholdError, TimeoutError):
    """An operation used up its store's deadline, retries included; trying it again at once would wait as long."""


class RegistryError(CargoholdError):
    """The registry file cannot be used as it is, e.g. it was written by a newer cargohold."""


class RevisionConflictError(CargoholdError):
    """A component changed after the revision an update was based on; read it again and redo the change."""


class NameTakenError(CargoholdError, ValueError):
    """A component, stack, secret or custom flavor of that name is already registered."""


class NotRegisteredError(CargoholdError, LookupError):
    """Nothing of that name is registered."""


class UnownedPathError(NotRegisteredError):
    """No registered or mounted artifact store contains a path, and ad-hoc stores are off."""


class SecretNotFoundError(NotRegisteredError):
    """A ``{{secret.key}}`` reference names a secret or key that does not exist."""


class InUseError(CargoholdError):
    """Deleting or changing this would break a stack or component that uses it."""


class SourceError(CargoholdError, ImportError):
    """A dotted path does not lead to an importable object."""


class InvalidFlavorError(CargoholdError, TypeError):
    """A class offered as a custom flavor is not a usable Flavor."""


class PluginWarning(UserWarning):
    """Issued for each plugin that failed to load; the others still load."""


class DeprecatedFieldWarning(DeprecationWarning):
    """A config gives a field under a former name, which is read as its new one for one more release.

    A ``DeprecationWarning``, so Python hides it by default; the command line shows it.
    """


def timeout_raised(exc: BaseException) -> TimeoutError | None:
    """The TimeoutError, with its message, that fsspec's bare ``FSTimeoutError`` stands for once out of its event
    loop; None when the timeout said nothing (fsspec's own, or a deadline's cancellation)."""
    cause = exc.__cause__
    return cause if type(cause) is TimeoutError and str(cause) else None
