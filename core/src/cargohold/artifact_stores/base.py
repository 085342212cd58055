"""The artifact store interface: the config every store takes, the methods every store has."""

from __future__ import annotations

import abc
import builtins
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import IO, Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, field_validator, model_validator

from cargohold._paths import split_scheme
from cargohold.components import StackComponent, StackComponentConfig, StackComponentType
from cargohold.exceptions import DeprecatedFieldWarning
from cargohold.flavors import Flavor

__all__ = [
    "STAGING_SUFFIX",
    "BaseArtifactStore",
    "BaseArtifactStoreConfig",
    "BaseArtifactStoreFlavor",
    "FileStat",
    "ObjectInfo",
    "RenamedField",
    "WalkItem",
]

WalkItem = tuple[str, list[str], list[str]]
#: Ends the hidden names stores stage writes under (``.NAME.<unique>.cargohold-tmp``): never an artifact.
STAGING_SUFFIX = ".cargohold-tmp"


@dataclass(frozen=True, slots=True)
class FileStat:
    """What ``stat`` returns on every store: the full path, bytes, kind and POSIX mtime (None where unknown)."""

    path: str
    size: int
    type: Literal["file", "directory"]
    mtime: float | None


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One file in a bulk listing: what a sync compares (``etag`` and hashes where the backend gives them)."""

    path: str
    size: int
    mtime: float | None
    etag: str | None = None
    #: Whether ``mtime`` is the file's own (a filesystem's, or one recorded with the object when it was
    #: written) rather than when the service stored it; None where the listing cannot tell (S3 lists no
    #: metadata): ``object_info`` can.
    own_mtime: bool | None = False
    #: The content's MD5 and CRC32C as the service keeps them, in hex; None where it keeps none.
    md5: str | None = None
    crc32c: str | None = None


def _http_endpoint(value: str | None) -> str | None:
    """Refuse an endpoint that is not the http(s) URL of a server now, not as a confusing error on first use."""
    if value is None:
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            f"{value!r} is not an http:// or https:// URL of a server, such as http://127.0.0.1:9000; "
            "leave it unset for the service's own endpoint"
        )
    return value.rstrip("/")


#: A config field for a custom service endpoint (an emulator, a private cloud), shared by every flavor that has one.
EndpointUrl = Annotated[str | None, AfterValidator(_http_endpoint)]


@dataclass(frozen=True, slots=True)
class RenamedField:
    """A config field's former name, still read for one release so that stores registered under it keep working.

    ``convert`` turns a value given under the old name into the new field's value, for a rename that also
    changed the meaning (``max_attempts`` counted the first try, ``retries`` does not); ``rule`` says so in words.
    A value it turns into None (``anon: false``, the old default every row holds) is dropped without a warning.
    """

    new: str
    convert: Callable[[Any], Any] | None = None
    rule: str = ""


class BaseArtifactStoreConfig(StackComponentConfig):
    """Every artifact store's config: a root ``path`` whose scheme the flavor supports."""

    #: The URL prefixes this store accepts, e.g. ``{"s3://"}``; ``""`` means a plain local path. A set is
    #: frozen when the class is made.
    SUPPORTED_SCHEMES: ClassVar[AbstractSet[str]]
    #: Former field names, each read as its new field with a ``DeprecatedFieldWarning``: ``{"old": RenamedField(...)}``.
    RENAMED_FIELDS: ClassVar[Mapping[str, RenamedField]] = {}

    path: str

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if vars(cls).get("SHARED_BASE"):  # a base that flavors' configs build on, e.g. RemoteArtifactStoreConfig
            return
        schemes = getattr(cls, "SUPPORTED_SCHEMES", None)
        if not schemes or not all(isinstance(s, str) and (s == "" or s.endswith("://")) for s in schemes):
            raise TypeError(
                f"{cls.__qualname__} must set SUPPORTED_SCHEMES to a non-empty set of prefixes such as "
                '{"s3://"} (or {""} for local paths).'
            )
        cls.SUPPORTED_SCHEMES = frozenset(schemes)

    @model_validator(mode="before")
    @classmethod
    def _read_renamed_fields(cls, values: Any) -> Any:
        """Read a field under its former name as the new one, saying which; the new name wins when both are given."""
        if not cls.RENAMED_FIELDS or not isinstance(values, Mapping):
            return values
        values = dict(values)
        for old, renamed in cls.RENAMED_FIELDS.items():
            if old not in values:
                continue
            given = values.pop(old)
            if renamed.convert is not None and renamed.convert(given) is None:
                continue
            if renamed.new in values:
                read = f"it is ignored, since {renamed.new!r} is given too"
            else:
                values[renamed.new] = renamed.convert(given) if renamed.convert else given
                shown = "" if renamed.new in cls.secret_fields() else f" = {values[renamed.new]!r}"
                read = f"it is read as {renamed.new}{shown}{f' ({renamed.rule})' if renamed.rule else ''}"
            warnings.warn(
                f"The config field {old!r} is deprecated and goes in the next release: {read}. Use {renamed.new!r} "
                "instead; updating the component stores it under the new name.",
                DeprecatedFieldWarning,
                stacklevel=2,
            )
        return values

    @field_validator("path", mode="before")
    @classmethod
    def _check_scheme(cls, value: Any) -> Any:
        """Strip quotes a shell left behind and refuse schemes this flavor does not serve."""
        if not isinstance(value, str):
            return value
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1].strip()
        scheme, rest = split_scheme(value)
        schemes = cls.SUPPORTED_SCHEMES
        if scheme not in schemes:
            shown = ", ".join(sorted(s or "a local path" for s in schemes))
            raise ValueError(f"path {value!r} is not supported by this artifact store; use {shown}")
        if scheme and not rest.strip("/"):
            raise ValueError(f"path {value!r} names no location; give a bucket, container or folder")
        return value


