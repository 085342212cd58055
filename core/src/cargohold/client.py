"""Client: the Python face of the registry and the active stack, which the CLI drives too.

::

    from cargohold.client import Client

    client = Client()
    client.create_secret("aws", {"key": "AKIA...", "secret": "..."})
    client.register_component("artifact_store", "prod", "s3", {"path": "s3://bucket/root", "key": "{{aws.key}}"})
    client.register_stack("prod", {"artifact_store": "prod"}, activate=True)
    store = client.active_stack.artifact_store

A plain value given to a secret field is not stored in the component's config row: it goes into
a secret the component owns, named ``<component>-<type>`` (e.g. ``prod-artifact-store``), and the
row holds the ``{{prod-artifact-store.key}}`` reference. References are resolved only when a
component is built, never when it is stored or shown.
"""

from __future__ import annotations

import dataclasses
import functools
import uuid
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cargohold import locations
from cargohold._component_types import StackComponentType
from cargohold._masking import mask
from cargohold._secret_store import BUILTIN, backend
from cargohold.exceptions import (
    CargoholdError,
    FlavorConflictError,
    FlavorNotFoundError,
    InUseError,
    InvalidConfigError,
    InvalidFlavorError,
    NameTakenError,
    NotRegisteredError,
    RevisionConflictError,
    SecretNotFoundError,
)
from cargohold.plugins import get_flavor_registry
from cargohold.registry import (
    DEFAULT_STACK,
    REGISTRY_FILE,
    ComponentRecord,
    SecretRecord,
    StackRecord,
    Transaction,
    check_name,
    open_registry,
    portable_url,
)
from cargohold.secrets import SecretReference, parse_secret_reference
from cargohold.sources import load_source, source_root

if TYPE_CHECKING:
    from cargohold.artifact_stores.base import BaseArtifactStore
    from cargohold.components import StackComponent
    from cargohold.flavors import Flavor

__all__ = ["REGISTRY_FILE", "Client", "FlavorInfo", "Stack"]

#: The registry's file name inside ``cargohold.locations.home()``.
_ARTIFACT_STORE = StackComponentType.ARTIFACT_STORE.value


@dataclass(frozen=True)
class FlavorInfo:
    """A flavor and where it came from: ``built-in`` or ``plugin`` (a distribution) or ``custom`` (a dotted path)."""

    type: str
    name: str
    origin: str
    source: str
    version: str | None
    root: str | None
    description: str
    #: A custom flavor, loaded to check it; a plugin's flavor is imported only by ``usable_flavor()``.
    flavor: Flavor | None
    error: str | None = None

    def usable_flavor(self) -> Flavor:
        """The flavor (a plugin's is imported now), or an error saying why a custom one cannot be loaded."""
        if self.origin != "custom":
            return get_flavor_registry()[(self.type, self.name)]
        if self.flavor is None:
            raise InvalidFlavorError(f"The custom {self.type} flavor {self.name!r} cannot be loaded: {self.error}")
        return self.flavor

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``flavor list``; the flavor object itself is left out."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "flavor"}


class Stack:
    """A registered stack; its components are built from flavor and config (secrets resolved) on first access."""

    def __init__(self, client: Client, record: StackRecord) -> None:
        self.client = client
        self.record = record
        self.name = record.name

    @functools.cached_property
    def artifact_store(self) -> BaseArtifactStore:
        """The stack's artifact store, ready to use."""
        component = self.record.components.get(_ARTIFACT_STORE)
        if component is None:
            raise NotRegisteredError(_no_store_message(self.name))
        return _as_artifact_store(self.client.build(component), component)

    def __repr__(self) -> str:
        members = ", ".join(f"{t}={c.name!r}" for t, c in self.record.components.items())
        return f"Stack({self.name!r}, {members})"


