"""The s3 store: the shared fsspec store over s3fs, with bounded retries, standard errors and create-only writes.

The only module of the plugin that imports s3fs and botocore; cargohold reaches it through the flavor's
``implementation_source`` when a store is first built.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, cast

import aiohttp
from botocore import exceptions as boto
from fsspec.asyn import sync_wrapper
from s3fs import S3FileSystem

from cargohold.plugin import FsspecArtifactStore, PartUpload, Reader, UploadRecord, apply_deadline, mapped_errors
from cargohold_s3.flavor import S3ArtifactStoreConfig, S3ArtifactStoreSettings

__all__ = ["S3ArtifactStore", "standard_error"]

logger = logging.getLogger(__name__)

_TIMEOUTS = (boto.ConnectTimeoutError, boto.ReadTimeoutError)
_UNREACHABLE = (boto.ConnectionError, boto.HTTPClientError)
#: The largest object CopyObject copies in one request.
_COPY_LIMIT = 5 << 30
#: Connections the store's one client may keep open: every ``--jobs`` thread shares that client, and botocore's
#: default pool of 10 held ``cp``'s default 16 jobs to 10 requests at once. Connections open only as they are used.
_CONNECTIONS = 64
_NO_CREDENTIALS = (boto.NoCredentialsError, boto.PartialCredentialsError, boto.CredentialRetrievalError)


def standard_error(exc: Exception, endpoint: str, credentials: str) -> Exception:
    """The built-in exception a botocore or aiohttp failure stands for, naming the endpoint and, for a refused
    login, the ``credentials`` used (their source in words, never a value).

    Anything else comes back unchanged. Applied by ``mapped_errors`` around each request, and by the store's
    ``translate_error`` to what escapes them.
    """
    if isinstance(exc, _TIMEOUTS):
        return TimeoutError(
            f"the S3 endpoint {endpoint} did not answer in time ({exc}); "
            "check that it is up, or raise connect_timeout or read_timeout in the store's config"
        )
    if isinstance(exc, _UNREACHABLE):
        return ConnectionError(f"cannot reach the S3 endpoint {endpoint}: {exc}")
    if isinstance(exc, aiohttp.ClientError):  # a response body that broke off: aiohttp's, not botocore's
        return ConnectionError(f"the connection to the S3 endpoint {endpoint} broke: {exc}")
    if isinstance(exc, _NO_CREDENTIALS):
        return PermissionError(
            f"no usable credentials for the S3 endpoint {endpoint} ({type(exc).__name__}) in {credentials}; give "
            "key and secret in the store's config, or set up the AWS default chain"
        )
    if type(exc) is PermissionError:  # s3fs's for a refused login or request: say whose it was
        return PermissionError(f"the S3 endpoint {endpoint} refused {credentials}: {exc}")
    return exc


def _is_md5(etag: str) -> bool:
    """Whether an ETag is a plain MD5 of the content (a multipart upload's is not)."""
    return len(etag) == 32 and all(c in "0123456789abcdef" for c in etag)


class _Body:
    """A response body that breaks off as a ``ConnectionError`` and times out as botocore's ``ReadTimeoutError``.

    aiobotocore's timeout is also a ``TimeoutError``, which fsspec strips to a bare ``FSTimeoutError`` on the
    way out of its event loop, and on which s3fs's read path then fails with IndexError.
    """

    def __init__(self, body: Any, fs: _S3FileSystem) -> None:
        self._body, self._fs = body, fs

    async def read(self, *args: Any, **kwargs: Any) -> bytes:
        with mapped_errors(self._fs.standard_error, keep=_TIMEOUTS):
            try:
                return cast(bytes, await self._body.read(*args, **kwargs))
            except TimeoutError as exc:
                raise boto.ReadTimeoutError(endpoint_url=self._fs.endpoint, error=exc) from exc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._body, name)


def _no_continue(params: dict[str, Any], **_: Any) -> None:
    """Take out the ``Expect: 100-continue`` botocore puts on every upload of a file-like body."""
    params["headers"].pop("Expect", None)


