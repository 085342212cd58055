"""The conformance suite once more through ``cargohold.fileio``, the way users reach a store by full path.

Subclass :class:`ArtifactStoreTestsThroughFileio` next to your :class:`ArtifactStoreTests` subclass: it
mounts the store your conftest's (or module's) ``store`` fixture yields and runs every kit test on a
:class:`ThroughFileio` wrapper of it, so each call goes by full path through fileio's routing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import pytest

from cargohold import fileio
from cargohold.artifact_stores import BaseArtifactStore, FileStat, ObjectInfo, WalkItem
from cargohold.exceptions import UnknownSchemeError, UnownedPathError
from cargohold_testkit.conformance import ArtifactStoreTests

__all__ = ["ArtifactStoreTestsThroughFileio", "ThroughFileio"]

#: The capability flags a wrapper copies from the store it wraps, so the kit skips what that store lacks.
_CAPABILITIES = ("supports_empty_dirs", "atomic_rename", "conditional_write", "supports_symlinks")


class ThroughFileio(BaseArtifactStore):
    """A store whose every call goes by full path through ``cargohold.fileio``, so that the kit checks that
    fileio routes it to ``mounted`` (which must be mounted) and hands back its answers and errors unchanged."""

    def __init__(self, mounted: BaseArtifactStore) -> None:
        super().__init__(mounted.config, name=f"{mounted.name} through fileio", flavor=mounted.flavor)
        self.mounted = mounted
        for flag in _CAPABILITIES:
            setattr(self, flag, getattr(mounted, flag))

    def full_path(self, path: str) -> str:
        """``path`` with a relative one made full under the root: fileio would read it as a local path."""
        if "://" in path or os.path.isabs(path):
            return path
        return f"{self.path.rstrip('/')}/{path}"

    def open(self, path: str, mode: str = "r") -> IO[Any]:
        return fileio.open(self.full_path(path), mode)

    def copyfile(self, src: str, dst: str, overwrite: bool = False) -> None:
        fileio.copyfile(self.full_path(src), self.full_path(dst), overwrite)

    def exists(self, path: str) -> bool:
        return fileio.exists(self.full_path(path))

    def glob(self, pattern: str) -> list[str]:
        return fileio.glob(self.full_path(pattern))

    def isdir(self, path: str) -> bool:
        return fileio.isdir(self.full_path(path))

    def listdir(self, path: str) -> list[str]:
        return fileio.listdir(self.full_path(path))

    def makedirs(self, path: str) -> None:
        fileio.makedirs(self.full_path(path))

    def mkdir(self, path: str) -> None:
        fileio.mkdir(self.full_path(path))

    def remove(self, path: str) -> None:
        fileio.remove(self.full_path(path))

    def rename(self, src: str, dst: str, overwrite: bool = False) -> None:
        fileio.rename(self.full_path(src), self.full_path(dst), overwrite)

    def rmtree(self, path: str, force: bool = False) -> None:
        fileio.rmtree(self.full_path(path), force=force)

    def stat(self, path: str) -> FileStat:
        return fileio.stat(self.full_path(path))

    def walk(
        self, top: str, topdown: bool = True, onerror: Callable[[OSError], object] | None = None
    ) -> Iterator[WalkItem]:
        return fileio.walk(self.full_path(top), topdown, onerror)

    def size(self, path: str) -> int:
        return fileio.size(self.full_path(path))

    def list_objects(self, path: str) -> list[ObjectInfo]:
        """fileio has no bulk functions (transfer uses the store's own), so these go to the store itself."""
        return self.mounted.list_objects(path)

    def bulk_delete(self, paths: Iterable[str]) -> dict[str, OSError]:
        return self.mounted.bulk_delete(paths)


def _through(store: BaseArtifactStore) -> ThroughFileio:
    assert isinstance(store, ThroughFileio), f"the store fixture yielded {store!r}, not a ThroughFileio"
    return store


class ArtifactStoreTestsThroughFileio(ArtifactStoreTests):
    """:class:`ArtifactStoreTests` by full path through ``cargohold.fileio``, the flavor's store mounted as a
    user would mount it; its ``store`` fixture wraps the ``store`` fixture of your conftest or module."""

    @pytest.fixture
    def store(self, store: BaseArtifactStore) -> Iterator[ThroughFileio]:
        fileio.mount(store)
        yield ThroughFileio(store)
        fileio.unmount(store)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A ``store`` fixture in the subclass would replace the wrapping one above, and every test would quietly
        run on the bare store; refuse it where it is written, saying where the fixture belongs."""
        super().__init_subclass__(**kwargs)
        if next(c for c in cls.__mro__ if "store" in vars(c)) is not ArtifactStoreTestsThroughFileio:
            raise TypeError(
                f"{cls.__qualname__} defines its own 'store' fixture, which replaces the kit's and would run every "
                "test on the bare store instead of through cargohold.fileio. Move the fixture out of the class, to "
                "module level or conftest.py: the kit's 'store' fixture wraps the one it finds there."
            )

    # A path outside a store's root is never this store's: fileio routes it to another store that
    # contains it, or refuses it (ad-hoc stores are off unless a user opts in).

    def test_dotdot_cannot_leave_the_root(self, store: BaseArtifactStore) -> None:
        through = _through(store)
        for path in ("a/../../x", "../x", self.url(store, "..", "x")):
            _assert_not_routed_to(through.full_path(path), through.mounted)
        assert fileio.store_for(through.full_path("a/../x")) is through.mounted

    def test_a_name_holding_a_scheme_never_leaves_the_root(self, store: BaseArtifactStore) -> None:
        """By full path a leading ``a://`` is a URL: fileio refuses its scheme; inside a full path it is a name."""
        through = _through(store)
        for path in ("a://../../x", "a://../../../etc/passwd"):
            with pytest.raises((UnknownSchemeError, UnownedPathError)):
                fileio.open(path, "wb")
        _assert_not_routed_to(through.full_path("x/FILE://../../../y"), through.mounted)

    def test_a_sibling_with_the_root_as_prefix_is_outside(self, store: BaseArtifactStore) -> None:
        through = _through(store)
        root = store.path.rstrip("/")
        _assert_not_routed_to(root + "2/file.bin", through.mounted)
        assert fileio.store_for(root + "/file.bin") is through.mounted


def _assert_not_routed_to(path: str, mounted: BaseArtifactStore) -> None:
    try:
        owner = fileio.store_for(path)
    except UnownedPathError:
        return
    assert owner is not mounted, f"fileio routed {path!r}, outside the root of {mounted.path!r}, to that store"