class Client:
    """Registers flavors, components, stacks and secrets, and builds the components a stack is made of.

    Every method that changes something is one registry transaction: it all happens, or, when
    it raises, nothing does.
    """

    def __init__(self, home: Path | None = None, *, url: str | None = None) -> None:
        """The registry ``url`` names (``postgresql://...``), else the one ``home`` uses (see ``open_registry``)."""
        self.home = home or locations.home()
        self.registry = open_registry(self.home, self._default_artifact_store, url)

    def _default_artifact_store(self) -> tuple[str, Mapping[str, Any]] | None:
        """A local store under the home folder, when the local flavor is installed."""
        try:
            flavor = get_flavor_registry().get_flavor(_ARTIFACT_STORE, "local")
        except FlavorNotFoundError:
            return None
        return flavor.name, flavor.validate_config({"path": str(self.home / "artifacts")}).model_dump(mode="json")

    # -- flavors -----------------------------------------------------------------------------------

    def flavors(self, component_type: str | None = None) -> list[FlavorInfo]:
        """Built-in, plugin and custom flavors, of one type or all; never creates the registry."""
        plugins = get_flavor_registry()
        infos = [self._plugin_info(ctype, name) for ctype, name in plugins if component_type in (None, ctype)]
        if self.registry.exists():
            with self.registry.read() as tx:
                records = tx.flavors(component_type)
            infos += [self._custom_info(r.type, r.name, r.source, r.root) for r in records]
        return sorted(infos, key=lambda info: (info.type, info.name, info.origin))

    def flavor_info(self, component_type: str, name: str) -> FlavorInfo:
        """The flavor of that type and name, wherever it comes from; a name claimed twice is an error."""
        plugins = get_flavor_registry()
        custom = None
        if self.registry.exists():
            with self.registry.read() as tx:
                custom = tx.find_flavor(component_type, name)
        if custom is not None and (component_type, name) in plugins:
            origin = plugins.origin(component_type, name)
            raise FlavorConflictError(
                f"The {component_type} flavor {name!r} is both the custom flavor {custom.source!r} and part of "
                f"{origin.distribution} {origin.version}; delete the custom one or uninstall the plugin."
            )
        if custom is not None:
            return self._custom_info(component_type, name, custom.source, custom.root)
        if (component_type, name) in plugins:
            return self._plugin_info(component_type, name)
        known = sorted({info.name for info in self.flavors(component_type)})
        raise FlavorNotFoundError(
            f"No {component_type} flavor named {name!r} is installed or registered (known: {', '.join(known) or 'none'}"
            "); install its plugin or register it with 'cargohold flavor register'."
        )

    def get_flavor(self, component_type: str, name: str) -> Flavor:
        """The usable flavor of that type and name."""
        return self.flavor_info(component_type, name).usable_flavor()

    def _plugin_info(self, component_type: str, name: str) -> FlavorInfo:
        plugins = get_flavor_registry()
        origin = plugins.origin(component_type, name)
        return FlavorInfo(
            type=component_type,
            name=name,
            origin="built-in" if origin.distribution == "cargohold" else "plugin",
            source=origin.distribution,
            version=origin.version,
            root=None,
            description=plugins.description(component_type, name),
            flavor=None,
        )

    def _custom_info(self, component_type: str, name: str, source: str, root: str) -> FlavorInfo:
        info = FlavorInfo(component_type, name, "custom", source, None, root, "", None)
        try:
            flavor = _load_flavor(source, Path(root))
        except CargoholdError as exc:
            return dataclasses.replace(info, error=str(exc))
        if (flavor.type, flavor.name) != (component_type, name):
            error = f"{source!r} is now the {flavor.type} flavor {flavor.name!r}; register it again under that name."
            return dataclasses.replace(info, error=error)
        return dataclasses.replace(info, flavor=flavor, description=flavor.description or "")

    def register_flavor(self, source: str, *, component_type: str | None = None) -> FlavorInfo:
        """Check the flavor class at ``source`` (from the repository root) and record where it comes from."""
        root = source_root()
        flavor = _load_flavor(source, root)
        if component_type is not None and flavor.type != component_type:
            raise InvalidFlavorError(
                f"{source!r} is a {flavor.type} flavor, not a {component_type} flavor; "
                f"register it with 'cargohold flavor register {source}'."
            )
        _check_implementation(flavor, source)
        plugins = get_flavor_registry()
        if (flavor.type, flavor.name) in plugins:
            origin = plugins.origin(flavor.type, flavor.name)
            raise FlavorConflictError(
                f"The {flavor.type} flavor {flavor.name!r} is already provided by {origin.distribution} "
                f"{origin.version}; give your flavor another name."
            )
        with self.registry.write() as tx:
            tx.insert_flavor(flavor.type, flavor.name, source, str(root))
        return self._custom_info(flavor.type, flavor.name, source, str(root))

    def delete_flavor(self, name: str, *, component_type: str | None = None) -> None:
        """Forget a custom flavor; refused while a component uses it."""
        with self.registry.write() as tx:
            records = [r for r in tx.flavors(component_type) if r.name == name]
            if not records:
                if any(n == name for t, n in get_flavor_registry() if component_type in (None, t)):
                    raise InvalidFlavorError(
                        f"The flavor {name!r} comes from an installed plugin, not from 'cargohold flavor register'; "
                        "uninstall the plugin to remove it."
                    )
                known = ", ".join(sorted(r.name for r in tx.flavors(component_type))) or "none"
                raise FlavorNotFoundError(f"No custom flavor named {name!r} is registered (custom flavors: {known}).")
            if len(records) > 1:
                types = ", ".join(r.type for r in records)
                raise InvalidConfigError(f"Custom flavors named {name!r} exist for {types}; say which with --type.")
            record = records[0]
            users = tx.components_of_flavor(record.type, name)
            if users:
                raise InUseError(
                    f"The {record.type} flavor {name!r} is used by {', '.join(users)}; delete those components first."
                )
            tx.delete_flavor(record.type, name)

    # -- components --------------------------------------------------------------------------------

    def components(self, component_type: str) -> list[ComponentRecord]:
        """Registered components of one type."""
        with self.registry.read() as tx:
            return tx.components(component_type)

    def get_component(self, component_type: str, name: str) -> ComponentRecord:
        """One registered component."""
        with self.registry.read() as tx:
            return tx.component(component_type, name)

    def config_problems(self, component: ComponentRecord) -> dict[str, str]:
        """Each stored config field the installed flavor now refuses, checked as ``build`` would see it (references
        resolved; one whose secret is gone stays as written). A flavor that is gone raises, as ``get_flavor`` does."""
        flavor = self.get_flavor(component.type, component.flavor)
        where = f"the {component.type} {component.name!r}"
        values = {}
        with self.registry.read() as tx:
            for field, value in component.config.items():
                try:
                    values[field] = _resolve(tx, value, where, field)
                except SecretNotFoundError:
                    values[field] = value
        return flavor.config_problems(values, stored=True)

    def stacks_using(self, component: ComponentRecord) -> list[str]:
        """Names of the stacks that hold a component."""
        with self.registry.read() as tx:
            return tx.stacks_using(component.id)

    def register_component(
        self, component_type: str, name: str, flavor: str, config: Mapping[str, Any] | None = None
    ) -> ComponentRecord:
        """Validate ``config`` with the flavor's config class and register it; the implementation is not imported.

        Validation runs before the write lock is taken (the first use of a config class costs more than the
        SQL), so writers from many processes hold the lock only as long as their SQL takes.
        """
        info = self.flavor_info(component_type, flavor)
        found = info.usable_flavor()
        check_name(component_type, name)
        secret_name = _owned_secret_name(component_type, name)
        where = f"the {component_type} {name!r}"
        with self.registry.read() as tx:
            tx.check_component_name_free(component_type, name)
            row, plain = _prepare_config(tx, found, dict(config or {}), secret_name, where)
        with self.registry.write() as tx:
            _check_flavor_still_registered(tx, info)
            tx.check_component_name_free(component_type, name)
            _check_references(tx, row, secret_name, where)
            record = tx.insert_component(component_type, name, flavor, row)
            _keep_owned_secret(tx, record, secret_name, plain)
        return record

    def update_component(
        self,
        component_type: str,
        name: str,
        config: Mapping[str, Any] | None = None,
        *,
        remove: Iterable[str] = (),
        if_revision: int | None = None,
    ) -> ComponentRecord:
        """Merge ``config`` into a component's config and unset the fields in ``remove``, validating the result.

        The fields given are merged into whatever revision is current when the write happens, so two updates
        of different fields both hold. With ``if_revision`` (the ``revision`` a caller read) the update is
        refused with a ``RevisionConflictError`` once anyone else has written the component since.
        """
        removed = _check_not_both(remove, config or {})
        where = f"the {component_type} {name!r}"
        while True:
            with self.registry.read() as tx:
                current = tx.component(component_type, name)
                _check_revision(current, if_revision)
                info = self.flavor_info(component_type, current.flavor)
                found = info.usable_flavor()
                _check_fields(found, {*(removed - set(current.config)), *(config or {})})  # a dropped field can go
                owned = tx.owned_secret(current.id)
                secret_name = owned.name if owned else _owned_secret_name(component_type, name)
                values = {k: v for k, v in current.config.items() if k not in removed}
                merged = {**values, **(config or {})}
                row, plain = _prepare_config(tx, found, merged, secret_name, where, stored=True)
            with self.registry.write() as tx:
                now = tx.component(component_type, name)
                _check_revision(now, if_revision)
                if now.id != current.id or now.revision != current.revision:
                    continue  # written since it was read: merge the given fields into that revision instead
                _check_flavor_still_registered(tx, info)
                _check_references(tx, row, secret_name, where)
                record = tx.set_component_config(current.id, row)
                _keep_owned_secret(tx, record, secret_name, plain)
            return record

    def rename_component(self, component_type: str, name: str, new_name: str) -> ComponentRecord:
        """Rename a component, and the secret it owns along with every reference to that secret."""
        with self.registry.write() as tx:
            record = tx.rename_component(tx.component(component_type, name), new_name)
            owned = tx.owned_secret(record.id)
            if owned is not None:
                renamed = tx.rename_secret(owned, _owned_secret_name(component_type, new_name))
                _rewrite_references(tx, owned.name, renamed.name)
            return tx.component(component_type, new_name)

    def delete_component(self, component_type: str, name: str) -> None:
        """Delete a component and the secret it owns; refused while a stack uses it."""
        with self.registry.write() as tx:
            record = tx.component(component_type, name)
            stacks = tx.stacks_using(record.id)
            if stacks:
                raise InUseError(
                    f"The {component_type} {name!r} is part of the stack(s) {', '.join(stacks)}; "
                    "delete those stacks or give them another component first."
                )
            owned = tx.owned_secret(record.id)
            tx.delete_component(record.id)
            if owned is not None and not _references_to(tx, owned.name):
                tx.delete_secret(owned.id)

    def get_artifact_store(self, name: str, settings: Mapping[str, Any] | None = None) -> BaseArtifactStore:
        """A registered artifact store, ready to use; ``settings`` apply to this instance only."""
        component = self.get_component(_ARTIFACT_STORE, name)
        return _as_artifact_store(self.build(component, settings), component)

    def build(self, component: ComponentRecord, settings: Mapping[str, Any] | None = None) -> StackComponent:
        """Build a registered component: secrets resolved, ``settings`` validated and applied to this instance only."""
        flavor = self.get_flavor(component.type, component.flavor)
        with self.registry.read() as tx:
            where = f"the {component.type} {component.name!r}"
            values = {field: _resolve(tx, value, where, field) for field, value in component.config.items()}
        mask(*(values[f] for f, v in component.config.items() if parse_secret_reference(v) is not None))
        secrets = {f: r.secret for f, v in component.config.items() if (r := parse_secret_reference(v)) is not None}
        config = flavor.validate_config(values, stored=True, secrets=secrets)
        built = flavor.build(config, name=component.name, id=uuid.UUID(component.id), settings=settings)
        built.registered_as = (str(self.home), portable_url(self.registry.url), component.type, component.name)
        return built

    # -- stacks ------------------------------------------------------------------------------------

    def stacks(self) -> list[StackRecord]:
        """Every stack; ``active`` marks the one in use."""
        with self.registry.read() as tx:
            return tx.stacks()

    def get_stack(self, name: str | None = None) -> StackRecord:
        """A stack by name, or the active one."""
        with self.registry.read() as tx:
            return tx.stack(name) if name is not None else _active(tx)

    @property
    def active_stack(self) -> Stack:
        """The stack in use (the ``default`` stack of a new registry)."""
        return Stack(self, self.get_stack())

    def register_stack(self, name: str, components: Mapping[str, str], *, activate: bool = False) -> StackRecord:
        """Register a stack of named components, keyed by type; it needs an artifact store."""
        if _ARTIFACT_STORE not in components:
            raise InvalidConfigError(f"The stack {name!r} needs an artifact store; give one with --artifact-store.")
        with self.registry.write() as tx:
            record = tx.insert_stack(name, _members(tx, components))
            if activate:
                tx.set_active_stack(record.id)
            return tx.stack(name)

    def update_stack(self, name: str, components: Mapping[str, str]) -> StackRecord:
        """Replace a stack's components of the given types."""
        with self.registry.write() as tx:
            return tx.update_stack(tx.stack(name), _members(tx, components))

    def rename_stack(self, name: str, new_name: str) -> StackRecord:
        """Rename a stack; whether it is active does not change."""
        with self.registry.write() as tx:
            return tx.rename_stack(tx.stack(name), new_name)

    def delete_stack(self, name: str) -> None:
        """Delete a stack (its components stay); the active stack cannot be deleted."""
        with self.registry.write() as tx:
            record = tx.stack(name)
            if record.active:
                raise InUseError(f"The stack {name!r} is active; activate another with 'cargohold stack set' first.")
            tx.delete_stack(record.id)

    def activate_stack(self, name: str) -> StackRecord:
        """Make a stack the active one: ``cargohold.fileio`` uses it from its next call, here and in new processes."""
        with self.registry.write() as tx:
            tx.set_active_stack(tx.stack(name).id)
            return tx.stack(name)

    # -- secrets -----------------------------------------------------------------------------------

    def secrets(self) -> list[SecretRecord]:
        """Every secret's name and keys; values are never returned."""
        with self.registry.read() as tx:
            return tx.secrets()

    def get_secret(self, name: str) -> SecretRecord:
        """A secret's name and keys."""
        with self.registry.read() as tx:
            return tx.secret(name)

    def secret_users(self, name: str) -> list[str]:
        """``type:component.field`` for every config field that refers to the secret ``name``."""
        with self.registry.read() as tx:
            return _references_to(tx, name)

    def create_secret(self, name: str, values: Mapping[str, str]) -> SecretRecord:
        """Store a new secret of string values."""
        _check_secret_values(values)
        with self.registry.write() as tx:
            return tx.insert_secret(name, values)

    def update_secret(self, name: str, values: Mapping[str, str], *, remove: Iterable[str] = ()) -> SecretRecord:
        """Merge ``values`` into a secret and drop the keys in ``remove``; a key still referred to stays."""
        _check_secret_values(values)
        removed = _check_not_both(remove, values)
        with self.registry.write() as tx:
            record = tx.secret(name)
            missing = sorted(removed - set(record.keys))
            if missing:
                raise SecretNotFoundError(
                    f"The secret {name!r} has no key {missing[0]!r} (its keys: {', '.join(record.keys) or 'none'})."
                )
            users = _references_to(tx, name, removed)
            if users:
                raise InUseError(
                    f"The secret {name!r} cannot drop {', '.join(sorted(removed))}: {', '.join(users)} refer to it; "
                    "update those first."
                )
            current = {k: v for k, v in tx.secret_values(name).items() if k not in removed}
            return tx.set_secret_values(record, {**current, **values})

    def rotate_secrets_key(self) -> tuple[int, str]:
        """Seal every secret value with a new key in one transaction; the old key is dropped only once it has
        committed. How many secrets were sealed, and where the key is kept."""
        from cargohold._sealing import rotation

        with rotation() as where, self.registry.write() as tx:
            chosen = tx.secrets_backend()
            if chosen != BUILTIN:
                raise CargoholdError(
                    f"This registry's secrets are kept by the {chosen!r} backend, which manages its own keys; "
                    f"rotate-key rotates the built-in {BUILTIN!r} backend's key only."
                )
            count = tx.set_secrets_backend(BUILTIN)
        return count, where

    @property
    def secrets_backend(self) -> str:
        """The name of the secrets backend that keeps this registry's secret values."""
        with self.registry.read() as tx:
            return tx.secrets_backend()

    def set_secrets_backend(self, name: str) -> int:
        """Keep this registry's secret values in the backend ``name`` from now on, every existing one moved there
        in the same transaction (the old backend discards them once it has committed); how many secrets moved."""
        backend(name)  # not installed: refused before the write lock is taken
        with self.registry.write() as tx:
            return tx.set_secrets_backend(name)

    def delete_secret(self, name: str) -> None:
        """Delete a secret; refused while a component refers to it."""
        with self.registry.write() as tx:
            record = tx.secret(name)
            users = _references_to(tx, name)
            if users:
                raise InUseError(f"The secret {name!r} is referred to by {', '.join(users)}; update those first.")
            tx.delete_secret(record.id)


