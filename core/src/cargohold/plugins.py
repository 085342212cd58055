"""Entry-point discovery: every plugin is loaded once per process, and a failing one is recorded and skipped."""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType
from typing import Any

import pluggy

from cargohold import hookspecs
from cargohold._version import __version__
from cargohold.exceptions import FlavorNotFoundError, PluginError, PluginWarning
from cargohold.flavors import Flavor

__all__ = ["ENTRY_POINT_GROUP", "PLUGIN_API_VERSION", "FlavorRegistry", "PluginInfo", "get_flavor_registry"]

ENTRY_POINT_GROUP = "cargohold"
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


class FlavorRegistry(Mapping[FlavorKey, Flavor]):
    """A read-only mapping of (component type, flavor name) to the installed flavor."""

    def __init__(
        self, flavors: dict[FlavorKey, tuple[Flavor, PluginInfo]], plugins: list[PluginInfo], types: frozenset[str]
    ) -> None:
        self._flavors = flavors
        self.plugins = plugins
        self.component_types = types

    def __getitem__(self, key: FlavorKey) -> Flavor:
        return self._flavors[key][0]

    def __iter__(self) -> Iterator[FlavorKey]:
        return iter(sorted(self._flavors))

    def __len__(self) -> int:
        return len(self._flavors)

    @property
    def errors(self) -> list[PluginError]:
        """Every plugin failure of this discovery."""
        return [info.error for info in self.plugins if info.error is not None]

    def origin(self, component_type: str, name: str) -> PluginInfo:
        """The plugin that provided a flavor."""
        return self._flavors[(component_type, name)][1]

    def get_flavor(self, component_type: str, name: str) -> Flavor:
        """The flavor, or an error that lists the names that do exist."""
        try:
            return self._flavors[(str(component_type), name)][0]
        except KeyError:
            known = sorted(n for t, n in self._flavors if t == component_type)
            raise FlavorNotFoundError(
                f"No {component_type} flavor named {name!r} is installed (known: {', '.join(known) or 'none'}); "
                f"install its plugin or register it with 'cargohold flavor register'."
            ) from None


