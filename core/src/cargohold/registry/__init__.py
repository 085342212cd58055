"""The embedded registry: custom flavors, components, stacks, the active stack and secrets, in one SQLite file.

Callers open a transaction and use its typed queries::

    with Registry(path).write() as tx:
        tx.insert_secret("aws", {"key": "..."})
"""

from __future__ import annotations

from cargohold.registry._records import ComponentRecord, FlavorRecord, SecretRecord, StackRecord
from cargohold.registry._registry import DEFAULT_STACK, DefaultStore, Registry, after_commit
from cargohold.registry._schema import SCHEMA_VERSION
from cargohold.registry._transaction import Transaction, check_name

__all__ = [
    "DEFAULT_STACK",
    "SCHEMA_VERSION",
    "ComponentRecord",
    "DefaultStore",
    "FlavorRecord",
    "Registry",
    "SecretRecord",
    "StackRecord",
    "Transaction",
    "after_commit",
    "check_name",
]
