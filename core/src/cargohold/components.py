"""Stack components: the typed things a stack is made of, and the config each one carries."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from cargohold._component_types import StackComponentType
from cargohold.secrets import REDACTED, is_secret_field

__all__ = [
    "StackComponent",
    "StackComponentConfig",
    "StackComponentSettings",
    "StackComponentType",
]


class _RedactedModel(BaseModel):
    """A frozen, strict model whose secret fields never show in repr or str, nor as the input that a
    validation error quotes (pydantic's ``input_value=``, which for a missing field is the whole input)."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, hide_input_in_errors=True)

    def __repr_args__(self) -> Any:
        fields = type(self).model_fields
        for name, value in super().__repr_args__():
            field = fields.get(name) if name else None
            shown = REDACTED if field is not None and is_secret_field(field) and value is not None else value
            yield name, shown

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        """Names of the fields declared with ``SecretField``."""
        return tuple(name for name, field in cls.model_fields.items() if is_secret_field(field))


class StackComponentConfig(_RedactedModel):
    """Base of every component config: validated once, immutable, unknown keys refused."""


class StackComponentSettings(_RedactedModel):
    """Base of per-use overrides a flavor accepts (``Flavor.settings_class``)."""


class StackComponent:
    """A configured component: a name, an id, the flavor it came from and its typed config."""

    config: StackComponentConfig
    settings: StackComponentSettings | None
    #: The component type; each abstract base (e.g. ``BaseArtifactStore``) fixes it.
    TYPE: ClassVar[str]
    #: ``(registry home, registry URL or None, type, name)`` of a component built from a registry: what it
    #: pickles as.
    registered_as: tuple[str, str | None, str, str] | None = None

    def __init__(
        self,
        config: StackComponentConfig,
        *,
        name: str = "",
        id: uuid.UUID | None = None,  # noqa: A002 - the registry's word for it
        flavor: str = "",
        settings: StackComponentSettings | None = None,
    ) -> None:
        self.config = config
        self.name = name
        self.id = id or uuid.uuid4()
        self.flavor = flavor
        self.settings = settings

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, flavor={self.flavor!r}, config={self.config!r})"

    def __reduce_ex__(self, protocol: Any) -> Any:
        """A component built from a registry pickles as where it is registered, never as its config, whose secrets
        are resolved: the process that loads it builds it again from that registry. Others pickle as they are."""
        if self.registered_as is None:
            return super().__reduce_ex__(protocol)
        settings = self.settings.model_dump() if self.settings is not None else None
        return _from_registry, (*self.registered_as, settings)


def _from_registry(
    home: str, url: str | None, component_type: str, name: str, settings: dict[str, Any] | None
) -> StackComponent:
    from pathlib import Path

    from cargohold.client import Client

    client = Client(Path(home), url=url)
    return client.build(client.get_component(component_type, name), settings)
