"""cargohold-testkit: the conformance suite every artifact store flavor runs.

Enable it explicitly (``-p cargohold_testkit`` or ``pytest_plugins = ["cargohold_testkit"]``)
and subclass :class:`ArtifactStoreTests` with a ``store`` fixture that yields a fresh store.
"""

from __future__ import annotations

from cargohold_testkit.conformance import ArtifactStoreTests, requires

__all__ = ["ArtifactStoreTests", "requires"]
