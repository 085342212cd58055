"""The gcs store: ``FsspecArtifactStore`` over gcsfs, the only module of this flavor that imports it.

What it adds to gcsfs: bounded retries and timeouts per store, create-only writes that GCS itself
checks (``ifGenerationMatch=0``), and backend errors turned into standard ones that name the endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import math
import random
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

import aiohttp
import google.auth.exceptions
import requests.exceptions
from gcsfs.core import GCSFileSystem
from gcsfs.extended_gcsfs import ExtendedGcsFileSystem
from gcsfs.retry import HttpError, NonRetryableError, is_retriable
from google.api_core.exceptions import GoogleAPICallError

from cargohold.plugin import FsspecArtifactStore, Reader, SizedStream, apply_deadline, mapped_errors
from cargohold_gcs.flavor import GCSArtifactStoreConfig, parse_token

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

__all__ = ["GCSArtifactStore", "standard_error"]

#: gcsfs's request without the fixed six-try retry that its class definition wraps around it (a private
#: attribute, set by the ``decorator`` package); ``_BoundedRequests._request`` retries it per store instead.
_SEND = GCSFileSystem._request.__wrapped__
#: Standard exception for an HTTP status; any other 5xx is a ``ConnectionError``.
_BY_STATUS: dict[int, type[OSError]] = {
    401: PermissionError,
    403: PermissionError,
    404: FileNotFoundError,
    408: TimeoutError,
    409: FileExistsError,
    412: FileExistsError,
    429: ConnectionError,
    504: TimeoutError,
}


def standard_error(exc: Exception, endpoint: str, credentials: str) -> Exception:
    """The standard exception for a gcsfs, aiohttp or Google error, naming the endpoint and, for a refused login,
    the ``credentials`` used (their source in words, never a value).

    Anything else comes back unchanged. Applied by ``mapped_errors`` around each request, and by the store's
    ``translate_error`` to what escapes them.
    """
    where = f"GCS at {endpoint}"
    if isinstance(exc, (HttpError, GoogleAPICallError)) and isinstance(exc.code, int):
        kind = _BY_STATUS.get(exc.code) or (ConnectionError if exc.code >= 500 else None)
        used = f" to a request with {credentials}" if kind is PermissionError else ""
        return kind(f"{where} answered HTTP {exc.code}{used}: {exc}") if kind else exc
    if type(exc) is OSError and str(exc).startswith("Forbidden"):  # gcsfs's word for HTTP 403
        return PermissionError(f"{where} refused access with {credentials}: {exc}")
    if isinstance(exc, TimeoutError):  # aiohttp's socket timeouts are TimeoutErrors too
        return TimeoutError(f"{where} did not answer in time ({str(exc) or type(exc).__name__})")
    if isinstance(exc, (aiohttp.ClientConnectionError, requests.exceptions.ConnectionError)):
        return ConnectionError(f"cannot reach {where}: {str(exc) or type(exc).__name__}")
    if isinstance(exc, google.auth.exceptions.TransportError):
        return ConnectionError(f"{where}: cannot reach the token endpoint of {credentials}")
    if isinstance(exc, (NonRetryableError, google.auth.exceptions.GoogleAuthError)):
        return PermissionError(f"{where} could not log in with {credentials} ({type(exc).__name__})")
    return exc


def _backoff(attempt: int) -> float:
    """Seconds before try ``attempt + 1``: about 0.5, 1, 2, ... (at most 8), jittered so clients spread out."""
    return min(0.5 * 2.0 ** (attempt - 1), 8.0) * random.uniform(0.5, 1.0)


class _BoundedRequests:
    """Makes a gcsfs class try each request ``retries + 1`` times at most, then raise a standard error."""

    _location: str
    requests_timeout: aiohttp.ClientTimeout
    #: The config's ``credentials_used``, for the messages of refused logins.
    credentials_used = "the store's credentials"

    def __init__(self, *args: Any, retries: int = 2, **kwargs: Any) -> None:
        self.attempts = retries + 1
        super().__init__(*args, **kwargs)

    async def _request(self, *args: Any, **kwargs: Any) -> Any:
        attempt = 1
        with mapped_errors(self.standard_error):
            while True:
                try:
                    return await _SEND(self, *args, **kwargs)
                except Exception as exc:
                    if attempt < self.attempts and is_retriable(exc):
                        _clear_locals(exc)  # its frames hold the request's body: see _let_go_of_failed_chunks
                        await asyncio.sleep(_backoff(attempt))
                        attempt += 1
                        continue
                    raise

    async def _request_once(self, *args: Any, **kwargs: Any) -> Any:
        """One try of a request whose body cannot be sent twice (a stream)."""
        with mapped_errors(self.standard_error):
            return await _SEND(self, *args, **kwargs)

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        file = super()._open(path, mode, **kwargs)  # type: ignore[misc]
        if "r" not in mode:
            _let_go_of_failed_chunks(file)
        return file

    @property
    def endpoint(self) -> str:
        """The JSON API's base URL requests go to: the name every flavor's filesystem gives its endpoint."""
        return self._location

    @property
    def stall(self) -> float:
        """Seconds a streamed upload may wait for the server to take its next bytes: the read timeout."""
        return self.requests_timeout.sock_read or math.inf

    def standard_error(self, exc: Exception) -> Exception:
        """``standard_error`` for this filesystem's endpoint and credentials."""
        return standard_error(exc, self.endpoint, self.credentials_used)

    async def _upload_sized(
        self, bucket: str, key: str, body: SizedStream, create_only: bool, metadata: dict[str, str]
    ) -> None:
        """One multipart upload of metadata and ``body``, streamed; GCS and fake-gcs-server alike refuse it
        atomically with ``ifGenerationMatch=0``, and a body cut off midway creates nothing."""
        boundary = uuid.uuid4().hex  # never found in the data by chance, as gcsfs's fixed one could be
        resource = json.dumps({"name": key, "metadata": metadata} if metadata else {"name": key})
        head = (
            f"--{boundary}\nContent-Type: application/json; charset=UTF-8\n\n{resource}\n"
            f"--{boundary}\nContent-Type: application/octet-stream\n\n"
        ).encode()
        tail = f"\n--{boundary}--".encode()

        async def parts() -> AsyncIterator[bytes]:
            yield head
            async for chunk in body:
                yield chunk
            yield tail

        headers = {
            "Content-Type": f'multipart/related; boundary="{boundary}"',
            "Content-Length": str(len(head) + body.size + len(tail)),
        }
        condition = {"ifGenerationMatch": "0"} if create_only else {}
        url = f"{self.endpoint}/upload/storage/v1/b/{quote(bucket)}/o"
        try:
            request = dict(uploadType="multipart", headers=headers, data=parts(), **condition)
            await body.sent_by(self._request_once("POST", url, **request), self.stall, f"GCS at {self.endpoint}")
        except Exception:
            if body.error is not None:  # the source's own failure, not the connection that broke because of it
                raise body.error from None
            raise


