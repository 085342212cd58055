"""The azure store: the shared fsspec store over adlfs (the only module of the plugin that imports it),
with adlfs adjusted in a subclass wherever it would break a promise of the interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import urllib.request
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import urlsplit

from adlfs import AzureBlobFile, AzureBlobFileSystem
from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.storage.blob import BlobBlock, ContentSettings
from azure.storage.blob.aio import BlobClient, BlobServiceClient
from fsspec.asyn import sync_wrapper

from cargohold.plugin import FsspecArtifactStore, PartUpload, Reader, apply_deadline, mapped_errors
from cargohold_azure.flavor import AzureArtifactStoreConfig

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["AzureArtifactStore", "standard_error"]

#: The config fields adlfs takes as they are.
_CREDENTIALS = ("account_name", "client_id", "tenant_id", *AzureArtifactStoreConfig.secret_fields())
#: Waits before retry n: 1.5**n s, +-0.2 s (the SDK's defaults wait 15 + 3**n s +-3 s).
_BACKOFF = {"initial_backoff": 0, "increment_base": 1.5, "random_jitter_range": 0.2}
_COPY_POLL_MAX = 5.0
#: What adlfs marks every blob it writes with (folders are marked "true").
_FILE = {"is_directory": "false"}


class AzureArtifactStore(FsspecArtifactStore):
    """Artifacts in an Azure Blob Storage container, through adlfs."""

    config: AzureArtifactStoreConfig
    supports_empty_dirs: ClassVar[bool] = False  # a folder is a name prefix; it exists while a blob is under it
    conditional_write: ClassVar[bool] = True  # If-None-Match: * on Put Block List and Copy Blob
    #: A copy's source mtime is blob metadata, sent with the upload and listed with the blob.
    keeps_mtime: ClassVar[bool] = True
    bucket_kind = "container"

    def _make_filesystem(self) -> AbstractFileSystem:
        config = self.config
        credentials: dict[str, Any] = {n: getattr(config, n) for n in _CREDENTIALS if getattr(config, n) is not None}
        if config.credentials_source != "environment":  # else adlfs reads AZURE_STORAGE_ANON, as its chain does
            credentials["anon"] = config.credentials_source == "anonymous"
        try:
            filesystem = _BlobFileSystem(
                retries=config.retries,
                connect_timeout=config.connect_timeout,
                read_timeout=config.read_timeout,
                assume_container_exists=True,  # never probe nor create containers: the root's container must exist
                use_listings_cache=False,  # another process may change the container at any time
                skip_instance_cache=True,
                **credentials,
            )
        except ValueError as exc:
            reason = str(exc.__cause__ or exc).rstrip("!.")
            raise PermissionError(  # a login that cannot happen, as on every flavor; not a config validation can see
                f"The azure artifact store {config.path!r} cannot log in with {config.credentials_used} ({reason}); "
                "set connection_string, or account_name with a credential, in its config, or "
                "AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_NAME in the environment."
            ) from exc
        filesystem.credentials_used = config.credentials_used
        apply_deadline(filesystem, config.deadline, f"Azure Blob Storage at {filesystem.endpoint}")
        return filesystem

    def _listing_pages(self, fs_path: str) -> Iterator[list[dict[str, Any]]]:
        """List Blobs' pages as they arrive (5000 names each), as adlfs's ``find`` describes them, so a copy starts
        on the first page while the service sends the next."""
        fs = cast(_BlobFileSystem, self.filesystem)
        container, prefix, _ = fs.split_path(f"{fs._strip_protocol(fs_path).strip('/')}/")
        blobs = fs.service_client.get_container_client(container).list_blobs(
            include=["metadata"], name_starts_with=prefix, results_per_page=self.listing_page_size
        )
        pages = blobs.by_page()

        async def next_page() -> list[dict[str, Any]] | None:
            try:
                page = await anext(pages)
            except StopAsyncIteration:
                return None
            return cast(list[dict[str, Any]], await fs._details([blob async for blob in page]))

        while (found := self._run(next_page())) is not None:
            yield found

    def translate_error(self, exc: Exception) -> BaseException:
        """What adlfs's methods raise, made standard (its open files and our own requests are mapped as they fail)."""
        filesystem = self._filesystem
        endpoint = filesystem.endpoint if isinstance(filesystem, _BlobFileSystem) else self.config.path
        return standard_error(exc, endpoint, self.config.credentials_used)

    def _open_staged(self, fs_path: str, mode: str) -> tuple[Any, Callable[[], None], Callable[[], None]]:
        """Refuse an ``"x"`` write at open when the blob exists, before any bytes are sent; the commit's
        ``If-None-Match: *`` still decides a race."""
        if "x" in mode and self.filesystem.exists(fs_path):
            raise FileExistsError(f"{self._full(self._parts_of_fs_path(fs_path))!r} already exists")
        return super()._open_staged(fs_path, mode)

    def _upload(self, fs_path: str, reader: Reader, size: int, mode: str, metadata: dict[str, str]) -> None:
        """Blocks staged while the next are read, then one commit; an ``"x"`` write is refused up front
        when the blob exists, and by the commit's If-None-Match in a race."""
        fs = cast(_BlobFileSystem, self.filesystem)
        if "x" in mode and fs.exists(fs_path):
            raise FileExistsError(f"{self._full(self._parts_of_fs_path(fs_path))!r} already exists")
        container, blob, _ = fs.split_path(fs_path)

        async def send() -> None:
            async with fs.service_client.get_blob_client(container, blob) as client:
                upload = _BlockUpload(client, self, "x" in mode, size, metadata)
                await upload.send(upload.hashing(reader))

        self._run(send())

    def _add_metadata(self, fs_path: str, metadata: dict[str, str]) -> None:
        """Azure replaces a blob's metadata as a whole: the rest is read first."""
        fs = cast(_BlobFileSystem, self.filesystem)
        container, blob, _ = fs.split_path(fs_path)

        async def record() -> None:
            async with fs.service_client.get_blob_client(container, blob) as client:
                kept = (await client.get_blob_properties()).metadata or {}
                await client.set_blob_metadata({**kept, **_FILE, **metadata})

        with mapped_errors(fs.standard_error):
            self._run(record())

    def _hashes(self, info: dict[str, Any]) -> tuple[str | None, str | None]:
        """The Content-MD5 Azure keeps: its own for a single Put Blob, ours for a block list (see ``_BlockUpload``)."""
        settings = info.get("content_settings")
        md5 = settings.get("content_md5") if isinstance(settings, dict) else getattr(settings, "content_md5", None)
        return (bytes(md5).hex() if md5 else None), None

    def abort_incomplete_uploads(self, path: str, before: float, dry_run: bool = False) -> list[str]:
        """Drop the blocks staged under ``path`` for names no blob was ever committed to, last staged before
        ``before``. Blocks staged to overwrite a blob that exists are not listed as such: a week ends them."""
        fs = cast(_BlobFileSystem, self.filesystem)
        container, prefix, _ = fs.split_path(self._fs_path(self._parts(path)))
        prefix = f"{prefix.rstrip('/')}/" if prefix else ""

        async def find() -> list[str]:
            found = []
            async with fs.service_client.get_container_client(container) as client:
                committed = {blob.name async for blob in client.list_blobs(name_starts_with=prefix)}
                async for blob in client.list_blobs(name_starts_with=prefix, include=["uncommittedblobs"]):
                    if blob.name in committed or blob.last_modified.timestamp() >= before:
                        continue
                    found.append(
                        f"{self._full(self._parts_of_fs_path(f'{container}/{blob.name}'))} (uncommitted blocks)"
                    )
                    if not dry_run:
                        await _drop_uncommitted(client.get_blob_client(blob.name))
            return found

        with mapped_errors(fs.standard_error):
            return self._run(find())

    def _copy_if_absent(self, src: tuple[str, ...], dst: tuple[str, ...]) -> None:
        """A server-side copy that the service refuses when ``dst`` exists: race-safe, and no bytes pass here."""
        self.filesystem.cp_file(self._fs_path(src), self._fs_path(dst), overwrite=False)


