"""Read and write by path: each function routes its path to the store whose root contains it.

The longest root wins, so two stores of one flavor with different credentials work side by side.
Stores come from :func:`mount` and from the active stack. A path that none of them contains is
refused, so a write never lands in a place the registry did not name. :func:`allow_adhoc_stores`
(or ``CARGOHOLD_ADHOC_STORES=1``) opts in to ad-hoc stores for such paths: a local store rooted at
the path's nearest existing folder above it (never ``/``), or a store of the flavor serving the
URL's scheme, rooted at its bucket, with that flavor's default credentials. Deleting a filesystem root or a
folder holding the user's home is refused whatever the store, as ``rm --preserve-root`` does.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any, NoReturn

from cargohold._component_types import StackComponentType
from cargohold._paths import inside, normalize, split_scheme
from cargohold.artifact_stores.base import BaseArtifactStore, FileStat, WalkItem
from cargohold.components import StackComponentConfig
from cargohold.exceptions import CargoholdError, ProtectedPathError, UnknownSchemeError, UnownedPathError

if TYPE_CHECKING:
    from cargohold.registry import ComponentRecord

__all__ = [
    "allow_adhoc_stores",
    "check_deletable",
    "copyfile",
    "exists",
    "glob",
    "isdir",
    "listdir",
    "makedirs",
    "mkdir",
    "mount",
    "mounted",
    "open",
    "remove",
    "rename",
    "rmtree",
    "route",
    "size",
    "stat",
    "store_for",
    "unmount",
    "walk",
]

_Route = tuple[frozenset[str], tuple[str, ...], BaseArtifactStore]
#: Guards the routes and the loading of the active stack (re-entrant: loading may commit, which unloads).
_lock = threading.RLock()
_routes: list[_Route] = []  # explicitly mounted and the active stack's, longest root first
_adhoc: dict[tuple[str, tuple[str, ...]], BaseArtifactStore] = {}  # (scheme, root) -> store, when opted in
_ADHOC_LIMIT = 64  # ad-hoc stores kept; the oldest is dropped past it
_adhoc_allowed: bool | None = None  # None: CARGOHOLD_ADHOC_STORES decides
_stack_loaded = False
_active: BaseArtifactStore | None = None  # the active stack's store, while it is among the routes
_LOCAL = frozenset({"", "file://"})


def _route_of(store: BaseArtifactStore) -> _Route:
    schemes = store.schemes | ({"file://"} if "" in store.schemes else set())
    return frozenset(schemes), normalize(split_scheme(store.path)[1]) or (), store


def mount(store: BaseArtifactStore) -> None:
    """Route paths under ``store``'s root to it; a store mounted at the same root is replaced."""
    _add_route(store, replace=True)


def _add_route(store: BaseArtifactStore, replace: bool) -> bool:
    """Route to ``store`` unless a store is mounted at its root and ``replace`` is false; say whether it was."""
    route = _route_of(store)
    with _lock:
        kept = [r for r in _routes if not (r[1] == route[1] and r[0] & route[0])]
        if len(kept) < len(_routes) and not replace:
            return False
        _routes[:] = sorted([*kept, route], key=lambda r: len(r[1]), reverse=True)
    return True


def unmount(store: BaseArtifactStore) -> None:
    """Stop routing to ``store``."""
    with _lock:
        _routes[:] = [r for r in _routes if r[2] is not store]


def mounted() -> list[BaseArtifactStore]:
    """The stores paths are routed to, longest root first."""
    _load_active_stack()
    return [r[2] for r in _routes]


def allow_adhoc_stores(allowed: bool | None = True) -> None:
    """Let paths that no mounted or active store contains get an ad-hoc store (``None``: as the environment says).

    Off by default: an ad-hoc store of a cloud flavor uses that flavor's default credentials, so a
    write could reach a bucket of the same name in whatever account the environment holds.
    """
    global _adhoc_allowed
    with _lock:
        _adhoc_allowed = allowed
        if not allowed:
            _adhoc.clear()


def _adhoc_on() -> bool:
    if _adhoc_allowed is not None:
        return _adhoc_allowed
    return os.environ.get("CARGOHOLD_ADHOC_STORES", "").strip().lower() in ("1", "true", "yes", "on")


def _load_active_stack() -> None:
    """Mount the active stack's store the first time anything is routed, and again after this process
    changed the registry; a store mounted by hand at the same root keeps its place.

    Every other thread waits until the store is mounted, so no first call goes ahead without it. Nothing
    here makes fileio unusable or creates a registry: where none exists there is no stack to mount, a
    store that cannot be built (a missing library or secret) is mounted as a stand-in that raises the
    reason when a path under it is used, and a registry that cannot be read is skipped with a warning.
    """
    if not _stack_loaded:
        with _lock:
            _load_once()