def _let_go_of_failed_chunks(file: Any) -> None:
    """gcsfs sends each chunk of a write as a view of the file's buffer; when the send fails, the frames in the
    error's traceback hold that view until the error is collected, and collecting it makes Python 3.13's BytesIO
    report an unraisable BufferError (CPython gh-111331). Clearing those frames' locals lets go of the view now."""
    upload_chunk = file._upload_chunk

    def _upload_chunk(final: bool = False) -> Any:
        try:
            return upload_chunk(final)
        except BaseException as exc:
            _clear_locals(exc)
            raise

    file._upload_chunk = _upload_chunk


def _clear_locals(exc: BaseException) -> None:
    """Clear the locals of the finished frames in the tracebacks of ``exc``, its causes and its contexts."""
    pending, seen = [exc], set()
    while pending:
        error = pending.pop()
        if id(error) not in seen:
            seen.add(id(error))
            traceback.clear_frames(error.__traceback__)  # skips running frames, such as the catching one
            pending += [e for e in (error.__cause__, error.__context__) if e is not None]


#: Upload block: gcsfs's 5 MiB makes ~40 requests per 200 MB; 16 MiB makes 13 and keeps memory flat. Reads
#: take the store's ``read_block_size`` instead.
_UPLOAD_BLOCK = 16 * 2**20


class _PlainGCSFileSystem(_BoundedRequests, GCSFileSystem):  # type: ignore[misc]
    """gcsfs's filesystem over the JSON API alone: what emulators and most buckets need."""


