"""What a command-line target names: ``NAME:path`` in a registered store, a URL, or a local path.

One function, :func:`resolve`, turns each spelling into a :class:`Location`, so ``cargohold fs``,
:mod:`cargohold.transfer` and the ``cargohold://`` filesystem agree on what a target means:

- a URL is a scheme followed by ``://`` at the very start (``s3://bucket/x``, ``S3://bucket/x``); it goes
  to the store that ``cargohold.fileio`` routes it to, which is a registered or mounted one unless
  ad-hoc stores are allowed;
- ``NAME:path/inside`` is a path under the root of the registered artifact store ``NAME``
  (a leading ``/`` changes nothing); ``:path`` is the same in the active stack's store. Whatever the
  path holds (``a://b``, ``%2e``, ``\\``) it is a path below that root, and ``..`` may not climb out;
- anything else is a local path (write ``./a:b`` for a local file whose name holds a colon), in an
  ad-hoc local store rooted at its nearest existing folder above it, as the user named that place;
- no target at all is the root of the active stack's store.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from cargohold import locations
from cargohold._names import NAME
from cargohold._paths import normalize, split_scheme
from cargohold.artifact_stores.base import BaseArtifactStore
from cargohold.exceptions import NotRegisteredError, OutsideStoreError

__all__ = ["Location", "in_named_store", "relative", "resolve", "same_store", "segments", "store_named"]

#: ``NAME:rest`` where NAME is a registered component name (letters, digits, ``-`` and ``_``), or empty.
_NAMED = re.compile(f"(?P<name>(?:{NAME})?):(?P<rest>.*)", re.DOTALL)


@dataclass(frozen=True)
class Location:
    """A store and a full path inside it, as the store spells its paths."""

    store: BaseArtifactStore
    path: str

    def child(self, relative_path: str) -> Location:
        """The location ``relative_path`` below this one."""
        if not relative_path:
            return self
        return Location(self.store, f"{self.path.rstrip('/')}/{relative_path}")


def resolve(target: str | None) -> Location:
    """The store and full path a target names; see the module docstring for the spellings."""
    if target is None:
        return _in_store(_active_store(), "")
    from cargohold import fileio

    if split_scheme(target)[0]:
        return Location(*fileio.route(target))
    named = _NAMED.fullmatch(target)
    if named is not None:
        return in_named_store(named["name"], named["rest"])
    return Location(*fileio.route(target, adhoc=True))


def in_named_store(name: str, inside: str, home: str | None = None, url: str | None = None) -> Location:
    """``inside`` (relative to the root) in the registered store ``name``, or in the active one for ``""``;
    ``home`` names the registry's home folder where it is not this process's ``CARGOHOLD_HOME``, ``url`` a
    shared registry's URL where it is not the one the home uses."""
    return _in_store(store_named(name, home, url) if name else _active_store(), inside)


def same_store(first: BaseArtifactStore, second: BaseArtifactStore) -> bool:
    """Whether two store objects reach the same place: a name and a URL may build two of one store."""
    return first is second or (type(first) is type(second) and first.config == second.config)


def segments(path: str) -> tuple[str, ...]:
    """The normalised segments of a full path, without its scheme, so ``gcs://`` and ``gs://`` compare equal."""
    return normalize(split_scheme(path)[1]) or ()


def relative(path: str, base: str) -> str:
    """``path`` relative to ``base`` (which must contain it), with ``/`` between segments."""
    return "/".join(segments(path)[len(segments(base)) :])


def store_named(name: str, home: str | None = None, url: str | None = None) -> BaseArtifactStore:
    """The registered artifact store ``name``, built once per process and registry."""
    return _store_named(home or str(locations.home()), url, name)


@functools.lru_cache(maxsize=16)  # bounded: a process that switches homes (tests do) must not keep every client
def _store_named(home: str, url: str | None, name: str) -> BaseArtifactStore:
    from cargohold.client import Client

    try:
        return Client(Path(home), url=url).get_artifact_store(name)
    except NotRegisteredError as exc:
        raise NotRegisteredError(f"{exc} For a local path whose name holds a colon, write ./{name}:...") from None


def _active_store() -> BaseArtifactStore:
    """The active stack's store, built once per process like a named one."""
    from cargohold.client import Client
    from cargohold.components import StackComponentType

    stack = Client().active_stack
    component = stack.record.components.get(StackComponentType.ARTIFACT_STORE.value)
    return store_named(component.name) if component is not None else stack.artifact_store


def _in_store(store: BaseArtifactStore, inside: str) -> Location:
    """The full path of ``inside`` (relative to the root) in ``store``; ``..`` may not climb above the root."""
    parts = normalize(inside)
    if parts is None:
        raise OutsideStoreError(
            f"{inside!r} climbs above the root of the artifact store {store.name or store.path!r}; "
            "give a path inside the store."
        )
    return Location(store, "/".join((store.path.rstrip("/"), *parts)) if parts else store.path)