def _load_once() -> None:
    """The loading itself, under the lock: another thread may have done it while this one waited."""
    global _stack_loaded, _active
    if _stack_loaded:
        return
    store = _active_stack_store()
    if store is not None and _add_route(store, replace=False):
        _active = store
    _stack_loaded = True


def _active_stack_store() -> BaseArtifactStore | None:
    """The active stack's artifact store (or a stand-in that explains why it cannot be built), if any."""
    from cargohold.client import Client
    from cargohold.registry import after_commit

    after_commit(_forget_active_stack)
    try:
        client = Client()
        if not client.registry.exists():  # never set up here: a read must not create a registry
            return None
        stack = client.active_stack
    except CargoholdError as exc:
        warnings.warn(f"The active stack is not used by cargohold.fileio: {exc}", stacklevel=5)
        return None
    component = stack.record.components.get(StackComponentType.ARTIFACT_STORE)
    if component is None:  # a default stack made where no local flavor was installed: nothing to mount
        return None
    try:
        return stack.artifact_store
    except CargoholdError as exc:
        path = component.config.get("path")
        if not isinstance(path, str):
            warnings.warn(f"The active stack's artifact store is not used by cargohold.fileio: {exc}", stacklevel=5)
            return None
        return _UnavailableStore(component, path, exc)


def _forget_active_stack() -> None:
    """Unmount the active stack's store; the next call reads the registry again."""
    global _stack_loaded, _active
    with _lock:
        if _active is not None:
            unmount(_active)
        _active = None
        _stack_loaded = False