class _Hashing:
    """A reader whose bytes update ``md5`` as they pass."""

    def __init__(self, reader: Reader, md5: hashlib._Hash) -> None:
        self._reader, self._md5 = reader, md5

    def read(self, size: int = -1, /) -> bytes:
        data = self._reader.read(size)
        self._md5.update(data)
        return data


class _BlockUpload(PartUpload[str]):
    """Staged blocks and one Put Block List, or one Put Blob for a source that fits in a block.

    A block's id is its number and the MD5 of its content, so the blocks a killed process staged are found
    in the blob's uncommitted list by the rerun, which stages only the others: a block is kept only under
    the id its content gives, so a commit never mixes two versions of a file.
    """

    max_parts = 50_000

    def __init__(
        self, client: BlobClient, store: AzureArtifactStore, create_only: bool, size: int, metadata: dict[str, str]
    ) -> None:
        super().__init__(size, store.upload_part_size, store.upload_concurrency)
        self._client = client
        self._create_only = create_only
        self._metadata = {**_FILE, **metadata}
        self._md5 = hashlib.md5(usedforsecurity=False)
        #: The blocks an interrupted upload staged: their ids and sizes.
        self._staged: set[tuple[str, int]] = set()

    def hashing(self, reader: Reader) -> Reader:
        """``reader``, its bytes hashed as they pass: a block list commits with their Content-MD5, as a single
        Put Blob gets from the service, so that ``sync --checksum`` can compare it."""
        return _Hashing(reader, self._md5)

    async def whole(self, data: bytes) -> None:
        await self._client.upload_blob(data, overwrite=not self._create_only, metadata=self._metadata)

    async def start(self) -> None:
        """Find the blocks staged for this blob and never committed (they last a week, or until a commit)."""
        try:
            _, uncommitted = await self._client.get_block_list("uncommitted")
        except HttpResponseError:  # no block staged for this name (404), or a credential that may not read (403)
            return
        self._staged = {(block.id, block.size) for block in uncommitted}

    @staticmethod
    async def _block_id(number: int, data: bytes) -> str:
        """32 characters, as uuid4().hex gave before (Azure wants a blob's block ids all of one length)."""
        md5 = await asyncio.to_thread(lambda: hashlib.md5(data, usedforsecurity=False).hexdigest())
        return f"{number:05d}{md5[:27]}"

    async def kept(self, number: int, data: bytes) -> str | None:
        if not self._staged:
            return None
        block_id = await self._block_id(number, data)
        return block_id if (block_id, len(data)) in self._staged else None

    async def part(self, number: int, data: bytes) -> str:
        block_id = await self._block_id(number, data)
        await self._client.stage_block(block_id, data, length=len(data))
        return block_id

    async def finish(self, parts: list[str]) -> None:
        refuse_existing = MatchConditions.IfMissing if self._create_only else None
        await self._client.commit_block_list(
            [BlobBlock(block_id) for block_id in parts],
            metadata=self._metadata,
            match_condition=refuse_existing,
            content_settings=ContentSettings(content_md5=bytearray(self._md5.digest())),
        )

    async def abort(self) -> None:
        """Nothing to drop: the service discards blocks that no commit used after a week."""