class BaseArtifactStore(StackComponent, abc.ABC):
    """The interface every artifact store implements; every path must stay under ``config.path``.

    Paths may be full (``s3://bucket/root/x``) or relative to the root (``x``); the paths a store
    returns are always full and keep its scheme.
    """

    TYPE: ClassVar[str] = StackComponentType.ARTIFACT_STORE
    config: BaseArtifactStoreConfig
    #: Capability flags: conformance tests that need a capability are skipped, naming the flag.
    supports_empty_dirs: ClassVar[bool] = True
    atomic_rename: ClassVar[bool] = False
    conditional_write: ClassVar[bool] = False
    #: Paths are this machine's and may hold symlinks (the kit's link tests make some with ``os.symlink``).
    supports_symlinks: ClassVar[bool] = False
    #: Whether ``set_mtime`` works (and an fsspec store's ``upload`` records ``mtime``): a sync then compares
    #: modification times for equality, not age.
    keeps_mtime: ClassVar[bool] = False

    @property
    def path(self) -> str:
        """The root every operation stays under."""
        return self.config.path

    @property
    def schemes(self) -> frozenset[str]:
        """The URL prefixes this store answers to."""
        return frozenset(self.config.SUPPORTED_SCHEMES)

    @abc.abstractmethod
    def open(self, path: str, mode: str = "r") -> IO[Any]:
        """Open a file; a write becomes visible under its name only when closed without error."""

    @abc.abstractmethod
    def copyfile(self, src: str, dst: str, overwrite: bool = False) -> None:
        """Copy one file; with ``overwrite=False`` an existing ``dst`` raises ``FileExistsError``."""

    @abc.abstractmethod
    def exists(self, path: str) -> bool:
        """Whether a file or directory exists at ``path``."""

    @abc.abstractmethod
    def glob(self, pattern: str) -> list[str]:
        """Full paths matching ``pattern`` (``*``, ``?``, ``[..]``, and ``**`` across folders), sorted."""

    @abc.abstractmethod
    def isdir(self, path: str) -> bool:
        """Whether ``path`` is a directory."""

    @abc.abstractmethod
    def listdir(self, path: str) -> list[str]:
        """Names of the entries directly in a directory, sorted."""

    @abc.abstractmethod
    def makedirs(self, path: str) -> None:
        """Create a directory and its parents; an existing directory is fine."""

    @abc.abstractmethod
    def mkdir(self, path: str) -> None:
        """Create one directory; its parent must exist."""

    @abc.abstractmethod
    def remove(self, path: str) -> None:
        """Delete one file; a missing file raises ``FileNotFoundError``."""

    @abc.abstractmethod
    def rename(self, src: str, dst: str, overwrite: bool = False) -> None:
        """Move a file or directory; with ``overwrite=False`` an existing ``dst`` raises ``FileExistsError``."""

    @abc.abstractmethod
    def rmtree(self, path: str, force: bool = False) -> None:
        """Delete a directory and everything below it; a file raises ``NotADirectoryError``. The store's own root
        is deleted only with ``force=True`` (else ``ProtectedPathError``), as a folder holding everything."""

    @abc.abstractmethod
    def stat(self, path: str) -> FileStat:
        """Size, type and modification time of a file or directory."""

    @abc.abstractmethod
    def walk(
        self, top: str, topdown: bool = True, onerror: Callable[[OSError], object] | None = None
    ) -> Iterator[WalkItem]:
        """``(dirpath, dirnames, filenames)`` like ``os.walk``; pruning ``dirnames`` works top-down."""

    @abc.abstractmethod
    def size(self, path: str) -> int:
        """A file's size in bytes, or the total of every file under a directory."""

    def list_objects(self, path: str) -> list[ObjectInfo]:
        """Every file at or below ``path``, sorted by path; one listing call on stores that have one.

        The default walks and stats each file; flavors override it with their backend's bulk listing.
        """
        top = self.stat(path)
        if top.type == "file":
            return [ObjectInfo(top.path, top.size, top.mtime, own_mtime=self.keeps_mtime)]
        found = []
        for dirpath, _, files in self.walk(top.path):
            for name in files:
                info = self.stat(f"{dirpath.rstrip('/')}/{name}")
                found.append(ObjectInfo(info.path, info.size, info.mtime, own_mtime=self.keeps_mtime))
        return sorted(found, key=lambda o: o.path)

    def iter_objects(self, path: str) -> Iterator[ObjectInfo]:
        """Every file at or below ``path`` as the listing finds it, in no set order: a transfer copies the first
        before the last is listed, and holds none of the listing. The default gives ``list_objects``; flavors
        whose backend lists a folder or a page at a time yield each as it comes."""
        yield from self.list_objects(path)

    def object_info(self, path: str) -> ObjectInfo:
        """One file as ``list_objects`` gives it, with what a listing may leave out (``own_mtime`` is never None):
        a request per file where the listing lacks metadata (S3's)."""
        return self.list_objects(path)[0]

    def set_mtime(self, path: str, mtime: float) -> None:
        """Give a file its source's modification time, so a later sync sees an edit that kept the size.

        Only stores with ``keeps_mtime`` can: a filesystem sets it, an object store records it as metadata.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot set modification times")

    def scandir(self, path: str) -> list[FileStat]:
        """The entries directly in a directory with their details, sorted; ``ls -l`` needs no ``stat`` per entry
        where a flavor lists them with details in one call. The default stats each entry."""
        top = self.stat(path).path.rstrip("/")
        return [self.stat(f"{top}/{name}") for name in self.listdir(path)]

    def can_copy_from(self, source: BaseArtifactStore) -> bool:
        """Whether ``copy_from`` can copy files of ``source`` here inside the service (same service and account)."""
        return False

    def copy_from(self, source: BaseArtifactStore, src: str, dst: str) -> None:
        """Copy the file ``src`` of ``source`` to ``dst`` here, replacing it, without the bytes passing through
        this process; only where ``can_copy_from(source)``."""
        raise NotImplementedError(f"{type(self).__name__} cannot copy from {type(source).__name__} inside a service")

    def abort_incomplete_uploads(self, path: str, before: float, dry_run: bool = False) -> list[str]:
        """Abort the uploads under ``path`` started before ``before`` (a Unix time) and never finished, which
        hold storage unseen (S3's multipart uploads), but those a live writer here holds (``UploadRecord.live``);
        what was (with ``dry_run``, would be) aborted, in words.
        None by default: most backends keep nothing of an unfinished write, or expire it themselves."""
        return []

    def fsync(self, path: str) -> None:
        """Make a written file and its folder's entry for it survive a power cut; a no-op where a write
        returns only once the service holds it (object stores)."""

    def bulk_delete(self, paths: Iterable[str]) -> dict[str, OSError]:
        """Delete many files; a file already gone counts as deleted. Returns the failures, keyed by path.

        The default removes one file at a time; flavors override it with their backend's batch delete.
        """
        failures: dict[str, OSError] = {}
        for path in paths:
            try:
                self.remove(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                failures[path] = exc
        return failures


class BaseArtifactStoreFlavor(Flavor):
    """Base of every artifact store flavor; fixes the component type."""

    type: ClassVar[str] = StackComponentType.ARTIFACT_STORE
    config_class: ClassVar[builtins.type[BaseArtifactStoreConfig]]