class _Discovery:
    """One pass over the entry points; failures are kept per entry point."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.errors: dict[str, PluginError] = {}
        self.strict = os.environ.get("CARGOHOLD_STRICT_PLUGINS", "") not in ("", "0")
        self.blocked = {b.strip() for b in os.environ.get("CARGOHOLD_DISABLE_PLUGINS", "").split(",") if b.strip()}

    def record(self, info: PluginInfo, reason: str, kind: str = "failed") -> None:
        """Keep the failure, warn about it, and raise it when plugin developers asked for strictness."""
        error = PluginError(
            distribution=info.distribution, version=info.version, entry_point=info.entry_point, reason=reason, kind=kind
        )
        self.errors.setdefault(info.entry_point, error)
        if self.strict:
            raise error
        warnings.warn(str(error), PluginWarning, stacklevel=4)

    def load(self, ep: EntryPoint) -> None:
        """Import one entry point's module and register it, unless it is blocked, broken or incompatible."""
        dist = ep.dist
        info = PluginInfo(ep.name, dist.name if dist else "?", dist.version if dist else "?")
        if ep.name in self.blocked or info.distribution in self.blocked:
            return
        self.infos[ep.name] = info
        reason = _incompatibility(info, dist.requires if dist else None)
        if reason:
            self.record(info, reason, kind="is incompatible")
            return
        try:
            module = ep.load()
        except Exception as exc:
            missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
            if missing and not f"{ep.module}.".startswith(f"{missing}."):  # a dependency, not the plugin itself
                reason = (
                    f"it imports {missing!r}, which is not installed; reinstall {info.distribution} with its "
                    f"dependencies, or install the distribution that provides {missing!r}"
                )
                self.record(info, reason, kind="is missing a dependency")
            else:
                self.record(info, f"import failed: {type(exc).__name__}: {exc}")
            return
        api = getattr(module, "cargohold_api_version", PLUGIN_API_VERSION)
        if api != PLUGIN_API_VERSION:
            newer = isinstance(api, int) and api > PLUGIN_API_VERSION
            fix = "upgrade cargohold" if newer else f"upgrade {info.distribution} to a release made for it"
            reason = (
                f"it targets plugin API {api!r} (cargohold_api_version in {ep.module}) but cargohold {__version__} "
                f"offers plugin API {PLUGIN_API_VERSION}; {fix}"
            )
            self.record(info, reason, kind="is incompatible")
            return
        self.manager.register(module, name=ep.name)

    def call(self, impl: Any) -> list[Any]:
        """Run one plugin's hook alone, so that its failure is its own."""
        info = self.infos.get(impl.plugin_name) or PluginInfo(impl.plugin_name, _CORE, __version__)
        hook = impl.function.__name__
        try:
            result = impl.function()
        except Exception as exc:
            self.record(info, f"hook {hook} raised {type(exc).__name__}: {exc}")
            return []
        kind = str if hook == "cargohold_component_types" else Flavor
        if not isinstance(result, (list, tuple)) or not all(_is_kind(item, kind) for item in result):
            what = "type names" if kind is str else "Flavor classes"
            self.record(info, f"hook {hook} returned {result!r}, not a list of {what}")
            return []
        return list(result)

    def run(self, eps: Iterable[EntryPoint], builtins: Iterable[ModuleType]) -> FlavorRegistry:
        for module in builtins:
            self.manager.register(module, name=module.__name__)
        for ep in eps:
            self.load(ep)
        hooks = self.manager.hook
        types = frozenset(t for impl in hooks.cargohold_component_types.get_hookimpls() for t in self.call(impl))
        claims: dict[FlavorKey, list[tuple[Flavor, PluginInfo]]] = {}
        for impl in hooks.cargohold_flavors.get_hookimpls():
            info = self.infos.get(impl.plugin_name) or PluginInfo(impl.plugin_name, _CORE, __version__)
            for cls in self.call(impl):
                problems = cls.problems()
                if not problems and cls.type not in types:
                    problems = [f"its type {cls.type!r} is unknown (known: {', '.join(sorted(types))})"]
                if problems:
                    self.record(info, f"flavor {cls.__qualname__} is not usable: {'; '.join(problems)}")
                    continue
                claims.setdefault((cls.type, cls.name), []).append((cls(), info))
        flavors = {}
        for key, claimants in claims.items():
            if len(claimants) == 1:
                flavors[key] = claimants[0]
                continue
            names = " and ".join(f"{i.distribution} {i.version} (entry point {i.entry_point!r})" for _, i in claimants)
            for _, info in claimants:
                self.record(
                    info,
                    f"the {key[0]} flavor {key[1]!r} is claimed by {names}; none is used until all "
                    "but one are uninstalled or blocked with CARGOHOLD_DISABLE_PLUGINS",
                    kind="conflicts",
                )
        plugins = [
            replace(
                info,
                flavors=tuple(k for k, (_, i) in sorted(flavors.items()) if i is info),
                error=self.errors.get(name),
            )
            for name, info in self.infos.items()
        ]
        return FlavorRegistry(flavors, plugins, types)


def _is_kind(item: object, kind: type) -> bool:
    return isinstance(item, str) if kind is str else isinstance(item, type) and issubclass(item, kind)


def _incompatibility(info: PluginInfo, requires: list[str] | None) -> str | None:
    """Why the plugin's own requirement on cargohold excludes the running core, if it does, and what to upgrade."""
    for line in requires or ():
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


def discover(eps: Iterable[EntryPoint], builtins: Iterable[ModuleType] = ()) -> FlavorRegistry:
    """Load the given entry points into a new registry; failures are recorded on it."""
    return _Discovery().run(eps, builtins)


@functools.cache
def get_flavor_registry() -> FlavorRegistry:
    """Discover installed plugins on first need, once per process."""
    from cargohold import _builtins

    return discover(entry_points(group=ENTRY_POINT_GROUP), builtins=[_builtins])