# -- helpers ---------------------------------------------------------------------------------------


def _as_artifact_store(built: StackComponent, component: ComponentRecord) -> BaseArtifactStore:
    """``built``, checked to be an artifact store."""
    from cargohold.artifact_stores.base import BaseArtifactStore

    if not isinstance(built, BaseArtifactStore):
        raise InvalidFlavorError(
            f"The {component.flavor!r} flavor built a {type(built).__name__}, not an artifact store; "
            "its implementation must subclass BaseArtifactStore."
        )
    return built


def _no_store_message(stack: str) -> str:
    if stack == DEFAULT_STACK:
        return (
            f"The stack {stack!r} has no artifact store because cargohold-local was not installed when the registry "
            "was created; pip install cargohold-local, then run 'cargohold artifact-store register default --flavor "
            f"local' and 'cargohold stack update {stack} -a default'."
        )
    return f"The stack {stack!r} has no artifact store; add one with 'cargohold stack update {stack} -a NAME'."


def _load_flavor(source: str, root: Path) -> Flavor:
    """The flavor class at ``source``, checked for kind; each problem has its own sentence."""
    from cargohold.flavors import Flavor, inspect_flavor

    found = load_source(source, root)
    if not (isinstance(found, type) and issubclass(found, Flavor)):
        what = f"the class {found.__qualname__}" if isinstance(found, type) else f"a {type(found).__name__} object"
        raise InvalidFlavorError(f"{source!r} is {what}, not a Flavor subclass.")
    flavor, problems = inspect_flavor(found)
    if flavor is None or problems:
        raise InvalidFlavorError(f"{source!r} is not a usable flavor: {'; '.join(problems)}.")
    return flavor