class _UnavailableStore(BaseArtifactStore):
    """Holds an active store's root when the store cannot be built, so its paths fail with the reason."""

    def __init__(self, component: ComponentRecord, path: str, error: CargoholdError) -> None:
        super().__init__(StackComponentConfig(), name=component.name, id=uuid.UUID(component.id))
        self.flavor = component.flavor
        self._path = path
        self._error = error

    @property
    def path(self) -> str:
        return self._path

    @property
    def schemes(self) -> frozenset[str]:
        return frozenset({split_scheme(self._path)[0]})

    def _fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Every operation raises the error that kept the store from being built (with a fresh traceback)."""
        raise self._error.with_traceback(None)

    open = copyfile = exists = glob = isdir = listdir = makedirs = mkdir = _fail
    remove = rename = rmtree = stat = walk = size = _fail


def store_for(path: str) -> BaseArtifactStore:
    """The store that serves ``path``."""
    return route(path)[0]


def route(path: str, *, adhoc: bool | None = None) -> tuple[BaseArtifactStore, str]:
    """The store for ``path`` and the path as that store must get it (a plain relative path made absolute).

    ``adhoc`` overrides :func:`allow_adhoc_stores` for this call: the CLI passes True for a local path
    that its user typed, which is an explicit choice of that place.
    """
    _load_active_stack()
    scheme, rest = split_scheme(path)
    path = scheme + rest if scheme else os.path.abspath(path)  # the scheme as stores compare it: lower case
    parts = normalize(rest if scheme else path)
    if parts is not None:
        for schemes, root, store in _routes:
            if scheme in schemes and inside(parts, root):
                return store, path
    if not (_adhoc_on() if adhoc is None else adhoc):
        raise _unowned(path, scheme)
    return _adhoc_store(scheme, parts or ()), path


def _unowned(path: str, scheme: str) -> CargoholdError:
    """Why no store takes ``path``: the registered stores outside the active stack that would, or what to do."""
    from cargohold.client import Client

    client = Client()
    elsewhere = []
    if client.registry.exists():
        target = normalize(split_scheme(path)[1] if scheme else path) or ()
        for component in client.components(StackComponentType.ARTIFACT_STORE):
            root = component.config.get("path")
            if isinstance(root, str) and split_scheme(root)[0] in _aliases(scheme) and inside(target, _segments(root)):
                elsewhere.append(component.name)
    if elsewhere:
        name = elsewhere[0]
        return UnownedPathError(
            f"{path!r} lies in the registered artifact store {name!r}, which is not in the active stack; "
            f"reach it as {name}:PATH with cargohold fs, as cargohold://{name}/PATH, or after "
            f"fileio.mount(Client().get_artifact_store({name!r}))."
        )
    if scheme not in _LOCAL and _flavor_for(scheme) is None:
        return _unknown_scheme(scheme)
    return UnownedPathError(
        f"No registered or mounted artifact store contains {path!r}; register one and put it in the active stack "
        "(cargohold artifact-store register, cargohold stack update), mount one with fileio.mount(store), or opt "
        "in to ad-hoc stores with CARGOHOLD_ADHOC_STORES=1 or fileio.allow_adhoc_stores()."
    )


def _segments(path: str) -> tuple[str, ...]:
    return normalize(split_scheme(path)[1]) or ()


def _aliases(scheme: str) -> frozenset[str]:
    """The schemes that name the same places as ``scheme`` (a local path with or without ``file://``)."""
    return _LOCAL if scheme in _LOCAL else frozenset({scheme})


def _flavor_for(scheme: str) -> Any:
    """The installed or custom artifact store flavor that serves ``scheme``, or None."""
    from cargohold.client import Client

    for info in Client().flavors(StackComponentType.ARTIFACT_STORE):
        try:
            flavor = info.usable_flavor()
        except CargoholdError:
            continue
        schemes: frozenset[str] = getattr(flavor.config_class, "SUPPORTED_SCHEMES", frozenset())
        if scheme in schemes or (scheme in _LOCAL and "" in schemes):
            return flavor
    return None


def _unknown_scheme(scheme: str) -> UnknownSchemeError:
    from cargohold.client import Client

    known = set()
    for info in Client().flavors(StackComponentType.ARTIFACT_STORE):
        try:
            known |= set(getattr(info.usable_flavor().config_class, "SUPPORTED_SCHEMES", ()))
        except CargoholdError:
            continue
    shown = ", ".join(sorted(s or "plain local paths" for s in known)) or "none"
    return UnknownSchemeError(
        f"No installed flavor serves {scheme or 'plain local paths'!r} (known: {shown}); "
        "install the flavor's plugin, e.g. pip install cargohold-s3."
    )


def _adhoc_store(scheme: str, parts: tuple[str, ...]) -> BaseArtifactStore:
    """An ad-hoc store for a path no store contains: rooted at its nearest existing folder above it (a local
    path: nothing is created, and a path directly in ``/`` is refused) or at its bucket."""
    if scheme in _LOCAL:
        with _lock:  # a store made for a folder above keeps serving what was written below it since
            for depth in range(len(parts) - 1, 0, -1):
                if (found := _adhoc.get(("", parts[:depth]))) is not None:
                    return found
        folder = os.sep + os.sep.join(parts[:-1])
        while not os.path.isdir(folder):
            folder = os.path.dirname(folder)
        if folder == os.sep:
            raise UnownedPathError(
                f"{os.sep + os.sep.join(parts)!r} lies directly in the filesystem root, where no ad-hoc store is "
                "rooted; register a store for it, or give a path inside a folder."
            )
        root, key = folder, ("", normalize(folder) or ())
    else:
        if not parts:
            raise UnownedPathError(f"{scheme!r} names no bucket or container; give a path such as {scheme}bucket/key.")
        root, key = scheme + parts[0], (scheme, parts[:1])
    with _lock:
        store = _adhoc.get(key)
        if store is not None:
            return store
    flavor = _flavor_for(scheme)
    if flavor is None:
        raise _unknown_scheme(scheme)
    values: dict[str, Any] = {"path": root}
    if "credentials" in flavor.config_class.model_fields:  # a bare URL, as `aws s3 ls` takes one: the environment's
        values["credentials"] = "environment"
    store = flavor.build(values, name=f"{flavor.name}:{root}")
    assert isinstance(store, BaseArtifactStore)
    with _lock:
        store = _adhoc.setdefault(key, store)
        while len(_adhoc) > _ADHOC_LIMIT:
            del _adhoc[next(iter(_adhoc))]
    return store


def check_deletable(store: BaseArtifactStore, path: str, *, force: bool = False) -> None:
    """Refuse to delete a filesystem root or a folder holding the user's home, ever; and, unless ``force``,
    a store's own root or a folder holding a registered store's root or cargohold's home.

    ``path`` is a full path as ``store`` spells it; every bulk delete (``rmtree``, ``cargohold fs rm -r``)
    passes through here first.
    """
    scheme, rest = split_scheme(path)
    local = scheme in _LOCAL and "" in store.schemes
    target = normalize(os.path.realpath(rest) if local else rest)
    if not target:
        raise ProtectedPathError(f"Refusing to delete {path!r}: it is a filesystem root.")
    if local and any(inside(normalize(home) or (), target) for home in _homes()):
        raise ProtectedPathError(f"Refusing to delete {path!r}: it holds the user's home folder.")
    if force:
        return
    for name, root in _registered_roots(store):
        if inside(root, target):
            raise ProtectedPathError(
                f"Refusing to delete {path!r}: it holds the root of the artifact store {name!r}; "
                "pass force=True to delete it all the same."
            )


def _homes() -> list[str]:
    return [os.path.realpath(os.path.expanduser("~"))]


def _registered_roots(store: BaseArtifactStore) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Names and root segments of the stores a delete through ``store`` could reach: mounted, registered, and
    cargohold's own home for local stores."""
    from cargohold import locations
    from cargohold.client import Client

    served = store.schemes | (_LOCAL if "" in store.schemes else frozenset())
    local = bool(served & _LOCAL)
    yield store.name or store.path, normalize(_comparable(store.path, local)) or ()
    with _lock:
        routes = list(_routes)
    for schemes, root, mounted_store in routes:
        if schemes & served:
            yield mounted_store.name or mounted_store.path, root
    if local:
        yield "cargohold's home", normalize(os.path.realpath(locations.home())) or ()
    client = Client()
    if client.registry.exists():
        for component in client.components(StackComponentType.ARTIFACT_STORE):
            path = component.config.get("path")
            if isinstance(path, str) and split_scheme(path)[0] in served:
                yield component.name, normalize(_comparable(path, local)) or ()


def _comparable(path: str, local: bool) -> str:
    rest = split_scheme(path)[1]
    return os.path.realpath(rest) if local else rest


def open(path: str, mode: str = "r") -> IO[Any]:  # noqa: A001 - the interface's name
    """Open a file in the store that owns ``path``."""
    store, path = route(path)
    return store.open(path, mode)


def copyfile(src: str, dst: str, overwrite: bool = False) -> None:
    """Copy a file, within one store or across stores (streamed, never whole in memory)."""
    (source, src), (target, dst) = route(src), route(dst)
    if source is target:
        source.copyfile(src, dst, overwrite)
        return
    with source.open(src, "rb") as reader, target.open(dst, "wb" if overwrite else "xb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 22)


def exists(path: str) -> bool:
    """Whether ``path`` exists."""
    store, path = route(path)
    return store.exists(path)


def glob(pattern: str) -> list[str]:
    """Full paths matching ``pattern``, sorted."""
    store, pattern = route(pattern)
    return store.glob(pattern)


def isdir(path: str) -> bool:
    """Whether ``path`` is a directory."""
    store, path = route(path)
    return store.isdir(path)


def listdir(path: str) -> list[str]:
    """Entry names in a directory, sorted."""
    store, path = route(path)
    return store.listdir(path)


def makedirs(path: str) -> None:
    """Create a directory and its parents."""
    store, path = route(path)
    store.makedirs(path)


def mkdir(path: str) -> None:
    """Create one directory."""
    store, path = route(path)
    store.mkdir(path)


def remove(path: str) -> None:
    """Delete a file."""
    store, path = route(path)
    store.remove(path)


def rename(src: str, dst: str, overwrite: bool = False) -> None:
    """Move a file or directory, within one store or across stores (copy, then delete)."""
    (source, src), (target, dst) = route(src), route(dst)
    if source is target:
        source.rename(src, dst, overwrite)
        return
    if not source.isdir(src):
        copyfile(src, dst, overwrite)
        source.remove(src)
        return
    top = source.stat(src).path
    for dirpath, _, files in source.walk(src):
        relative = dirpath[len(top) :].strip("/")
        for name in files:
            below = f"{relative}/{name}" if relative else name
            copyfile(f"{dirpath}/{name}", f"{dst.rstrip('/')}/{below}", overwrite)
    source.rmtree(src)


def rmtree(path: str, force: bool = False) -> None:
    """Delete a directory tree; a store's root, or a folder holding one, only with ``force``; see
    :func:`check_deletable`."""
    store, path = route(path)
    check_deletable(store, path, force=force)
    if force:  # only then: a store written before force existed still takes the plain call
        store.rmtree(path, force=True)
    else:
        store.rmtree(path)


def stat(path: str) -> FileStat:
    """Size, type and modification time."""
    store, path = route(path)
    return store.stat(path)


def size(path: str) -> int:
    """Bytes in a file, or in every file under a directory."""
    store, path = route(path)
    return store.size(path)


def walk(top: str, topdown: bool = True, onerror: Callable[[OSError], object] | None = None) -> Iterator[WalkItem]:
    """``os.walk`` over any store."""
    store, top = route(top)
    return store.walk(top, topdown, onerror)
