"""Flavors: what a plugin hands to cargohold, a config class plus a lazily imported implementation."""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from cargohold.components import StackComponent, StackComponentConfig, StackComponentSettings
from cargohold.exceptions import InvalidConfigError, InvalidFlavorError, MissingDependencyError

if TYPE_CHECKING:
    import uuid

    from pydantic import ValidationError

__all__ = ["SECRETS", "STORED", "Flavor", "format_validation_error", "inspect_flavor"]


#: Keys of a config's validation context: whether the values are read back from a registered row (not given
#: anew), and the secret each field's value was resolved from, for messages that name where a value came from.
STORED = "stored"
SECRETS = "secrets"


class Flavor:
    """One way to provide a component type, e.g. the ``s3`` artifact store.

    Subclasses set class attributes, the implementation named by an import path so listing,
    describing and validating a flavor never import its heavy library::

        class S3ArtifactStoreFlavor(BaseArtifactStoreFlavor):
            name = "s3"
            config_class = S3ArtifactStoreConfig
            implementation_source = "cargohold_s3.store:S3ArtifactStore"

    or, as ZenML's guide writes them, properties (``name``, ``type``, ``config_class``,
    ``implementation_class``, ...) read from an instance; cargohold calls ``implementation_class``
    only to build a component, so an import inside it stays lazy.
    """

    name: ClassVar[str]
    type: ClassVar[str]
    config_class: ClassVar[builtins.type[StackComponentConfig]]
    #: ``"package.module:ClassName"`` of the implementation, imported on first use.
    implementation_source: ClassVar[str]
    settings_class: ClassVar[builtins.type[StackComponentSettings] | None] = None
    docs_url: ClassVar[str | None] = None
    description: ClassVar[str | None] = None

    @property
    def implementation_class(self) -> builtins.type[StackComponent]:
        """Import the implementation; a missing library becomes ``MissingDependencyError``."""
        module_name, _, attr = self.implementation_source.partition(":")
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # a broken heavy library must not look like a cargohold bug
            raise MissingDependencyError(_missing_dependency_message(self, module_name, exc)) from exc
        cls: builtins.type[StackComponent] = getattr(module, attr)
        return cls

    @property
    def config_schema(self) -> dict[str, Any]:
        """The JSON schema of the config, as shown by ``cargohold flavor describe``."""
        return self.config_class.model_json_schema()

    @classmethod
    def problems(cls) -> list[str]:
        """What is wrong with this class as a flavor, read from an instance without importing the implementation."""
        return inspect_flavor(cls)[1]

    def validate_config(
        self,
        values: Mapping[str, Any] | StackComponentConfig,
        *,
        stored: bool = False,
        secrets: Mapping[str, str] | None = None,
    ) -> StackComponentConfig:
        """Validate raw values with the flavor's config class, naming every bad field; ``stored`` values are a
        registered row's, which may still lean on what the flavor's previous release allowed, and ``secrets``
        names the secret each resolved field came from."""
        if isinstance(values, StackComponentConfig):
            return values
        from pydantic import ValidationError

        try:
            return self.config_class.model_validate(dict(values), context=_context(stored, secrets))
        except ValidationError as exc:
            raise InvalidConfigError(format_validation_error(self.name, exc)) from None

    def config_problems(self, values: Mapping[str, Any], *, stored: bool = False) -> dict[str, str]:
        """Each field of ``values`` the config class refuses, with pydantic's reason; empty when they validate."""
        from pydantic import ValidationError

        try:
            self.config_class.model_validate(dict(values), context=_context(stored, None))
        except ValidationError as exc:
            return dict(_field_errors(exc))
        return {}

    def validate_settings(self, values: Mapping[str, Any] | None) -> StackComponentSettings | None:
        """Validate per-use settings the same way a config is validated."""
        if not values:
            return None
        if self.settings_class is None:
            raise InvalidConfigError(f"The {self.name!r} flavor takes no settings; drop {sorted(values)}.")
        from pydantic import ValidationError

        try:
            return self.settings_class.model_validate(dict(values))
        except ValidationError as exc:
            raise InvalidConfigError(format_validation_error(self.name, exc, what="settings")) from None

    def build(
        self,
        config: Mapping[str, Any] | StackComponentConfig,
        *,
        name: str = "",
        id: uuid.UUID | None = None,  # noqa: A002
        settings: Mapping[str, Any] | None = None,
    ) -> StackComponent:
        """Validate ``config`` and construct the implementation from it."""
        implementation = self.implementation_class
        missing = sorted(getattr(implementation, "__abstractmethods__", ()))
        if missing:
            raise InvalidFlavorError(_incomplete_message(implementation, missing))
        return implementation(
            self.validate_config(config),
            name=name,
            id=id,
            flavor=self.name,
            settings=self.validate_settings(settings),
        )

    def __repr__(self) -> str:
        return f"<{self.type} flavor {self.name!r}>"


