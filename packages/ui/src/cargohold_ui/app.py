"""The viewer: a Starlette app over the registry, behind a token.

Each store is built server-side from its registered config, secrets resolved here and never sent; each
path goes through the store's sandbox; and every byte a store holds is served under a CSP ``sandbox``
policy, so an artifact's HTML (shown in a sandboxed iframe) runs in an origin of its own and can read
neither the viewer's cookie nor its pages.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import json
import mimetypes
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlencode

import nh3
from jinja2 import Environment, PackageLoader
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from cargohold.plugin import (
    METADATA,
    STAGING_SUFFIX,
    BaseArtifactStore,
    CargoholdError,
    Client,
    Location,
    NotRegisteredError,
    OutsideStoreError,
    VisualizationFile,
    in_named_store,
    list_visualizations,
    load_metadata,
)

__all__ = ["FILE_POLICY", "PAGE_POLICY", "PAGE_SIZE", "VIEW_POLICY", "byte_range", "create_app"]

#: Entries of a folder shown per page.
PAGE_SIZE = 200
#: Bytes read from a store at a time while a file streams out.
CHUNK = 1 << 20
#: The most of a markdown, CSV or JSON view read to show it in the page (the whole is a download away).
PREVIEW_BYTES = 256 << 10
CSV_ROWS = 100
#: The viewer's own pages: no script at all, nothing from elsewhere, never framed by another page.
PAGE_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
#: A file from a store, opened directly: an origin of its own, and no script runs.
FILE_POLICY = "sandbox"
#: An HTML visualization in the viewer's iframe: its scripts run, in an origin of their own.
VIEW_POLICY = "sandbox allow-scripts; frame-ancestors 'self'"
_SAFE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
#: The status of each error a request may meet, most specific first (looked up along the exception's MRO).
_STATUS: dict[type[Exception], int] = {
    NotRegisteredError: 404,
    OutsideStoreError: 403,
    FileNotFoundError: 404,
    IsADirectoryError: 400,
    NotADirectoryError: 400,
    CargoholdError: 400,
    ValueError: 400,
    OSError: 502,
}
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


class TokenAuth:
    """Every request needs the token: in the query once (the start URL), then in the cookie that answer sets."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.text = token
        self.token = token.encode()
        # Named after the token, so that two viewers on one host (cookies ignore ports) keep their own.
        self.cookie = "cargohold-ui-" + hashlib.sha256(self.token).hexdigest()[:12]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.query_params.get("token")
        if given is None and self._right(request.cookies.get(self.cookie, "")):
            await self.app(scope, receive, send)
            return
        response: Response
        if given is not None and self._right(given):
            rest = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
            # The same page without the token in its URL (and never "//host", which would leave this site).
            response = RedirectResponse("/" + quote(request.url.path.lstrip("/")) + (f"?{rest}" if rest else ""), 303)
            response.set_cookie(self.cookie, self.text, httponly=True, samesite="strict")
        else:
            response = PlainTextResponse(
                "This viewer needs its token: open the URL that `cargohold ui` printed.\n",
                status_code=401,
                headers={"Content-Security-Policy": PAGE_POLICY, **_SAFE_HEADERS},
            )
        await response(scope, receive, send)

    def _right(self, given: str) -> bool:
        return secrets.compare_digest(given.encode(), self.token)


def byte_range(header: str | None, size: int) -> tuple[int, int, bool] | None:
    """``(start, end, partial)`` of the bytes a ``Range`` header asks for, end exclusive; None when it cannot be
    met (416). A missing, malformed or multi-part header gets the whole file, as RFC 9110 allows."""
    unit, _, spec = (header or "").partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return 0, size, False
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()) or not all(p.isdigit() for p in (first, last) if p):
        return 0, size, False
    if not first:  # the last N bytes
        length = min(int(last), size)
        return (size - length, size, True) if length else None
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or end <= start:
        return None
    return start, end, True