class _ExtendedGCSFileSystem(_BoundedRequests, ExtendedGcsFileSystem):  # type: ignore[misc]
    """gcsfs's filesystem for zonal and hierarchical-namespace buckets (asks gRPC for each bucket's layout)."""


class _CreateOnlyUpload(io.BufferedIOBase):
    """An exclusive ("x") write that GCS refuses atomically when the object already exists.

    Up to ``limit`` bytes stay in memory and go up on publish as one simple upload with
    ``ifGenerationMatch=0``; past that, the write streams into a resumable upload started with the
    same condition, which GCS checks when the upload completes (and which this class checks up front too,
    for servers that ignore it there).
    """

    def __init__(self, fs: Any, path: str, limit: int) -> None:
        super().__init__()
        self._fs, self._path, self._limit = fs, path, limit
        self._buffer: io.BytesIO | None = io.BytesIO()
        self._stream: Any = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._buffer is None:
            return int(self._stream.write(data))
        written = self._buffer.write(data)
        if self._buffer.tell() > self._limit:
            # Also checked up front: fake-gcs-server ignores the condition on resumable uploads.
            if self._fs.exists(self._path):
                raise FileExistsError(f"{self._path!r} already exists")
            self._stream = self._fs.open(self._path, "xb")
            self._stream.write(self._buffer.getvalue())
            self._buffer = None
        return written

    def publish(self) -> None:
        """Create the object, or raise ``FileExistsError`` and create nothing."""
        try:
            if self._buffer is not None:
                self._fs.pipe_file(self._path, self._buffer.getvalue(), mode="create")
            else:
                self._stream.close()
        except FileExistsError as exc:
            raise FileExistsError(f"{self._path!r} already exists") from exc
        finally:
            self.close()

    def abort(self) -> None:
        """Drop the data and any resumable upload begun; nothing appears under the name."""
        try:
            if self._stream is not None:
                self._stream.discard()
        finally:
            if self._stream is not None:
                self._stream.closed = True  # even when the cancel failed: garbage collection must never commit it
            self._buffer = None
            self.close()