def _check_implementation(flavor: Flavor, source: str) -> None:
    """The implementation must be a StackComponent of the flavor's type; one that cannot import yet is a warning.

    Only an ``implementation_source`` is checked: an ``implementation_class`` property is the author's lazy import,
    called when a component is first built.
    """
    if not hasattr(flavor, "implementation_source"):
        return
    try:
        implementation = flavor.implementation_class
    except CargoholdError as exc:
        warnings.warn(f"{source!r} is registered, but its implementation cannot be imported yet: {exc}", stacklevel=3)
        return
    from cargohold.components import StackComponent

    if not (isinstance(implementation, type) and issubclass(implementation, StackComponent)):
        raise InvalidFlavorError(f"The implementation of {source!r}, {implementation!r}, is not a StackComponent.")
    kind = getattr(implementation, "TYPE", flavor.type)
    if kind != flavor.type:
        raise InvalidFlavorError(
            f"The implementation of {source!r} is a {kind} but the flavor is a {flavor.type} flavor."
        )


def _check_flavor_still_registered(tx: Transaction, info: FlavorInfo) -> None:
    """A custom flavor deleted since it was looked up must not get new components."""
    if info.origin == "custom" and tx.find_flavor(info.type, info.name) is None:
        raise FlavorNotFoundError(f"The custom {info.type} flavor {info.name!r} was just deleted.")


