"""Read and write by path: each function routes its path to the store whose root contains it.

The longest root wins, so two stores of one flavor with different credentials work side by side.
Stores come from :func:`mount`, from the active stack, and, for a path no store contains, from
an ad-hoc store of the flavor that serves its scheme (a plain local path: the local flavor).
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
from cargohold.exceptions import CargoholdError, UnknownSchemeError

if TYPE_CHECKING:
    from cargohold.registry import ComponentRecord

__all__ = [
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
    "size",
    "stat",
    "store_for",
    "unmount",
    "walk",
]

_Route = tuple[frozenset[str], tuple[str, ...], BaseArtifactStore]
_lock = threading.Lock()
_routes: list[_Route] = []  # explicitly mounted, longest root first
_adhoc: list[_Route] = []  # built on demand for paths no mounted store contains
_stack_loaded = False
_active: BaseArtifactStore | None = None  # the active stack's store, while it is among the routes


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


def _load_active_stack() -> None:
    """Mount the active stack's store the first time anything is routed, and again after this process
    changed the registry; a store mounted by hand at the same root keeps its place.

    Nothing here makes fileio unusable: a store that cannot be built (a missing library or secret)
    is mounted as a stand-in that raises the reason when a path under it is used, and a registry
    that cannot be read is skipped with a warning.
    """
    global _stack_loaded, _active
    if _stack_loaded:
        return
    _stack_loaded = True
    from cargohold.client import Client
    from cargohold.registry import after_commit

    after_commit(_forget_active_stack)

    try:
        stack = Client().active_stack
    except CargoholdError as exc:
        warnings.warn(f"The active stack is not used by cargohold.fileio: {exc}", stacklevel=4)
        return
    component = stack.record.components.get(StackComponentType.ARTIFACT_STORE)
    if component is None:  # a default stack made where no local flavor was installed: nothing to mount
        return
    try:
        store = stack.artifact_store
    except CargoholdError as exc:
        path = component.config.get("path")
        if not isinstance(path, str):
            warnings.warn(f"The active stack's artifact store is not used by cargohold.fileio: {exc}", stacklevel=4)
            return
        store = _UnavailableStore(component, path, exc)
    if _add_route(store, replace=False):
        _active = store


def _forget_active_stack() -> None:
    """Unmount the active stack's store; the next call reads the registry again."""
    global _stack_loaded, _active
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
    return _route(path)[0]


def _route(path: str) -> tuple[BaseArtifactStore, str]:
    """The store for ``path`` and the path as that store must get it (a plain relative path made absolute)."""
    _load_active_stack()
    scheme, rest = split_scheme(path)
    if not scheme:
        path = os.path.abspath(path)
    parts = normalize(rest if scheme else path)
    for schemes, root, store in _routes + _adhoc:
        if scheme in schemes and parts is not None and inside(parts, root):
            return store, path
    return _adhoc_store(scheme, parts or ()), path


def _adhoc_store(scheme: str, parts: tuple[str, ...]) -> BaseArtifactStore:
    """A store of whichever installed flavor serves ``scheme``, rooted at the bucket (or at ``/``)."""
    from cargohold.plugins import get_flavor_registry

    flavors = [f for (t, _), f in get_flavor_registry().items() if t == StackComponentType.ARTIFACT_STORE]
    for flavor in flavors:
        schemes: frozenset[str] = getattr(flavor.config_class, "SUPPORTED_SCHEMES", frozenset())
        if scheme in schemes or (scheme == "file://" and "" in schemes):
            root = scheme + parts[0] if scheme and scheme != "file://" and parts else "/"
            store = flavor.build({"path": root}, name=f"{flavor.name}:{root}")
            assert isinstance(store, BaseArtifactStore)
            with _lock:
                _adhoc.append(_route_of(store))
            return store
    known = sorted(
        {s or "plain local paths" for f in flavors for s in getattr(f.config_class, "SUPPORTED_SCHEMES", ())}
    )
    raise UnknownSchemeError(
        f"No installed flavor serves {scheme or 'plain local paths'!r} (known: {', '.join(known) or 'none'}); "
        "install the flavor's plugin, e.g. pip install cargohold-s3."
    )


def open(path: str, mode: str = "r") -> IO[Any]:  # noqa: A001 - the interface's name
    """Open a file in the store that owns ``path``."""
    store, path = _route(path)
    return store.open(path, mode)


def copyfile(src: str, dst: str, overwrite: bool = False) -> None:
    """Copy a file, within one store or across stores (streamed, never whole in memory)."""
    (source, src), (target, dst) = _route(src), _route(dst)
    if source is target:
        source.copyfile(src, dst, overwrite)
        return
    with source.open(src, "rb") as reader, target.open(dst, "wb" if overwrite else "xb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 22)


def exists(path: str) -> bool:
    """Whether ``path`` exists."""
    store, path = _route(path)
    return store.exists(path)


def glob(pattern: str) -> list[str]:
    """Full paths matching ``pattern``, sorted."""
    store, pattern = _route(pattern)
    return store.glob(pattern)


def isdir(path: str) -> bool:
    """Whether ``path`` is a directory."""
    store, path = _route(path)
    return store.isdir(path)


def listdir(path: str) -> list[str]:
    """Entry names in a directory, sorted."""
    store, path = _route(path)
    return store.listdir(path)


def makedirs(path: str) -> None:
    """Create a directory and its parents."""
    store, path = _route(path)
    store.makedirs(path)


def mkdir(path: str) -> None:
    """Create one directory."""
    store, path = _route(path)
    store.mkdir(path)


def remove(path: str) -> None:
    """Delete a file."""
    store, path = _route(path)
    store.remove(path)


def rename(src: str, dst: str, overwrite: bool = False) -> None:
    """Move a file or directory, within one store or across stores (copy, then delete)."""
    (source, src), (target, dst) = _route(src), _route(dst)
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


def rmtree(path: str) -> None:
    """Delete a directory tree."""
    store, path = _route(path)
    store.rmtree(path)


def stat(path: str) -> FileStat:
    """Size, type and modification time."""
    store, path = _route(path)
    return store.stat(path)


def size(path: str) -> int:
    """Bytes in a file, or in every file under a directory."""
    store, path = _route(path)
    return store.size(path)


def walk(top: str, topdown: bool = True, onerror: Callable[[OSError], object] | None = None) -> Iterator[WalkItem]:
    """``os.walk`` over any store."""
    store, top = _route(top)
    return store.walk(top, topdown, onerror)
