"""Checks of a flavor module itself: cheap to import, a schema that renders, secrets that never show, a live hook.

Subclass :class:`FlavorTests` and give it three fixtures: ``flavor_class``, ``entry_point`` (the name under
``[project.entry-points.cargohold]``, or None for a flavor registered by dotted path) and ``config_values``
(a valid config with made-up values for its secret fields; parametrize it when some secrets exclude others).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import entry_points
from typing import Any, ClassVar, NoReturn

import pytest

from cargohold._paths import split_scheme
from cargohold.artifact_stores import BaseArtifactStoreConfig, FsspecArtifactStore
from cargohold.artifact_stores.remote import RemoteArtifactStoreConfig
from cargohold.components import StackComponent, StackComponentConfig
from cargohold.flavors import Flavor
from cargohold.plugins import ENTRY_POINT_GROUP, get_flavor_registry

__all__ = ["HEAVY_MODULES", "FlavorTests"]

#: Top-level modules a flavor module must never import: listing and registering must work without them.
HEAVY_MODULES = ("s3fs", "gcsfs", "adlfs", "boto3", "botocore", "aiobotocore", "google", "azure", "fsspec")
#: Field names that hold credentials; each must be declared with ``SecretField``.
_CREDENTIAL = re.compile(
    r"(?:^|_)(password|passwd|secret|token|credentials?|sas|connection_string|account_key|api_key|private_key)(?:_|$)"
)

# Run in a fresh interpreter: imports the modules and reports, for each heavy top-level module it pulled in,
# the line that first imported it.
_PROBE = """
import importlib, json, sys, traceback
heavy, modules = set(json.loads(sys.argv[1])), json.loads(sys.argv[2])
before = {name for name in heavy if name in sys.modules}
first = {}

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name in heavy and name not in first:
            frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith("<")]
            first[name] = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "an unknown place"
        return None

sys.meta_path.insert(0, Watch())
for module in modules:
    importlib.import_module(module)
