"""cargohold-testkit: the conformance suite every artifact store flavor runs.

Enable it explicitly (``-p cargohold_testkit`` or ``pytest_plugins = ["cargohold_testkit"]``), so that
pytest rewrites the kit's asserts and names the cargohold under test in its header; then subclass
:class:`ArtifactStoreTests` (a ``store`` fixture yielding a fresh store) and :class:`FlavorTests`
(``flavor_class``, ``entry_point`` and ``config_values`` fixtures). :class:`ArtifactStoreTestsThroughFileio`
runs the store tests again through ``cargohold.fileio``, on a :class:`ThroughFileio` wrapper of your ``store``;
:class:`StoreFailureTests` checks that a missing bucket, a dead server and a refused login raise the standard types,
and :class:`UploadTests` an fsspec-based store's ``upload`` (parts, a failing source, create-only).
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from cargohold_testkit.conformance import ArtifactStoreTests, advice, requires
from cargohold_testkit.failures import StoreFailureTests, ends_within
from cargohold_testkit.flavor_checks import HEAVY_MODULES, FlavorTests
from cargohold_testkit.through_fileio import ArtifactStoreTestsThroughFileio, ThroughFileio
from cargohold_testkit.uploads import UploadTests

__all__ = [
    "HEAVY_MODULES",
    "ArtifactStoreTests",
    "ArtifactStoreTestsThroughFileio",
    "FlavorTests",
    "StoreFailureTests",
    "ThroughFileio",
    "UploadTests",
    "ends_within",
    "requires",
]


def pytest_report_header(config: pytest.Config) -> str:
    """Say which core the kit checks against, since a flavor's behaviour is judged by that version."""
    from cargohold import __version__
    from cargohold.plugins import PLUGIN_API_VERSION

    return f"cargohold-testkit: cargohold {__version__}, plugin API {PLUGIN_API_VERSION}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed store test says which method to change and what that method promises."""
    report = yield
    cls = getattr(item, "cls", None)
    store = getattr(item, "funcargs", {}).get("store")
    ours = cls is not None and issubclass(cls, ArtifactStoreTests) and store is not None
    if report.failed and call.when == "call" and ours:
        report.sections.append(("cargohold-testkit: what to change", advice(item.name.partition("[")[0], store)))
    return report