def _check_revision(component: ComponentRecord, expected: int | None) -> None:
    """Refuse to write over a revision other than the one the caller read."""
    if expected is not None and component.revision != expected:
        raise RevisionConflictError(
            f"The {component.type} {component.name!r} is at revision {component.revision}, not {expected}: someone "
            "changed it since you read it; read it again and redo your change."
        )


def _check_references(tx: Transaction, row: Mapping[str, Any], owned: str, where: str) -> None:
    """Every secret a config refers to still holds the key, now that the write lock is held (the secret the
    component owns is written next, from the plain values)."""
    for field, value in row.items():
        reference = parse_secret_reference(value)
        if reference is not None and reference.secret != owned:
            _resolve(tx, value, where, field)


def _check_fields(flavor: Flavor, names: Iterable[str]) -> None:
    """Refuse field names the flavor's config does not have (a former name it still reads passes), listing the
    ones it does."""
    fields = flavor.config_class.model_fields
    unknown = sorted(set(names) - set(fields) - set(getattr(flavor.config_class, "RENAMED_FIELDS", {})))
    if unknown:
        raise InvalidConfigError(
            f"The {flavor.name!r} flavor has no field {unknown[0]!r}; its fields are: {', '.join(fields) or 'none'}."
        )


def _owned_secret_name(component_type: str, name: str) -> str:
    return f"{name}-{component_type.replace('_', '-')}"