class GCSArtifactStore(FsspecArtifactStore):
    """Artifacts in a GCS bucket: folders are prefixes, and ``overwrite=False`` is checked by GCS itself."""

    config: GCSArtifactStoreConfig
    supports_empty_dirs = False
    conditional_write = True
    bucket_kind = "bucket"
    #: Create-only writes up to this many bytes are one simple upload, refused atomically by GCS and by
    #: fake-gcs-server alike; larger ones rely on GCS honouring the condition on resumable uploads.
    create_only_buffer: ClassVar[int] = 16 * 2**20
    #: Half the others' block: gcsfs fetches a block as up to four ranges at once and joins them, one more copy
    #: of it held (a 1 GB download peaked at 163 MB with 8 MiB blocks, 132 MB with these).
    read_block_size: ClassVar[int] = 4 << 20
    #: A copy's source mtime is custom metadata, sent with the upload and listed with the object.
    keeps_mtime: ClassVar[bool] = True

    def _make_filesystem(self) -> AbstractFileSystem:
        config = self.config
        cls = _ExtendedGCSFileSystem if config.zonal_hns_support else _PlainGCSFileSystem
        options: dict[str, Any] = {"endpoint_url": config.endpoint_url} if config.endpoint_url else {}
        if config.project:
            options["project"] = config.project
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=config.connect_timeout, sock_read=config.read_timeout)
        try:
            filesystem = cls(
                token=_login(config),
                retries=config.retries,
                requests_timeout=timeout,
                block_size=_UPLOAD_BLOCK,
                skip_instance_cache=True,  # each store keeps its own credentials and session
                use_listings_cache=False,  # another process may change the bucket at any time
                **options,
            )
        except (ValueError, KeyError, google.auth.exceptions.GoogleAuthError) as exc:
            where = config.endpoint_url or "Google Cloud Storage"
            raise PermissionError(
                f"The gcs artifact store {config.path!r} cannot log in to {where} with {config.credentials_used} "
                f"({type(exc).__name__}); give the JSON key Google issued in token, or set credentials to "
                "'environment' or 'anonymous'."
            ) from exc
        filesystem.credentials_used = config.credentials_used
        apply_deadline(filesystem, config.deadline, f"GCS at {filesystem.endpoint}")
        return filesystem

    def translate_error(self, exc: Exception) -> BaseException:
        """Errors from outside gcsfs's HTTP requests (those are mapped as they happen), e.g. gRPC calls."""
        endpoint = self._filesystem.endpoint if self._filesystem is not None else self.config.endpoint_url
        return standard_error(exc, str(endpoint or "Google Cloud Storage"), self.config.credentials_used)

    def _open_staged(self, fs_path: str, mode: str) -> tuple[Any, Callable[[], None], Callable[[], None]]:
        """Exclusive writes go through ``_CreateOnlyUpload``; others are gcsfs's, published on close."""
        if "a" in mode:  # gcsfs would warn and then replace the object: refuse instead of losing data
            raise io.UnsupportedOperation(
                f"GCS objects cannot be appended to ({fs_path!r}); read the object and write it whole again"
            )
        if "x" in mode:
            upload = _CreateOnlyUpload(self.filesystem, fs_path, self.create_only_buffer)
            return upload, upload.publish, upload.abort
        raw, publish, abort = super()._open_staged(fs_path, mode)

        def abort_for_good() -> None:
            try:
                abort()
            finally:  # a cancel that failed (server gone) must not let garbage collection commit the upload
                raw.closed = True

        return raw, publish, abort_for_good

    def _upload(self, fs_path: str, reader: Reader, size: int, mode: str, metadata: dict[str, str]) -> None:
        """A source of known size goes up in one streamed request: a resumable upload in chunks costs a
        request each, and fake-gcs-server copies everything sent so far on every chunk. A source listed
        as empty (a pipe, say) or a zonal bucket's gRPC upload goes through ``open``."""
        fs = self.filesystem
        if size == 0 or not isinstance(fs, _PlainGCSFileSystem):
            super()._upload(fs_path, reader, size, mode, metadata)
            return
        bucket, key, _ = fs.split_path(fs_path)
        try:
            self._run(fs._upload_sized(bucket, key, SizedStream(reader, size), "x" in mode, metadata))
        except FileExistsError as exc:  # gcsfs names the upload URL
            raise FileExistsError(f"{fs_path!r} already exists") from exc

    def _add_metadata(self, fs_path: str, metadata: dict[str, str]) -> None:
        """One PATCH of the object's custom metadata, which keeps the rest."""
        self.filesystem.setxattrs(fs_path, **metadata)

    def _listing_pages(self, fs_path: str) -> Iterator[list[dict[str, Any]]]:
        """The JSON API's object list a page at a time (a thousand names, its most), as ``fs.find`` describes them,
        so a copy starts on the first page while the service sends the next; a zonal bucket's as gcsfs lists it."""
        fs = self.filesystem
        if not isinstance(fs, _PlainGCSFileSystem):
            yield from super()._listing_pages(fs_path)
            return
        bucket, key, _ = fs.split_path(fs_path)
        listing: dict[str, Any] = {"delimiter": "", "maxResults": self.listing_page_size or 1000}
        if key:
            listing["prefix"] = f"{key.rstrip('/')}/"
        while True:
            page = self._run(fs._call_list_objects(bucket, **listing))
            yield [fs._process_object(bucket, item) for item in page.get("items", [])]
            if not page.get("nextPageToken"):
                return
            listing["pageToken"] = page["nextPageToken"]

    def _hashes(self, info: dict[str, Any]) -> tuple[str | None, str | None]:
        """GCS keeps both, base64-encoded (a composed object has no MD5)."""
        return _hex(info.get("md5Hash")), _hex(info.get("crc32c"))


def _hex(encoded: object) -> str | None:
    """A base64 hash as GCS lists it, in hex; None when there is none."""
    return base64.b64decode(encoded).hex() if isinstance(encoded, str) and encoded else None


def _login(config: GCSArtifactStoreConfig) -> str | dict[str, Any]:
    """What gcsfs takes for a token: the JSON key as a dict (gcsfs reads a string that is not a login method
    as a raw access token, and checks it over the network), or the login method of the source."""
    source = config.credentials_source
    if source == "config" and config.token is not None:
        return parse_token(config.token)
    return "anon" if source == "anonymous" else "google_default"
