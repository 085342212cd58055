"""Flavors: what a plugin hands to cargohold, a config class plus a lazily imported implementation."""

from __future__ import annotations

import builtins
import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from cargohold.components import StackComponent, StackComponentConfig, StackComponentSettings
from cargohold.exceptions import InvalidConfigError, MissingDependencyError

if TYPE_CHECKING:
    import uuid

    from pydantic import ValidationError

__all__ = ["Flavor", "format_validation_error"]


class Flavor:
    """One way to provide a component type, e.g. the ``s3`` artifact store.

    Subclasses set class attributes only; the implementation is named by an import
    path so listing, describing and validating a flavor never import its heavy library::

        class S3ArtifactStoreFlavor(BaseArtifactStoreFlavor):
            name = "s3"
            config_class = S3ArtifactStoreConfig
            implementation_source = "cargohold_s3.store:S3ArtifactStore"
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
        """What is wrong with this class as a flavor, checked without importing the implementation."""
        found = [f"it sets no {attr!r}" for attr in ("name", "type", "config_class") if not hasattr(cls, attr)]
        if not hasattr(cls, "implementation_source") and cls.implementation_class is Flavor.implementation_class:
            found.append("it sets neither 'implementation_source' nor an 'implementation_class' property")
        name = getattr(cls, "name", None)
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            found.append(f"its name {name!r} is not an identifier such as 'my_store'")
        config = getattr(cls, "config_class", None)
        if config is not None and not (isinstance(config, type) and issubclass(config, StackComponentConfig)):
            found.append(f"its config_class {config!r} is not a StackComponentConfig subclass")
        return found

    def validate_config(self, values: Mapping[str, Any] | StackComponentConfig) -> StackComponentConfig:
        """Validate raw values with the flavor's config class, naming every bad field."""
        if isinstance(values, StackComponentConfig):
            return values
        from pydantic import ValidationError

        try:
            return self.config_class.model_validate(dict(values))
        except ValidationError as exc:
            raise InvalidConfigError(format_validation_error(self.name, exc)) from None

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
        return self.implementation_class(
            self.validate_config(config),
            name=name,
            id=id,
            flavor=self.name,
            settings=self.validate_settings(settings),
        )

    def __repr__(self) -> str:
        return f"<{self.type} flavor {self.name!r}>"


def format_validation_error(flavor: str, exc: ValidationError, what: str = "config") -> str:
    """One sentence per bad field, quoting pydantic and never the rejected value."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False):
        field = ".".join(str(p) for p in error["loc"]) or "(whole config)"
        parts.append(f"{field}: {error['msg'].removeprefix('Value error, ')}")
    return f"Invalid {what} for the {flavor!r} flavor: " + "; ".join(parts) + "."


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