async def _drop_uncommitted(blob: BlobClient) -> None:
    """Azure has no call that drops staged blocks, but a commit drops those it leaves out: commit an empty
    list where no blob is, then delete that empty blob unless another writer has replaced it since."""
    try:
        empty = await blob.commit_block_list([], match_condition=MatchConditions.IfMissing)
    except ResourceExistsError:  # a writer committed meanwhile, which dropped the blocks
        return
    with contextlib.suppress(ResourceModifiedError, ResourceNotFoundError):
        await blob.delete_blob(etag=str(empty["etag"]), match_condition=MatchConditions.IfNotModified)


def standard_error(exc: Exception, endpoint: str, credentials: str) -> Exception:
    """The standard exception for an Azure SDK error (adlfs wraps failed uploads in RuntimeError); else ``exc``.

    Messages name the endpoint, the service's error code and, for a refused login, the ``credentials`` used
    (their source in words), never a credential. Applied by ``mapped_errors``
    around requests, and by the store's ``translate_error`` to what escapes them.
    """
    cause = exc.__cause__ if isinstance(exc, RuntimeError) else exc
    if not isinstance(cause, AzureError):
        return exc
    what = str(cause.message or type(cause).__name__).strip().splitlines()[0]
    code = getattr(cause, "error_code", None)
    code = getattr(code, "value", code)  # the SDK gives a StorageErrorCode for some answers, a str for others
    if code:
        what = f"{what} ({code})"
    if isinstance(cause, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        return TimeoutError(f"Azure Blob Storage at {endpoint} did not answer in time: {what}")
    if isinstance(cause, ServiceRequestError | ServiceResponseError):
        return ConnectionError(f"Cannot reach Azure Blob Storage at {endpoint}: {what}")
    if isinstance(cause, ResourceExistsError):
        return FileExistsError(f"Already exists at {endpoint}: {what}")
    if isinstance(cause, ResourceNotFoundError):
        return FileNotFoundError(f"Not found at {endpoint}: {what}")
    if isinstance(cause, ClientAuthenticationError) or (
        isinstance(cause, HttpResponseError) and cause.status_code in (401, 403)
    ):
        return PermissionError(f"Azure Blob Storage at {endpoint} refused access with {credentials}: {what}")
    return exc


class _BlobFileSystem(AzureBlobFileSystem):  # type: ignore[misc]  # adlfs is untyped
    """adlfs with bounded retries and timeouts, standard errors from open files, finished copies, kept containers."""

    service_client: BlobServiceClient
    #: The config's ``credentials_used``, for the messages of refused logins.
    credentials_used = "the store's credentials"

    def __init__(self, *, retries: int, connect_timeout: float, read_timeout: float, **kwargs: Any) -> None:
        self._client_options: dict[str, Any] = {
            "retry_total": retries,
            **_BACKOFF,
            "connection_timeout": connect_timeout,
            "read_timeout": read_timeout,
        }
        if not urllib.request.getproxies():
            # azure-core's session looks for a proxy (and a .netrc) in the environment on every request: 0.9 ms of
            # CPU, a fifth of a small file's upload. Where the environment names no proxy, it is not asked again.
            self._client_options["use_env_settings"] = False
        super().__init__(**kwargs)

    def do_connect(self) -> None:
        """adlfs picks the account URL and credential (config, then environment); rebuild its client with limits."""
        super().do_connect()
        built = self.service_client
        self.service_client = BlobServiceClient(built.url, credential=built.credential, **self._client_options)

    @property
    def endpoint(self) -> str:
        """The service URL without its query, which may hold a SAS token."""
        parts = urlsplit(self.service_client.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}".rstrip("/")

    def standard_error(self, exc: Exception) -> Exception:
        """``standard_error`` for this filesystem's endpoint and credentials."""
        return standard_error(exc, self.endpoint, self.credentials_used)

    def _open(
        self, path: str, mode: str = "rb", block_size: int | None = None, cache_type: str = "readahead", **kwargs: Any
    ) -> _BlobFile:
        """adlfs's open (its read-ahead cache, the filesystem's block size) with the translating file class."""
        return _BlobFile(self, path, mode, block_size=block_size or self.blocksize, cache_type=cache_type, **kwargs)

    async def _cp_file(self, path1: str, path2: str, overwrite: bool = True, **kwargs: Any) -> None:
        """Copy on the service and wait until it is done (a copy may finish asynchronously, and a rename
        deletes the source right after); with ``overwrite=False`` the service refuses an existing target."""
        container1, blob1, _ = self.split_path(path1)
        container2, blob2, _ = self.split_path(path2)
        source = self.service_client.get_blob_client(container1, blob1).url
        refuse_existing = None if overwrite else MatchConditions.IfMissing
        async with self.service_client.get_blob_client(container2, blob2) as target:
            started = await target.start_copy_from_url(source, match_condition=refuse_existing)
            status: object = started["copy_status"]
            delay = 0.05
            while status == "pending":
                await asyncio.sleep(delay)
                delay = min(delay * 2, _COPY_POLL_MAX)
                status = (await target.get_blob_properties()).copy.status
            if status != "success":
                await target.delete_blob()
                raise OSError(f"Azure Blob Storage could not copy {path1!r} to {path2!r}: the copy ended {status}")
        self.invalidate_cache(self._parent(path2))

    cp_file = sync_wrapper(_cp_file)

    async def _rmdir(self, path: str, delimiter: str = "/", **kwargs: Any) -> None:
        """Refuse where adlfs would delete a whole container, empty or not (``fs.rm`` of a root reaches here)."""
        container, blob, _ = self.split_path(path, delimiter=delimiter)
        if not blob:
            raise PermissionError(f"cargohold never deletes the container {container!r}; use the Azure tools for that")
        await super()._rmdir(path, delimiter=delimiter, **kwargs)

    async def _rm_file(self, path: str, **kwargs: Any) -> None:
        """Say that a container is not a file, where the SDK would complain of an empty blob name."""
        if not self.split_path(path)[1]:
            raise IsADirectoryError(f"{path!r} is a container, not a file")
        await super()._rm_file(path, **kwargs)


class _BlobFile(AzureBlobFile):  # type: ignore[misc]  # adlfs is untyped
    """adlfs's blob file; its uploads and ranged reads raise the standard exceptions."""

    fs: _BlobFileSystem

    def flush(self, force: bool = False) -> None:
        with mapped_errors(self.fs.standard_error):
            super().flush(force)

    def _fetch_range(self, start: int, end: int | None = None, **kwargs: Any) -> bytes:
        with mapped_errors(self.fs.standard_error):
            data: bytes = super()._fetch_range(start, end, **kwargs)
        return data
