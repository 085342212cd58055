"""Which secrets backend keeps a value, and the calls that store, load and discard values through it.

The registry keeps each value as ``<backend>:<what the backend returned>``, so values kept by different
backends (before and after a move) are each read by their own. The built-in ``fernet`` backend is found
without asking any plugin; another is looked up through the ``cargohold_secrets_backends`` hook.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from cargohold.exceptions import CargoholdError
from cargohold.secrets import SecretsBackend

__all__ = ["BUILTIN", "SecretsBackendError", "backend", "backends", "discard_values", "load_values", "store_values"]

#: The backend a registry uses until one is chosen.
BUILTIN = "fernet"
_instances: dict[type[SecretsBackend], SecretsBackend] = {}


class SecretsBackendError(CargoholdError):
    """A secrets backend is not installed, claimed twice, or misbehaves."""


def backends() -> dict[str, SecretsBackend]:
    """Every installed backend by name, the built-in first; plugins are imported for it."""
    from cargohold.plugins import get_flavor_registry

    found: dict[str, list[type[SecretsBackend]]] = defaultdict(list)
    for cls in get_flavor_registry().extensions("cargohold_secrets_backends"):
        found[cls.name].append(cls)
    return {name: _instance(classes[0]) for name, classes in found.items()}


def backend(name: str) -> SecretsBackend:
    """The backend ``name``, or one sentence saying it is not installed (or installed twice) and what to do."""
    if name == BUILTIN:
        from cargohold._sealing import FernetBackend

        return _instance(FernetBackend)
    from cargohold.plugins import get_flavor_registry

    claims = [cls for cls in get_flavor_registry().extensions("cargohold_secrets_backends") if cls.name == name]
    if not claims:
        known = ", ".join(sorted(backends()))
        raise SecretsBackendError(
            f"No secrets backend named {name!r} is installed (installed: {known}); install the plugin that "
            "provides it, or choose another with 'cargohold secret backend NAME'."
        )
    if len(set(claims)) > 1:
        names = ", ".join(f"{cls.__module__}.{cls.__qualname__}" for cls in claims)
        raise SecretsBackendError(f"The secrets backend {name!r} is provided twice ({names}); uninstall one of them.")
    return _instance(claims[0])


def _instance(cls: type[SecretsBackend]) -> SecretsBackend:
    """One instance of each backend class per process (a backend may hold a connection)."""
    if cls not in _instances:
        _instances.setdefault(cls, cls())
    return _instances[cls]


def store_values(name: str, secret_id: str, values: Mapping[str, str]) -> dict[str, str]:
    """What the registry keeps for ``values`` when the backend ``name`` keeps them."""
    if not values:
        return {}
    stored = backend(name).store(secret_id, values)
    if set(stored) != set(values) or not all(isinstance(text, str) for text in stored.values()):
        raise SecretsBackendError(
            f"The secrets backend {name!r} returned {sorted(stored)} from store(), not one string for each of the "
            f"keys {sorted(values)}; fix or uninstall the plugin that provides it."
        )
    return {key: f"{name}:{text}" for key, text in stored.items()}


def _by_backend(stored: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The stored values grouped by the backend that keeps them, each without its prefix."""
    groups: dict[str, dict[str, str]] = defaultdict(dict)
    for key, text in stored.items():
        name, _, rest = text.partition(":")
        groups[name][key] = rest
    return groups


def load_values(secret_id: str, stored: Mapping[str, str]) -> dict[str, str]:
    """The values the registry's ``stored`` texts stand for, each read from the backend that keeps it."""
    values: dict[str, str] = {}
    for name, texts in _by_backend(stored).items():
        values.update(backend(name).load(secret_id, texts))
    return values


def discard_values(secret_id: str, stored: Mapping[str, str]) -> None:
    """Tell each backend that the registry no longer refers to its values (called after the commit)."""
    for name, texts in _by_backend(stored).items():
        backend(name).discard(secret_id, texts)