def create_app(token: str, home: Path | None = None) -> Starlette:
    """The viewer over the registry in ``home`` (default: ``CARGOHOLD_HOME``); every request needs ``token``."""
    pages = Environment(loader=PackageLoader("cargohold_ui"), autoescape=True)
    pages.filters["url"] = lambda path: quote(str(path), safe="/")
    where = str(home) if home is not None else None

    def page(template: str, code: int = 200, **values: Any) -> HTMLResponse:
        html = pages.get_template(template).render(**values)
        return HTMLResponse(html, code, headers={"Content-Security-Policy": PAGE_POLICY, **_SAFE_HEADERS})

    async def locate(request: Request) -> Location:
        name, inside = request.path_params["store"], request.path_params.get("path", "")
        return await run_in_threadpool(in_named_store, name, inside, where)

    async def index(request: Request) -> Response:
        client = Client(home)
        stores = await run_in_threadpool(client.components, "artifact_store")
        stacks = await run_in_threadpool(client.stacks)
        return page(
            "index.html",
            stores=[{"name": s.name, "flavor": s.flavor, "path": s.config.get("path", "")} for s in stores],
            stacks=[
                {"name": s.name, "active": s.active, "store": s.components["artifact_store"].name}
                for s in stacks
                if "artifact_store" in s.components
            ],
        )

    async def browse(request: Request) -> Response:
        location = await locate(request)
        entries = await run_in_threadpool(location.store.scandir, location.path)
        names = [(e.path.rstrip("/").rpartition("/")[2], e) for e in entries]
        store, inside = request.path_params["store"], request.path_params["path"].strip("/")
        crumbs = _crumbs(inside)
        if any(name == METADATA for name, _ in names):
            return await artifact(location, store, inside, crumbs)
        shown = [(n, e) for n, e in names if not n.endswith(STAGING_SUFFIX)]
        start = _start(request.query_params.get("start"), len(shown))
        return page(
            "folder.html",
            store=store,
            inside=inside,
            crumbs=crumbs,
            entries=[(n, e.type == "directory", e.size) for n, e in shown[start : start + PAGE_SIZE]],
            start=start,
            total=len(shown),
            page_size=PAGE_SIZE,
        )

    async def artifact(location: Location, store: str, inside: str, crumbs: list[tuple[str, str]]) -> Response:
        metadata = await run_in_threadpool(load_metadata, location)
        views = await run_in_threadpool(list_visualizations, location)
        shown = [await run_in_threadpool(_view, location.store, view, f"{inside}/visualizations") for view in views]
        return page("artifact.html", store=store, inside=inside, crumbs=crumbs, metadata=metadata, views=shown)

    async def raw(request: Request) -> Response:
        return await _file(await locate(request), request, FILE_POLICY)

    async def view(request: Request) -> Response:
        return await _file(await locate(request), request, VIEW_POLICY)

    async def failed(request: Request, exc: Exception) -> Response:
        status = next(_STATUS[c] for c in type(exc).__mro__ if c in _STATUS)
        return page("error.html", status, status=status, message=_sentence(exc))

    routes = [
        Route("/", index),
        Route("/s/{store}/{path:path}", browse),
        Route("/raw/{store}/{path:path}", raw),
        Route("/view/{store}/{path:path}", view),
    ]
    app = Starlette(routes=routes, exception_handlers=dict.fromkeys(_STATUS, failed))
    app.add_middleware(TokenAuth, token=token)
    return app


async def _file(location: Location, request: Request, policy: str) -> Response:
    """The file at ``location``, streamed a chunk at a time, with HTTP range support."""
    store = location.store
    stat = await run_in_threadpool(store.stat, location.path)
    if stat.type != "file":
        raise IsADirectoryError(errno.EISDIR, "is a folder; browse it instead", location.path)
    name = location.path.rpartition("/")[2]
    headers = {"Accept-Ranges": "bytes", "Content-Security-Policy": policy, **_SAFE_HEADERS}
    span = byte_range(request.headers.get("range"), stat.size)
    if span is None:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{stat.size}"})
    start, end, partial = span
    if partial:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{stat.size}"
    if request.query_params.get("download"):
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    headers["Content-Length"] = str(end - start)
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    opened: IO[bytes] = await run_in_threadpool(store.open, location.path, "rb")
    return StreamingResponse(
        _chunks(opened, start, end - start), 206 if partial else 200, headers=headers, media_type=media_type
    )


async def _chunks(opened: IO[bytes], start: int, length: int) -> AsyncIterator[bytes]:
    """``length`` bytes of an open file from ``start``, read in a worker thread a chunk at a time; closes it."""
    try:
        if start:
            await run_in_threadpool(opened.seek, start)
        while length > 0:
            data = await run_in_threadpool(opened.read, min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data
    finally:
        await run_in_threadpool(opened.close)


def _view(store: BaseArtifactStore, view: VisualizationFile, folder: str) -> dict[str, Any]:
    """What the artifact page shows of one visualization: a link for images and HTML, the content of the rest."""
    shown: dict[str, Any] = {"name": view.name, "kind": view.kind, "media_type": view.media_type}
    shown["path"] = f"{folder}/{view.path.rpartition('/')[2]}"
    if view.kind in ("image", "html"):
        return shown
    with store.open(view.path, "rb") as f:
        data = f.read(PREVIEW_BYTES + 1)
    shown["cut"] = len(data) > PREVIEW_BYTES
    text = data[:PREVIEW_BYTES].decode("utf-8", "replace")
    shown.update(_RENDER[view.kind](text, shown["cut"]))
    return shown


def _markdown_html(text: str, cut: bool) -> dict[str, Any]:
    """Markdown without raw HTML, cleaned again by nh3: no script, handler or ``javascript:`` link survives."""
    return {"html": Markup(nh3.clean(_markdown.render(text)))}


def _csv_rows(text: str, cut: bool) -> dict[str, Any]:
    return {"rows": list(csv.reader(text.splitlines()[: CSV_ROWS + 1]))}


def _json_text(text: str, cut: bool) -> dict[str, Any]:
    if not cut:
        try:
            return {"text": json.dumps(json.loads(text), indent=2)}
        except ValueError:
            pass
    return {"text": text}


_RENDER: Mapping[str, Callable[[str, bool], dict[str, Any]]] = {
    "markdown": _markdown_html,
    "csv": _csv_rows,
    "json": _json_text,
}


def _crumbs(inside: str) -> list[tuple[str, str]]:
    """Each folder above and including ``inside``: its name and its path in the store."""
    parts = [p for p in inside.split("/") if p]
    return [(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)]


def _start(given: str | None, total: int) -> int:
    """The first entry of the page asked for, kept inside the listing."""
    try:
        start = int(given or 0)
    except ValueError:
        return 0
    return max(0, min(start - start % PAGE_SIZE, max(total - 1, 0) // PAGE_SIZE * PAGE_SIZE))


def _sentence(exc: Exception) -> str:
    """An error as one sentence for the page: an OSError names its path and says what is wrong."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename and not isinstance(exc, CargoholdError):
        return f"{exc.filename}: {exc.strerror}."
    text = str(exc).strip() or type(exc).__name__
    return text if text.endswith(".") else f"{text}."
