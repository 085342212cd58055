"""Entry-point discovery: every plugin is loaded at most once per process, and a failing one is recorded and skipped.

What a clean discovery found is cached per environment (``cargohold._plugin_cache``), so a later process
knows every flavor's name without importing any plugin; a flavor's module is imported when the flavor
itself is first asked for.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from cargohold import _plugin_cache, hookspecs
from cargohold._plugin_cache import PluginRecord
from cargohold._version import __version__
from cargohold.exceptions import FlavorNotFoundError, PluginError, PluginProblem, PluginWarning
from cargohold.hookspecs import ENTRY_POINT_GROUP

if TYPE_CHECKING:
    from cargohold.flavors import Flavor

__all__ = ["ENTRY_POINT_GROUP", "PLUGIN_API_VERSION", "FlavorRegistry", "PluginInfo", "get_flavor_registry"]

#: A plugin module may set ``cargohold_api_version``; a different value marks it incompatible.
PLUGIN_API_VERSION = 1
FlavorKey = tuple[str, str]
_CORE = "cargohold"


@dataclass(frozen=True)
class PluginInfo:
    """One entry point as discovery saw it: where it came from, what it gave, how it failed."""

    entry_point: str
    distribution: str
    version: str
    flavors: tuple[FlavorKey, ...] = ()
    error: PluginError | None = None


@dataclass(slots=True)
class _Slot:
    """A flavor known by name; ``flavor`` stays None until someone asks for it and its plugin is imported."""

    entry_point: str
    description: str
    flavor: Flavor | None = None


class FlavorRegistry(Mapping[FlavorKey, "Flavor"]):
    """A read-only mapping of (component type, flavor name) to the installed flavor.

    Keys, origins and descriptions are known without importing plugins; a value is imported on first access.
    """

    def __init__(self, slots: dict[FlavorKey, _Slot], discovery: _Discovery) -> None:
        self._slots = slots
        self.component_types = discovery.types
        self._discovery = discovery
        self._lock = threading.Lock()
        self._extensions: dict[str, list[Any]] = {}

    def __getitem__(self, key: FlavorKey) -> Flavor:
        slot = self._slots[key]
        if slot.flavor is None:
            with self._lock:
                if slot.flavor is None:
                    self._discovery.import_flavors(slot.entry_point, self._slots)
        assert slot.flavor is not None
        return slot.flavor

    def __contains__(self, key: object) -> bool:
        return key in self._slots

    def __iter__(self) -> Iterator[FlavorKey]:
        return iter(sorted(self._slots))

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def plugins(self) -> list[PluginInfo]:
        """Every entry point discovery saw, with the flavors it provides and its failure (so far), if any."""
        provided: dict[str, list[FlavorKey]] = {}
        for key in sorted(self._slots):
            provided.setdefault(self._slots[key].entry_point, []).append(key)
        return [
            replace(self._discovery.info(name), flavors=tuple(provided.get(name, ())), error=error)
            for name, error in ((n, self._discovery.errors.get(n)) for n in self._discovery.records)
        ]

    @property
    def errors(self) -> list[PluginError]:
        """Every plugin failure of this discovery."""
        return list(self._discovery.errors.values())

    def extensions(self, hook: str) -> list[Any]:
        """What every plugin's ``hook`` (visualizers, CLI commands, secrets backends) returns, core's first;
        only the plugins that implement it are imported, once per process."""
        with self._lock:
            if hook not in self._extensions:
                self._extensions[hook] = self._discovery.gather(hook)
            return self._extensions[hook]

    def load_extensions(self) -> None:
        """Call every hook beside flavors now, so that the failures of plugins that add visualizers, commands or
        secrets backends are known too (``cargohold plugins`` and ``doctor`` report them)."""
        for hook in ("cargohold_visualizers", "cargohold_cli_commands", "cargohold_secrets_backends"):
            self.extensions(hook)

    def origin(self, component_type: str, name: str) -> PluginInfo:
        """The plugin that provided a flavor."""
        entry_point = self._slots[(component_type, name)].entry_point
        return next((p for p in self.plugins if p.entry_point == entry_point), self._discovery.info(entry_point))

    def description(self, component_type: str, name: str) -> str:
        """The flavor's one-line description, known without importing its plugin."""
        return self._slots[(component_type, name)].description

    def get_flavor(self, component_type: str, name: str) -> Flavor:
        """The flavor, or an error that lists the names that do exist."""
        key = (str(component_type), name)
        if key not in self._slots:
            known = sorted(n for t, n in self._slots if t == component_type)
            raise FlavorNotFoundError(
                f"No {component_type} flavor named {name!r} is installed (known: {', '.join(known) or 'none'}); "
                f"install its plugin or register it with 'cargohold flavor register'."
            )
        return self[key]


