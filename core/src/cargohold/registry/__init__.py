"""The registry: custom flavors, components, stacks, the active stack and secrets, in one SQLite file by
default, or in a PostgreSQL database that a team shares.

Callers open a transaction and use its typed queries::

    with open_registry(home).write() as tx:
        tx.insert_secret("aws", {"key": "..."})
"""

from __future__ import annotations

import os
from pathlib import Path

from cargohold.exceptions import RegistryError
from cargohold.registry._postgres import SCHEMES, PostgresRegistry, shown_url
from cargohold.registry._records import ComponentRecord, FlavorRecord, SecretRecord, StackRecord
from cargohold.registry._registry import DEFAULT_STACK, DefaultStore, Registry, after_commit
from cargohold.registry._schema import SCHEMA_VERSION
from cargohold.registry._transaction import Transaction, check_name

#: The embedded registry's file in the home folder.
REGISTRY_FILE = "registry.db"
#: The file in the home folder that remembers ``cargohold connect URL``.
URL_FILE = "registry-url"
#: Overrides the remembered URL, for one shell or one job.
URL_VARIABLE = "CARGOHOLD_REGISTRY_URL"


def registry_url(home: Path) -> str | None:
    """The URL of the registry a process in ``home`` uses; None for the embedded SQLite file."""
    url = os.environ.get(URL_VARIABLE) or None
    if url is None and (home / URL_FILE).is_file():
        url = (home / URL_FILE).read_text().strip() or None
    return url


def portable_url(url: str | None) -> str | None:
    """A shared registry's ``url`` without its password (None stays None: the embedded one). It is what travels
    to another process (a pickled store or filesystem) so that it opens the same registry."""
    return shown_url(url, None) if url else None


def check_url(url: str) -> str:
    """Refuse a URL no backend serves, in one sentence that never shows its password."""
    if not url.startswith(SCHEMES):
        raise RegistryError(
            f"The registry URL {shown_url(url)!r} is not a postgresql:// URL; give one, or unset {URL_VARIABLE} "
            "(and run 'cargohold connect --embedded') for the embedded SQLite registry."
        )
    return url


def open_registry(
    home: Path, default_store: DefaultStore = lambda: None, url: str | None = None
) -> Registry | PostgresRegistry:
    """The registry at ``url``, else the one a process in ``home`` uses: the set or remembered URL's database,
    else the SQLite file."""
    url = url or registry_url(home)
    if url is None:
        return Registry(home / REGISTRY_FILE, default_store)
    return PostgresRegistry(check_url(url), default_store)


__all__ = [
    "DEFAULT_STACK",
    "REGISTRY_FILE",
    "SCHEMA_VERSION",
    "URL_FILE",
    "URL_VARIABLE",
    "ComponentRecord",
    "DefaultStore",
    "FlavorRecord",
    "PostgresRegistry",
    "Registry",
    "SecretRecord",
    "StackRecord",
    "Transaction",
    "after_commit",
    "check_name",
    "check_url",
    "open_registry",
    "portable_url",
    "registry_url",
    "shown_url",
]