class _S3FileSystem(S3FileSystem):  # type: ignore[misc]  # s3fs ships no type hints
    """s3fs raising built-in exceptions that name the endpoint, from open files as well as from the store's methods.

    Every request, an open file's part uploads and range reads included, goes through ``_call_s3``. Timeouts
    stay botocore's (OSErrors naming the URL) for the reason ``_Body`` gives; the store's ``translate_error``
    makes them TimeoutErrors once they are out of fsspec's event loop.
    """

    # botocore's standard retry mode (the config's retries) is the one retry layer: s3fs's own loop would multiply it.
    retries = 1
    #: The config's ``credentials_used``, for the messages of refused logins.
    credentials_used = "the store's credentials"

    @property
    def endpoint(self) -> str:
        """The URL requests go to, once the client exists; the configured one (or AWS's default) before."""
        client = self._s3
        if client is not None:
            return cast(str, client.meta.endpoint_url)
        return cast(str, self.endpoint_url or "the default AWS S3 endpoint")

    def standard_error(self, exc: Exception) -> Exception:
        """``standard_error`` for this filesystem's endpoint and credentials."""
        return standard_error(exc, self.endpoint, self.credentials_used)

    async def set_session(self, *args: Any, **kwargs: Any) -> Any:
        """s3fs's client, which sends no ``Expect: 100-continue``: aiohttp starts the read timeout only once a body
        is sent, and a body held back for a continue that never comes left an upload to a hung server unbounded."""
        client = await super().set_session(*args, **kwargs)
        client.meta.events.register_last("before-call.s3", _no_continue, unique_id="cargohold-no-continue")
        return client

    async def _call_s3(self, method: str, *args: Any, **kwargs: Any) -> Any:
        with mapped_errors(self.standard_error, keep=_TIMEOUTS):
            response = await super()._call_s3(method, *args, **kwargs)
        if method == "get_object":
            response["Body"] = _Body(response["Body"], self)
        return response

    # S3File calls fs.call_s3, which s3fs binds to its own _call_s3 rather than looking it up on the instance.
    call_s3 = sync_wrapper(_call_s3)


def _upload_record(fs: _S3FileSystem, bucket: str, key: str) -> UploadRecord:
    """The records of this machine's writers of ``key``; AWS's endpoint depends on the region, but a bucket's
    name is unique across it."""
    return UploadRecord(str(fs.endpoint_url or "AWS"), bucket, key)