class _Discovery:
    """One pass over the entry points; failures are kept per entry point."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.errors: dict[str, PluginError] = {}
        self.types: frozenset[str] = frozenset()
        self.records: dict[str, PluginRecord] = {}
        #: Entry points imported cleanly in this run, whose records now say what they gave.
        self.learnt: list[str] = []
        self.strict = _flag("CARGOHOLD_STRICT_PLUGINS")
        self.blocked = frozenset(
            b.strip() for b in os.environ.get("CARGOHOLD_DISABLE_PLUGINS", "").split(",") if b.strip()
        )

    def info(self, name: str) -> PluginInfo:
        """Where an entry point (or core's own module) comes from, for messages and ``cargohold plugins``."""
        record = self.records.get(name)
        return PluginInfo(name, record.distribution, record.version) if record else PluginInfo(name, _CORE, __version__)

    def record(self, info: PluginInfo, reason: str, kind: PluginProblem = PluginProblem.FAILED) -> None:
        """Keep the failure, warn about it, and raise it when plugin developers asked for strictness."""
        error = PluginError(
            distribution=info.distribution, version=info.version, entry_point=info.entry_point, reason=reason, kind=kind
        )
        self.errors.setdefault(info.entry_point, error)
        if self.strict:
            raise error
        warnings.warn(str(error), PluginWarning, stacklevel=4)

    def load(self, record: PluginRecord) -> bool:
        """Import one entry point's module and register it, unless it is broken or incompatible."""
        info = self.info(record.entry_point)
        reason = None if record.known else _incompatibility(info, record.requires)
        if reason:
            self.record(info, reason, kind=PluginProblem.INCOMPATIBLE)
            return False
        from importlib.metadata import EntryPoint  # not imported at all when every plugin is known

        ep = EntryPoint(record.entry_point, record.module, ENTRY_POINT_GROUP)
        try:
            module = ep.load()
        except Exception as exc:
            missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
            if missing and not f"{ep.module}.".startswith(f"{missing}."):  # a dependency, not the plugin itself
                reason = (
                    f"it imports {missing!r}, which is not installed; reinstall {info.distribution} with its "
                    f"dependencies, or install the distribution that provides {missing!r}"
                )
                self.record(info, reason, kind=PluginProblem.MISSING_DEPENDENCY)
            else:
                self.record(info, f"import failed: {type(exc).__name__}: {exc}")
            return False
        api = getattr(module, "cargohold_api_version", PLUGIN_API_VERSION)
        if api != PLUGIN_API_VERSION:
            newer = isinstance(api, int) and api > PLUGIN_API_VERSION
            fix = "upgrade cargohold" if newer else f"upgrade {info.distribution} to a release made for it"
            reason = (
                f"it targets plugin API {api!r} (cargohold_api_version in {ep.module}) but cargohold {__version__} "
                f"offers plugin API {PLUGIN_API_VERSION}; {fix}"
            )
            self.record(info, reason, kind=PluginProblem.INCOMPATIBLE)
            return False
        try:
            self.manager.register(module, name=record.entry_point)
        except pluggy.PluginValidationError as exc:  # a hook whose arguments its spec does not offer
            if self.manager.is_registered(module):  # pluggy keeps the hooks it checked before this one
                self.manager.unregister(module)
            detail = " ".join(str(exc).partition("\n")[2].split())  # pluggy's first line repeats the plugin's name
            self.record(
                info,
                f"its hook does not match cargohold's ({detail}); take only the arguments its spec in "
                "cargohold.hookspecs names",
            )
            return False
        unknown = [c.name for c in self.manager.get_hookcallers(module) or () if not c.has_spec()]
        if unknown:
            self.manager.unregister(module)
            self.record(info, _unknown_hooks_message(unknown))
            return False
        return True

    def call(self, impl: Any) -> list[Any]:
        """Run one plugin's hook alone, so that its failure is its own."""
        info = self.info(impl.plugin_name)
        hook = impl.function.__name__
        try:
            result = impl.function()
        except Exception as exc:
            self.record(info, f"hook {hook} raised {type(exc).__name__}: {exc}")
            return []
        accepts, what = _expected(hook)
        if not isinstance(result, (list, tuple)) or not all(accepts(item) for item in result):
            self.record(info, f"hook {hook} returned {result!r}, not a list of {what}")
            return []
        return list(result)

    def gather(self, hook: str) -> list[Any]:
        """Import the known plugins whose records say they implement ``hook``, then call it on each plugin alone."""
        for name, record in self.records.items():
            if record.known and hook in record.hooks and name not in self.errors and not self.manager.has_plugin(name):
                self.load(record)
        return [item for impl in getattr(self.manager.hook, hook).get_hookimpls() for item in self.call(impl)]

    def flavors_of(self, name: str) -> list[Flavor]:
        """The usable flavors (instances) a registered plugin's hook returns; the unusable are recorded."""
        info = self.info(name)
        found = []
        for impl in self.manager.hook.cargohold_flavors.get_hookimpls():
            if impl.plugin_name != name:
                continue
            for cls in self.call(impl):
                from cargohold.flavors import inspect_flavor  # imported by call() already

                flavor, problems = inspect_flavor(cls)
                if flavor is not None and not problems and flavor.type not in self.types:
                    problems = [f"its type {flavor.type!r} is unknown (known: {', '.join(sorted(self.types))})"]
                if flavor is None or problems:
                    self.record(info, f"flavor {cls.__qualname__} is not usable: {'; '.join(problems)}")
                    continue
                found.append(flavor)
        return found

    def run(self, records: Sequence[PluginRecord], builtins: Sequence[ModuleType]) -> FlavorRegistry:
        """Use what a known record says as it is, and import the plugins of the others."""
        for module in builtins:
            self.manager.register(module, name=module.__name__)
        if self.blocked:
            records = [r for r in records if not {r.entry_point, r.distribution} & self.blocked]
        self.records = {r.entry_point: r for r in records}
        live = [n for n, r in self.records.items() if not r.known and self.load(r)]
        given_types: dict[str, list[str]] = {}
        for impl in self.manager.hook.cargohold_component_types.get_hookimpls():
            given_types.setdefault(impl.plugin_name, []).extend(self.call(impl))
        self.types = frozenset(
            [t for types in given_types.values() for t in types] + [t for r in self.records.values() for t in r.types]
        )
        claims: dict[FlavorKey, list[_Slot]] = {}
        for name, record in self.records.items():
            for ctype, flavor_name, description in record.flavors:
                claims.setdefault((ctype, flavor_name), []).append(_Slot(name, description))
        given = {name: self.flavors_of(name) for name in [m.__name__ for m in builtins] + live}
        for name, flavors in given.items():
            for flavor in flavors:
                claims.setdefault((flavor.type, flavor.name), []).append(_Slot(name, flavor.description or "", flavor))
        slots = {key: claimants[0] for key, claimants in claims.items() if len(claimants) == 1}
        for key, claimants in claims.items():
            if len(claimants) > 1:
                self.conflict(key, [self.info(s.entry_point) for s in claimants])
        self.learnt = [name for name in live if name not in self.errors]
        for name in self.learnt:
            self.learn(name, given_types.get(name, []), given[name])
        return FlavorRegistry(slots, self)

    def conflict(self, key: FlavorKey, claimants: list[PluginInfo]) -> None:
        """Record a name claimed twice against every claimant: nothing wins silently."""
        names = " and ".join(f"{i.distribution} {i.version} (entry point {i.entry_point!r})" for i in claimants)
        for info in claimants:
            self.record(
                info,
                f"the {key[0]} flavor {key[1]!r} is claimed by {names}; none is used until all "
                "but one are uninstalled or blocked with CARGOHOLD_DISABLE_PLUGINS",
                kind=PluginProblem.CONFLICTS,
            )

    def learn(self, name: str, types: list[str], flavors: list[Flavor]) -> None:
        """Turn a cleanly loaded plugin's record into a known one, stamped with the files it was read from."""
        modules = {self.records[name].module} | {type(flavor).__module__ for flavor in flavors}
        callers = self.manager.get_hookcallers(self.manager.get_plugin(name)) or ()
        self.records[name] = self.records[name]._replace(
            requires=(),  # checked already; a known record is never checked again
            known=True,
            types=tuple(types),
            flavors=tuple((str(f.type), f.name, f.description or "") for f in flavors),
            hooks=tuple(sorted(c.name for c in callers)),
            files=_plugin_cache.stamps({getattr(sys.modules.get(m), "__file__", None) for m in modules}),
        )

    def import_flavors(self, name: str, slots: dict[FlavorKey, _Slot]) -> None:
        """Import a known plugin on its first use and fill in its flavors; a plugin that changed is an error."""
        loaded = self.manager.has_plugin(name) or self.load(self.records[name])
        flavors = {(f.type, f.name): f for f in self.flavors_of(name)} if loaded else {}
        mine = {key: slot for key, slot in slots.items() if slot.entry_point == name}
        for key, slot in mine.items():
            if key in flavors:
                slot.flavor = flavors[key]
        stale = [f"{t} flavor {n!r}" for (t, n), slot in mine.items() if slot.flavor is None]
        if stale:
            _plugin_cache.clear()
            info = self.info(name)
            raise PluginError(
                distribution=info.distribution,
                version=info.version,
                entry_point=name,
                reason=f"it no longer provides the {', '.join(stale)} it gave when cargohold last looked; "
                "run the command again (what discovery cached has been cleared)",
            )


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def _unknown_hooks_message(names: list[str]) -> str:
    """Name each hook cargohold does not have, and the one that was probably meant."""
    import difflib

    known = [n for n in dir(hookspecs) if n.startswith(f"{_CORE}_")]
    guesses = []
    for name in names:
        near = difflib.get_close_matches(name, known, 1)
        guesses.append(f"{name} (did you mean {near[0]}?)" if near else name)
    return f"it implements {', '.join(guesses)}, which is not a cargohold hook; rename it to one of {', '.join(known)}"


def _expected(hook: str) -> tuple[Callable[[object], bool], str]:
    """A test for each item ``hook`` returns, and what the items should be, in words; classes load only now."""
    if hook == "cargohold_component_types":
        return (lambda item: isinstance(item, str)), "type names"
    if hook == "cargohold_cli_commands":
        import click

        return (lambda item: isinstance(item, click.Command)), "click commands"
    if hook == "cargohold_secrets_backends":
        from cargohold._names import NAME
        from cargohold.secrets import SecretsBackend

        def named_backend(item: object) -> bool:
            return (
                isinstance(item, type)
                and issubclass(item, SecretsBackend)
                and re.fullmatch(NAME, str(getattr(item, "name", ""))) is not None
            )

        return named_backend, "SecretsBackend classes with a name"
    base: type
    if hook == "cargohold_visualizers":
        from cargohold.visualizers import Visualizer

        base, what = Visualizer, "Visualizer classes"
    else:
        from cargohold.flavors import Flavor

        base, what = Flavor, "Flavor classes"
    return (lambda item: isinstance(item, type) and issubclass(item, base)), what


def _incompatibility(info: PluginInfo, requires: Sequence[str]) -> str | None:
    """Why the plugin's own requirement on cargohold excludes the running core, if it does, and what to upgrade."""
    for line in requires:
        head = line[: len(_CORE) + 1].lower()
        if not head.startswith(_CORE) or (len(head) > len(_CORE) and (head[-1].isalnum() or head[-1] in "-_.")):
            continue  # not a requirement on core itself (e.g. cargohold-testkit)
        from packaging.requirements import Requirement
        from packaging.version import Version

        req = Requirement(line)
        if req.marker is None and not req.specifier.contains(__version__, prereleases=True):
            core = Version(__version__)
            failing = [s for s in req.specifier if not s.contains(core, prereleases=True)]
            if any(Version(s.version.removesuffix(".*")) > core for s in failing):
                fix = f"upgrade cargohold: pip install 'cargohold{req.specifier}'"
            else:
                fix = f"upgrade {info.distribution} to a release made for cargohold {__version__}"
            return f"it requires cargohold{req.specifier} but cargohold {__version__} is installed; {fix}"
    return None


def _records() -> list[PluginRecord]:
    """One record per installed entry point, reading each distribution's metadata once."""
    from importlib.metadata import entry_points

    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        meta = ep.dist.metadata if ep.dist else None
        found.append(
            PluginRecord(
                ep.name,
                ep.value,
                meta["Name"] if meta else "?",
                meta["Version"] if meta else "?",
                tuple(meta.get_all("Requires-Dist") or ()) if meta else (),
            )
        )
    return found


@functools.cache
def get_flavor_registry() -> FlavorRegistry:
    """Discover installed plugins on first need, once per process, from the cache when nothing changed."""
    from cargohold import _builtins

    discovery = _Discovery()
    use_cache = not discovery.strict and not _flag("CARGOHOLD_NO_PLUGIN_CACHE")
    cached = _plugin_cache.load(discovery.blocked) if use_cache else None
    registry = discovery.run(cached if cached is not None else _records(), builtins=[_builtins])
    if use_cache and (cached is None or discovery.learnt):
        _plugin_cache.save(list(discovery.records.values()), discovery.blocked)
    return registry