loaded = sorted(n for n in heavy if n in sys.modules and n not in before)
print(json.dumps({name: first.get(name, "an unknown place") for name in loaded}))
"""


#: A value no config would hold, given to an unknown field to see whether an error quotes its input.
_LEAK_MARKER = "cargohold-kit-leak-marker-5b1e"


def _fail(message: str) -> NoReturn:
    """Fail with the message alone: it already says what to fix, a traceback into the kit would not."""
    pytest.fail(message, pytrace=False)


class FlavorTests:
    """Checks every flavor module passes; provide ``flavor_class``, ``entry_point`` and ``config_values`` fixtures."""

    #: More modules your flavor module must not import (your storage library, when it is not in ``HEAVY_MODULES``).
    heavy_modules: ClassVar[tuple[str, ...]] = ()
    #: Fields whose names look like credentials but are not, e.g. a path to a key file you chose to show.
    not_secret_fields: ClassVar[tuple[str, ...]] = ()

    @pytest.fixture
    def flavor(self, flavor_class: type[Flavor]) -> Flavor:
        """An instance of the flavor under test, as discovery makes one."""
        return flavor_class()

    @pytest.fixture
    def config(self, flavor: Flavor, config_values: dict[str, Any]) -> StackComponentConfig:
        """``config_values`` validated by the flavor, which must accept them."""
        try:
            return flavor.validate_config(config_values)
        except Exception as exc:
            problem = exc  # failing outside the handler keeps pytest from printing the chain
        _fail(f"config_values is not a valid config for {flavor!r}: {problem}")

    def test_flavor_class_is_usable(self, flavor_class: type[Flavor]) -> None:
        problems = flavor_class.problems()
        if problems:
            _fail(f"{flavor_class.__qualname__} is not a usable Flavor: {'; '.join(problems)}.")

    def test_flavor_module_imports_no_heavy_library(self, flavor_class: type[Flavor], entry_point: str | None) -> None:
        found = entry_points(group=ENTRY_POINT_GROUP, name=entry_point) if entry_point is not None else ()
        modules = sorted({flavor_class.__module__, *(ep.module for ep in found)})
        implementation = getattr(flavor_class, "implementation_source", "").partition(":")[0]
        heavy = [*HEAVY_MODULES, *self.heavy_modules, *([implementation] if implementation else [])]
        probe = [sys.executable, "-c", _PROBE, json.dumps(heavy), json.dumps(modules)]
        path = os.pathsep.join(entry for entry in sys.path if entry)  # what this test imports from, e.g. a repo root
        result = subprocess.run(
            probe, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": path}, check=False
        )
        if result.returncode != 0:
            _fail(f"Importing {', '.join(modules)} in a fresh interpreter failed:\n{result.stderr.strip()}")
        loaded: dict[str, str] = json.loads(result.stdout.splitlines()[-1])
        if loaded:
            where = "; ".join(f"{name} (first imported at {line})" for name, line in loaded.items())
            _fail(
                f"Importing {', '.join(modules)} imports {where}. A flavor module may import only the standard "
                "library, pydantic and cargohold, so that listing and registering work where the storage library "
                "is missing or broken: move that import into the implementation module, which cargohold imports "
                f"only through {flavor_class.__qualname__}.implementation_source."
            )

    def test_config_schema_renders_to_json(self, flavor: Flavor, config_values: dict[str, Any]) -> None:
        try:
            rendered = json.dumps(flavor.config_schema)
        except Exception as exc:
            _fail(
                f"The config schema of {flavor!r} does not render to JSON ({type(exc).__name__}: {exc}); "
                "give every field of its config a type pydantic can describe, or a json_schema_extra for it."
            )
        for name in flavor.config_class.secret_fields():
            value = config_values.get(name)
            if value and str(value) in rendered:
                _fail(f"The config schema of {flavor!r} shows the value of secret field {name!r}; remove its default.")

    def test_secret_fields_are_declared(self, flavor: Flavor) -> None:
        secret = set(flavor.config_class.secret_fields())
        shared = (
            RemoteArtifactStoreConfig.model_fields if issubclass(flavor.config_class, RemoteArtifactStoreConfig) else {}
        )
        undeclared = [
            name
            for name in flavor.config_class.model_fields
            if _CREDENTIAL.search(name) and name not in secret and name not in {*self.not_secret_fields, *shared}
        ]
        if undeclared:
            _fail(
                f"{flavor.config_class.__qualname__} has {', '.join(map(repr, undeclared))}, which look like "
                "credentials but are plain fields: declare each with cargohold.SecretField(...) so it is stored as "
                "a secret and never shown, or list it in not_secret_fields if it really is not secret."
            )

    def test_secret_values_never_show(
        self, flavor: Flavor, config: StackComponentConfig, config_values: dict[str, Any]
    ) -> None:
        declared = flavor.config_class.secret_fields()
        secrets = {name: config_values[name] for name in declared if config_values.get(name)}
        if declared and not secrets:
            _fail(
                f"config_values gives no sample for the secret fields {', '.join(map(repr, declared))}; give each a "
                "made-up value so that the kit can check it never shows (secrets that cannot go together: "
                "parametrize config_values with one config per combination)."
            )
        component = flavor.build(config, name="kit")
        shown = {
            "repr(config)": repr(config),
            "str(config)": str(config),
            "repr(component)": repr(component),
            "str(component)": str(component),
        }
        leaks = [
            f"{where} shows {name!r}"
            for name, value in secrets.items()
            for where, text in shown.items()
            if str(value) in text
        ]
        if leaks:
            _fail(
                f"A secret shows: {'; '.join(leaks)}. Leave __repr__ and __str__ to cargohold, which redacts fields "
                "declared with SecretField, or print only fields that are not secret."
            )

    def test_validation_errors_hide_secret_values(self, flavor: Flavor, config_values: dict[str, Any]) -> None:
        """pydantic quotes what it was given: a missing field quotes the whole input, secrets included."""
        from pydantic import ValidationError

        secrets = {name: config_values[name] for name in flavor.config_class.secret_fields() if config_values.get(name)}
        bad = {**secrets, "cargohold_kit_unknown_field": _LEAK_MARKER}
        try:
            flavor.config_class.model_validate(bad)
        except ValidationError as exc:
            text = str(exc)
        else:
            _fail(f"{flavor.config_class.__qualname__} accepted an unknown field; keep cargohold's extra='forbid'.")
        # pydantic shortens long inputs in its text, so a quoted input at all is the leak, whatever it shows.
        if "input_value=" in text or _LEAK_MARKER in text or any(str(v) in text for v in secrets.values()):
            _fail(
                f"A validation error of {flavor.config_class.__qualname__} quotes the input it was given (pydantic's "
                "input_value=, secrets included): keep hide_input_in_errors=True, which cargohold's config base "
                "sets, in any model_config you write."
            )

    def test_entry_point_resolves_to_the_flavor(
        self, flavor_class: type[Flavor], flavor: Flavor, entry_point: str | None
    ) -> None:
        if entry_point is None:
            pytest.skip("entry_point is None: the flavor is registered by dotted path, not installed as a plugin")
        found = entry_points(group=ENTRY_POINT_GROUP, name=entry_point)
        if not found:
            _fail(
                f"No entry point {entry_point!r} in group {ENTRY_POINT_GROUP!r} is installed. Add "
                f'[project.entry-points.{ENTRY_POINT_GROUP}] {entry_point} = "{flavor_class.__module__}" '
                "to pyproject.toml and reinstall the distribution (pip install -e .)."
            )
        registry = get_flavor_registry()
        for info in registry.plugins:
            if info.entry_point == entry_point and info.error is not None:
                _fail(f"Discovery could not use the plugin: {info.error}")
        key = (str(flavor.type), flavor.name)
        provided = registry.get(key)
        if provided is None or type(provided) is not flavor_class or registry.origin(*key).entry_point != entry_point:
            _fail(
                f"Entry point {entry_point!r} does not provide {flavor_class.__qualname__}: its module's "
                "cargohold_flavors hook (decorated with cargohold.hookimpl) must return it."
            )

    def test_implementation_implements_the_interface(self, flavor: Flavor) -> None:
        cls: object = flavor.implementation_class
        if not (isinstance(cls, type) and issubclass(cls, StackComponent)):
            _fail(f"{flavor!r} names {cls!r} as its implementation, which is not a StackComponent subclass.")
        if flavor.type != cls.TYPE:
            _fail(f"{cls.__qualname__} is a {cls.TYPE}, but {flavor!r} is a {flavor.type} flavor.")
        missing = sorted(getattr(cls, "__abstractmethods__", ()))
        hints = []
        if issubclass(cls, FsspecArtifactStore):
            if cls._make_filesystem is FsspecArtifactStore._make_filesystem and (
                cls.filesystem is FsspecArtifactStore.filesystem
            ):
                missing.append("_make_filesystem")
                hints.append("_make_filesystem may instead be a 'filesystem' property that returns the filesystem")
        elif missing and cls.TYPE == "artifact_store":
            hints.append("or subclass FsspecArtifactStore, which implements them all over an fsspec filesystem")
        if missing:
            owners = sorted({next(c.__qualname__ for c in cls.__mro__ if name in vars(c)) for name in missing})
            _fail(
                f"{cls.__qualname__} does not implement {', '.join(missing)}: implement each with the behaviour "
                f"its docstring in {' and '.join(owners)} describes{''.join('; ' + h for h in hints)}."
            )

    def test_schemes_are_ones_paths_can_match(self, flavor: Flavor) -> None:
        config_class = flavor.config_class
        if not issubclass(config_class, BaseArtifactStoreConfig):
            pytest.skip(f"{flavor!r} is not an artifact store flavor")
        wrong = [s for s in config_class.SUPPORTED_SCHEMES if s and split_scheme(s + "x")[0] != s]
        if wrong:
            _fail(
                f"{config_class.__qualname__}.SUPPORTED_SCHEMES has {', '.join(map(repr, sorted(wrong)))}, which no "
                "path ever matches: a scheme is lowercase letters, digits, '+', '-' or '.', then '://' (e.g. 'myfs://')."
            )