class _MultipartUpload(PartUpload[dict[str, Any]]):
    """An S3 multipart upload, or one PutObject for a source that fits in a part; create-only sends If-None-Match.

    A key's unfinished upload whose writer on this machine died (its ``UploadRecord`` is unlocked) is taken up:
    each part whose size and MD5 ETag match the file's is kept, the others are sent again, and the completion
    names every part by its ETag, which S3 checks, so the object is never a mix of two versions of the file.
    A live writer's upload is never touched: two writers of a key each send their own, and the last to finish wins.
    """

    max_parts = 10_000

    def __init__(
        self,
        store: S3ArtifactStore,
        fs_path: str,
        create_only: bool,
        size: int,
        metadata: dict[str, str],
        resume: bool = True,
    ) -> None:
        super().__init__(size, store.upload_part_size, store.upload_concurrency)
        self._resume = resume
        fs = cast(_S3FileSystem, store.filesystem)
        bucket, key, _ = fs.split_path(fs_path)
        self._fs = fs
        self._object = {"Bucket": bucket, "Key": key}
        self._metadata = {"Metadata": metadata} if metadata else {}
        self._match = {"IfNoneMatch": "*"} if create_only else {}
        self._upload_id = ""
        #: The parts an interrupted upload sent, by number: their size and ETag.
        self._sent: dict[int, tuple[int, str]] = {}
        self._record = _upload_record(fs, bucket, key)

    @property
    def resumed(self) -> bool:
        """Whether this took up an interrupted upload, whose object metadata is what that one began with."""
        return bool(self._sent)

    async def whole(self, data: bytes) -> None:
        await self._fs._call_s3("put_object", Body=data, **self._object, **self._match, **self._metadata)

    async def start(self) -> None:
        """Take up the newest unfinished upload of this key that a dead writer left and that holds parts, else begin
        one; either is recorded as this writer's until it is finished or aborted."""
        try:
            dead = self._record.dead() if self._resume else set()
            if dead:
                try:
                    self._upload_id, self._sent = await self._unfinished(dead)
                except OSError as exc:  # a policy without s3:ListBucketMultipartUploads, a service without the call
                    logger.debug(
                        "Not resuming the upload of %s: its unfinished uploads cannot be listed (%s)",
                        self._object["Key"],
                        exc,
                    )
            if self._upload_id:
                logger.info(
                    "Resuming the upload of %s: %d parts were sent before.", self._object["Key"], len(self._sent)
                )
            else:
                started = await self._fs._call_s3("create_multipart_upload", **self._object, **self._metadata)
                self._upload_id = started["UploadId"]
            self._record.keep(self._upload_id)
        except BaseException:
            self._record.drop()
            raise

    async def _unfinished(self, dead: set[str]) -> tuple[str, dict[int, tuple[int, str]]]:
        """The newest unfinished upload of this key among the ``dead`` writers' that holds parts: its id, and each
        part's size and ETag by number; ``("", {})`` when there is none."""
        found = []
        listing: dict[str, Any] = {"Bucket": self._object["Bucket"], "Prefix": self._object["Key"]}
        while True:
            page = await self._fs._call_s3("list_multipart_uploads", **listing)
            found += [u for u in page.get("Uploads", []) if u["Key"] == self._object["Key"] and u["UploadId"] in dead]
            if not page.get("IsTruncated"):
                break
            listing.update(KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"])
        for upload in sorted(found, key=lambda u: u["Initiated"], reverse=True):
            sent = await self._parts_sent(upload["UploadId"])
            if sent:
                return upload["UploadId"], sent
        return "", {}

    async def _parts_sent(self, upload_id: str) -> dict[int, tuple[int, str]]:
        """Each part of an unfinished upload by number, with its size and ETag; none once it is gone."""
        sent = {}
        listing: dict[str, Any] = {**self._object, "UploadId": upload_id}
        while True:
            try:
                page = await self._fs._call_s3("list_parts", **listing)
            except FileNotFoundError:  # finished or aborted meanwhile
                return {}
            sent.update({p["PartNumber"]: (p["Size"], p["ETag"]) for p in page.get("Parts", [])})
            if not page.get("IsTruncated"):
                return sent
            listing["PartNumberMarker"] = page["NextPartNumberMarker"]

    async def kept(self, number: int, data: bytes) -> dict[str, Any] | None:
        """A part sent before whose ETag is the MD5 of ``data`` (not so under SSE-KMS or SSE-C: sent again)."""
        size, etag = self._sent.get(number, (-1, ""))
        if size != len(data):
            return None
        md5 = await asyncio.to_thread(lambda: hashlib.md5(data, usedforsecurity=False).hexdigest())
        return {"PartNumber": number, "ETag": etag} if etag.strip('"') == md5 else None

    async def part(self, number: int, data: bytes) -> dict[str, Any]:
        sent = await self._fs._call_s3(
            "upload_part", PartNumber=number, UploadId=self._upload_id, Body=data, **self._object
        )
        return {"PartNumber": number, "ETag": sent["ETag"]}

    async def finish(self, parts: list[dict[str, Any]]) -> None:
        await self._fs._call_s3(
            "complete_multipart_upload",
            UploadId=self._upload_id,
            MultipartUpload={"Parts": parts},
            **self._object,
            **self._match,
        )
        self._record.drop()

    async def abort(self) -> None:
        try:
            await self._fs._call_s3("abort_multipart_upload", UploadId=self._upload_id, **self._object)
        finally:
            self._record.drop()  # an upload left behind by a failed abort is cleanup's, not a rerun's


class S3ArtifactStore(FsspecArtifactStore):
    """The artifact store interface over an S3 bucket; capabilities and fallbacks are in the plugin's README."""

    config: S3ArtifactStoreConfig
    settings: S3ArtifactStoreSettings | None
    #: S3 has keys, not folders: a folder exists while a key lies below it.
    supports_empty_dirs: ClassVar[bool] = False
    #: PutObject and CompleteMultipartUpload honour If-None-Match: * (AWS since 2024-08, MinIO, moto).
    conditional_write: ClassVar[bool] = True
    mtime_keys: ClassVar[tuple[str, ...]] = ("LastModified",)
    bucket_kind = "bucket"
    #: A copy's source mtime is user metadata, sent with the upload; listings lack it, a HEAD has it.
    keeps_mtime: ClassVar[bool] = True
    listing_has_metadata: ClassVar[bool] = False

    def _make_filesystem(self) -> _S3FileSystem:
        config = self.config
        client_kwargs = dict(config.client_kwargs)
        config_kwargs: dict[str, Any] = {
            "connect_timeout": config.connect_timeout,
            "read_timeout": config.read_timeout,
            # botocore's own "max_attempts" counts only the retries; "total_max_attempts" counts the first try too.
            "retries": {"total_max_attempts": config.retries + 1, "mode": "standard"},
            "max_pool_connections": _CONNECTIONS,
        }
        if config.region:
            config_kwargs["region_name"] = config.region
        config_kwargs.update(config.config_kwargs)
        additional = dict(config.s3_additional_kwargs)
        if self.settings is not None:
            additional.update(self.settings.s3_additional_kwargs)
        filesystem = _S3FileSystem(
            anon=config.credentials_source == "anonymous",
            key=config.key,
            secret=config.secret,
            token=config.token,
            endpoint_url=config.endpoint_url,
            client_kwargs=client_kwargs,
            config_kwargs=config_kwargs,
            s3_additional_kwargs=additional,
            # Listings are not cached: other processes write to the same bucket.
            use_listings_cache=False,
            # Each store owns its client: two stores with different credentials never share one.
            skip_instance_cache=True,
        )
        filesystem.credentials_used = config.credentials_used
        apply_deadline(filesystem, config.deadline, f"the S3 endpoint {filesystem.endpoint}")
        return filesystem

    def translate_error(self, exc: Exception) -> BaseException:
        """Timeouts, which the filesystem leaves as botocore raises them (see ``_Body``), made standard."""
        return cast(_S3FileSystem, self.filesystem).standard_error(exc)

    def _open_staged(self, fs_path: str, mode: str) -> tuple[Any, Callable[[], None], Callable[[], None]]:
        """Publish on close, as the base does, mending where s3fs would break ``"x"`` or leave an upload behind.

        s3fs commits an empty file through ``touch``, which drops If-None-Match, so an empty exclusive
        write is a conditional put instead. A completion that fails (a refused ``"x"``, a lost connection)
        leaves the multipart upload behind in s3fs, so it is aborted here.
        """
        fs = cast(_S3FileSystem, self.filesystem)
        raw = fs.open(fs_path, mode)

        def abort() -> None:
            raw.closed = True  # first: a close() from __del__ must never commit what was written so far
            try:
                raw.discard()  # aborts the multipart upload, when one was started
            except OSError as exc:
                logger.warning(
                    "Could not abort the multipart upload of %s (%s); a bucket lifecycle rule that aborts "
                    "incomplete multipart uploads will remove its parts.",
                    fs_path,
                    exc,
                )

        def publish() -> None:
            if "x" in mode and raw.tell() == 0:
                abort()
                fs.pipe_file(fs_path, b"", mode="create")
                return
            try:
                raw.close()
            except BaseException:
                abort()
                raise

        return raw, publish, abort

    def _upload(self, fs_path: str, reader: Reader, size: int, mode: str, metadata: dict[str, str]) -> None:
        """A multipart upload whose parts go up while the next are read, or an interrupted one's remaining parts;
        S3 has no call that shows or changes a begun upload's metadata, so a resumed one's is set afterwards, by a
        copy onto itself: only objects that CopyObject takes are resumed when they carry metadata."""
        resume = not metadata or size <= _COPY_LIMIT
        upload = _MultipartUpload(self, fs_path, "x" in mode, size, metadata, resume)
        self._run(upload.send(reader))
        if upload.resumed and metadata:
            self._add_metadata(fs_path, metadata)

    def _hashes(self, info: dict[str, Any]) -> tuple[str | None, str | None]:
        """An ETag is the content's MD5 for a single-part upload (a multipart one's ends with "-N")."""
        etag = str(info.get("ETag") or "").strip('"')
        return (etag, None) if _is_md5(etag) else (None, None)

    def _listing_pages(self, fs_path: str) -> Iterator[list[dict[str, Any]]]:
        """ListObjectsV2's pages as they arrive (a thousand keys each), as ``fs.find`` names and sizes them, so a
        copy starts on the first page while the service sends the next."""
        fs = cast(_S3FileSystem, self.filesystem)
        bucket, key, _ = fs.split_path(fs_path)
        listing: dict[str, Any] = {"Bucket": bucket, "Prefix": f"{key.rstrip('/')}/" if key else "", **fs.req_kw}
        if self.listing_page_size:
            listing["MaxKeys"] = self.listing_page_size
        while True:
            page = self._run(fs._call_s3("list_objects_v2", **listing))
            found = page.get("Contents", [])
            for info in found:
                info.update(name=f"{bucket}/{info['Key']}", type="file", size=info["Size"])
            yield found
            if not page.get("IsTruncated"):
                return
            listing["ContinuationToken"] = page["NextContinuationToken"]

    def _info_with_metadata(self, fs_path: str) -> dict[str, Any]:
        """One HEAD of an object: ``fs.info``'s keys, and its user metadata (which s3fs's info drops)."""
        fs = cast(_S3FileSystem, self.filesystem)
        bucket, key, _ = fs.split_path(fs_path)
        out = self._run(fs._call_s3("head_object", Bucket=bucket, Key=key))
        return {
            "ETag": out.get("ETag", ""),
            "LastModified": out.get("LastModified"),
            "size": out["ContentLength"],
            "ContentType": out.get("ContentType"),
            "metadata": out.get("Metadata") or {},
        }

    def _add_metadata(self, fs_path: str, metadata: dict[str, str]) -> None:
        """Copy the object onto itself with the metadata added, unless it holds it already (a copy inside the
        service carries its source's)."""
        info = self._info_with_metadata(fs_path)
        metadata = {**info["metadata"], **metadata}
        if metadata == info["metadata"]:
            return
        fs = cast(_S3FileSystem, self.filesystem)
        bucket, key, _ = fs.split_path(fs_path)
        kept = {"ContentType": info["ContentType"]} if info["ContentType"] else {}
        self._run(
            fs._call_s3(
                "copy_object",
                Bucket=bucket,
                Key=key,
                CopySource={"Bucket": bucket, "Key": key},
                Metadata=metadata,
                MetadataDirective="REPLACE",
                **kept,
            )
        )

    def abort_incomplete_uploads(self, path: str, before: float, dry_run: bool = False) -> list[str]:
        fs = cast(_S3FileSystem, self.filesystem)
        bucket, key, _ = fs.split_path(self._fs_path(self._parts(path)))
        prefix = f"{key.rstrip('/')}/" if key else ""
        found = []
        listing: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        while True:
            page = self._run(fs._call_s3("list_multipart_uploads", **listing))
            for upload in page.get("Uploads", []):
                if upload["Initiated"].timestamp() >= before:
                    continue
                if upload["UploadId"] in _upload_record(fs, bucket, upload["Key"]).live():
                    continue  # a writer on this machine is still sending it
                found.append(f"s3://{bucket}/{upload['Key']} (multipart upload {upload['UploadId']})")
                if not dry_run:
                    self._run(
                        fs._call_s3(
                            "abort_multipart_upload", Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                        )
                    )
            if not page.get("IsTruncated"):
                return found
            listing.update(KeyMarker=page["NextKeyMarker"], UploadIdMarker=page["NextUploadIdMarker"])