def _resolve(tx: Transaction, value: Any, where: str, field: str) -> Any:
    """A config value with its ``{{secret.key}}`` reference replaced by the secret's value."""
    reference = parse_secret_reference(value)
    if reference is None:
        return value
    record = tx.find_secret(reference.secret)
    if record is None:
        known = ", ".join(s.name for s in tx.secrets()) or "none"
        raise SecretNotFoundError(
            f"The field {field!r} of {where} refers to the secret {reference.secret!r}, which does not exist "
            f"(secrets: {known}); create it with 'cargohold secret create {reference.secret}'."
        )
    values = tx.secret_values(reference.secret)
    if reference.key not in values:
        raise SecretNotFoundError(
            f"The field {field!r} of {where} refers to the key {reference.key!r} of the secret {reference.secret!r}, "
            f"which has only the keys: {', '.join(record.keys) or 'none'}."
        )
    return values[reference.key]


def _prepare_config(
    tx: Transaction, flavor: Flavor, values: dict[str, Any], secret_name: str, where: str, *, stored: bool = False
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate ``values`` (references resolved; ``stored``: a registered row's, updated) and split them into the
    row to store and the plain secrets.

    The row keeps every reference as given and turns each plain secret value into a reference
    to ``secret_name``; an unset secret field is left out so that its default applies.
    """
    _check_fields(flavor, values)
    resolved = {field: _resolve(tx, value, where, field) for field, value in values.items()}
    config = flavor.validate_config(resolved, stored=stored)
    row = config.model_dump(mode="json")
    plain: dict[str, str] = {}
    for field in config.secret_fields():
        given = values.get(field)
        if given is None:
            row.pop(field, None)
        elif parse_secret_reference(given) is None:
            if not isinstance(given, str):
                raise InvalidConfigError(
                    f"The field {field!r} is secret: give it as a string or as a {{{{secret.key}}}} reference."
                )
            plain[field] = given
            row[field] = str(SecretReference(secret_name, field))
    for field, given in values.items():
        if parse_secret_reference(given) is not None:
            row[field] = given
    return row, plain


def _keep_owned_secret(tx: Transaction, component: ComponentRecord, name: str, plain: Mapping[str, str]) -> None:
    """Keep a component's plain secret values in the secret it owns; keys nothing refers to any more go."""
    owned = tx.owned_secret(component.id)
    current = tx.secret_values(owned.name) if owned else {}
    keys = {reference.key for _, _, reference in _references(tx, name)}
    kept = {key: value for key, value in {**current, **plain}.items() if key in keys}
    if owned is None and kept:
        if tx.find_secret(name) is not None:
            raise NameTakenError(
                f"The secret values of {component.type} {component.name!r} go into a secret named {name!r}, but "
                "one already exists; give the secret fields as {{secret.key}} references or rename that secret."
            )
        tx.insert_secret(name, kept, owner=component.id)
    elif owned is not None and not kept:
        tx.delete_secret(owned.id)
    elif owned is not None and kept != current:
        tx.set_secret_values(owned, kept)


def _references(tx: Transaction, secret: str) -> Iterator[tuple[ComponentRecord, str, SecretReference]]:
    """Every ``{{secret.key}}`` reference to ``secret`` in any component's config, with where it is; only
    configs that hold the name are read, so a write under the lock does not parse every row."""
    for component in tx.components_mentioning(secret):
        for field, value in component.config.items():
            reference = parse_secret_reference(value)
            if reference is not None and reference.secret == secret:
                yield component, field, reference


def _references_to(tx: Transaction, secret: str, keys: Iterable[str] | None = None) -> list[str]:
    """``type:component.field`` for each config field that refers to ``secret`` (or to one of ``keys`` of it)."""
    wanted = None if keys is None else set(keys)
    return [
        f"{component.type}:{component.name}.{field}"
        for component, field, reference in _references(tx, secret)
        if wanted is None or reference.key in wanted
    ]


def _rewrite_references(tx: Transaction, old: str, new: str) -> None:
    """Point every reference to the secret ``old`` at ``new``."""
    changed: dict[str, dict[str, Any]] = {}
    for component, field, reference in list(_references(tx, old)):
        config = changed.setdefault(component.id, dict(component.config))
        config[field] = str(SecretReference(new, reference.key))
    for component_id, config in changed.items():
        tx.set_component_config(component_id, config)


def _check_not_both(removed: Iterable[str], values: Mapping[str, Any]) -> set[str]:
    """The names to remove, none of which is also given a new value."""
    both = sorted(set(removed) & set(values))
    if both:
        raise InvalidConfigError(f"{both[0]!r} is both given a value and removed; do one or the other.")
    return set(removed)


def _check_secret_values(values: Mapping[str, str]) -> None:
    for key, value in values.items():
        check_name("secret key", key)
        if not isinstance(value, str):
            raise InvalidConfigError(f"The value of the secret key {key!r} must be a string.")


def _members(tx: Transaction, components: Mapping[str, str]) -> list[ComponentRecord]:
    return [tx.component(component_type, name) for component_type, name in components.items()]


def _active(tx: Transaction) -> StackRecord:
    record = tx.active_stack()
    if record is None:
        raise NotRegisteredError("No stack is active; activate one with 'cargohold stack set NAME'.")
    return record