def _context(stored: bool, secrets: Mapping[str, str] | None) -> dict[str, Any]:
    """The validation context a config's validators read: whether the values are a registered row's, and which
    secret each field's value came from."""
    return {STORED: stored, SECRETS: dict(secrets or {})}


def inspect_flavor(cls: builtins.type[Flavor]) -> tuple[Flavor | None, list[str]]:
    """An instance of ``cls`` as cargohold makes one (``cls()``), and what is wrong with it as a flavor.

    Attributes are read from the instance, so class attributes and properties both work; ``implementation_class``
    is never read, so a property importing the implementation stays lazy.
    """
    try:
        flavor = cls()
    except Exception as exc:
        written = [a for a in ("name", "type", "config_class") if isinstance(getattr(cls, a, None), property)]
        fix = "give it an __init__ that takes no arguments"
        if written:
            fix += f", or write {', '.join(written)} as class attributes (e.g. name = 'my_store') instead of properties"
        made = f"cargohold makes a flavor with {cls.__qualname__}() and that raised {type(exc).__name__}: {exc}"
        return None, [f"{made}; {fix}"]
    found: list[str] = []
    values: dict[str, object] = {}
    for attr in ("name", "type", "config_class"):
        try:
            values[attr] = getattr(flavor, attr)
        except AttributeError:
            found.append(f"it sets no {attr!r}")
        except Exception as exc:  # a property's own bug
            found.append(f"its {attr} property raised {type(exc).__name__}: {exc}")
    if not hasattr(cls, "implementation_source") and cls.implementation_class is Flavor.implementation_class:
        found.append("it sets neither 'implementation_source' nor an 'implementation_class' property")
    name = values.get("name")
    if "name" in values and (not isinstance(name, str) or not name.isidentifier()):
        found.append(f"its name {name!r} is not an identifier such as 'my_store'")
    if "type" in values and not isinstance(values["type"], str):
        found.append(f"its type {values['type']!r} is not a component type name such as 'artifact_store'")
    config = values.get("config_class")
    if "config_class" in values and not (isinstance(config, type) and issubclass(config, StackComponentConfig)):
        found.append(f"its config_class {config!r} is not a StackComponentConfig subclass")
    return flavor, found


def format_validation_error(flavor: str, exc: ValidationError, what: str = "config") -> str:
    """One sentence per bad field, quoting pydantic and never the rejected value."""
    parts = [f"{field}: {message}" for field, message in _field_errors(exc)]
    return f"Invalid {what} for the {flavor!r} flavor: " + "; ".join(parts) + "."


def _field_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, reason) of each error, never quoting the rejected value."""
    return [
        (".".join(str(p) for p in error["loc"]) or "(whole config)", error["msg"].removeprefix("Value error, "))
        for error in exc.errors(include_input=False, include_url=False)
    ]


def _incomplete_message(implementation: builtins.type[Any], missing: list[str]) -> str:
    """Name each method a store lacks, and the base class that has them all."""
    base = (
        "; subclass FsspecArtifactStore (from cargohold.plugin) instead, which implements every one of them over "
        "the fsspec filesystem your 'filesystem' property or _make_filesystem() returns"
        if getattr(implementation, "TYPE", None) == "artifact_store"
        else ""
    )
    return f"{implementation.__qualname__} does not implement {', '.join(missing)}{base}."


def _missing_dependency_message(flavor: Flavor, module_name: str, exc: Exception) -> str:
    """Name the distribution that brings the missing library back."""
    from importlib.metadata import entry_points, packages_distributions

    from cargohold.hookspecs import ENTRY_POINT_GROUP

    top = module_name.partition(".")[0]
    # An editable install lists no package files, so look for the plugin's entry points too.
    distributions = packages_distributions().get(top) or [
        ep.dist.name for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.dist and ep.module.split(".")[0] == top
    ]
    missing = getattr(exc, "name", None) or top
    target = distributions[0] if distributions else missing
    detail = "" if isinstance(exc, ModuleNotFoundError) else f" ({type(exc).__name__}: {exc})"
    return (
        f"The {flavor.type} flavor {flavor.name!r} cannot load {missing!r}{detail}; "
        f"install it with: pip install {target}"
    )
