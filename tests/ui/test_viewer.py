"""The viewer's app over local stores, through Starlette's TestClient: auth, pages, sandboxing, downloads."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient
from viewer_kit import PNG, TOKEN, logged_in, save_attacks

from cargohold import artifacts
from cargohold.client import Client
from cargohold_ui.app import PAGE_SIZE, byte_range, create_app


@pytest.fixture
def shelf(tmp_path: Path) -> Path:
    """A registered local store ``shelf``, with an artifact of each built-in kind and an attack one."""
    import pandas as pd

    root = tmp_path / "shelf"
    Client().register_component("artifact_store", "shelf", "local", {"path": str(root)})
    artifacts.save(pd.DataFrame({"height": [1.5, 2.5], "name": ["ash", "elm"]}), "shelf:runs/frame")
    artifacts.save(PNG, "shelf:runs/pixel")
    save_attacks("shelf:runs/attack")
    return root


@pytest.fixture
def client(shelf: Path) -> TestClient:
    return logged_in()


@pytest.mark.parametrize("path", ["/", "/s/shelf/", "/s/shelf/runs/frame", "/raw/shelf/runs/frame/metadata.json"])
def test_every_request_without_the_token_gets_401(shelf: Path, path: str) -> None:
    anonymous = TestClient(create_app(TOKEN))
    assert anonymous.get(path).status_code == 401
    assert anonymous.get(path, params={"token": TOKEN[:-1] + "x"}).status_code == 401
    anonymous.cookies.set("cargohold-ui-000000000000", TOKEN)
    assert anonymous.get(path).status_code == 401
    assert "open the URL that `cargohold ui` printed" in anonymous.get(path).text


def test_the_token_in_the_url_becomes_an_httponly_strict_cookie(shelf: Path) -> None:
    client = TestClient(create_app(TOKEN))
    first = client.get(f"/s/shelf/runs/?token={TOKEN}&start=0", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/s/shelf/runs/?start=0"  # the token leaves the address bar
    cookie = first.headers["set-cookie"]
    assert TOKEN in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert client.get("/s/shelf/runs/").status_code == 200
    escape = client.get(f"http://testserver//evil.example/?token={TOKEN}", follow_redirects=False)
    assert escape.headers["location"] == "/evil.example/"  # a path, never another host


def test_the_start_page_lists_stores_and_stacks(client: TestClient, shelf: Path) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<a href="/s/shelf/">shelf</a></td><td>local</td><td>' + str(shelf) in page.text
    assert '<td>default</td><td><a href="/s/default/">default</a></td><td>active</td>' in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script
    assert page.headers["content-security-policy"].startswith("default-src 'none'")


def test_an_artifact_page_renders_each_kind(client: TestClient) -> None:
    page = client.get("/s/shelf/runs/frame/").text
    assert "Artifact <span" in page
    assert "pandas.DataFrame" in page
    assert '<iframe sandbox="allow-scripts" src="/view/shelf/runs/frame/visualizations/preview.html"' in page
    assert "<td>height</td><td>name</td>" in page  # the CSV, as a table
    assert 'href="/raw/shelf/runs/frame/data/object.pickle?download=1"' in page
    pixel = client.get("/s/shelf/runs/pixel/").text
    assert '<img src="/raw/shelf/runs/pixel/visualizations/image.png" alt="image">' in pixel
    image = client.get("/raw/shelf/runs/pixel/visualizations/image.png")
    assert (image.content, image.headers["content-type"]) == (PNG, "image/png")


def test_markdown_is_sanitised(client: TestClient) -> None:
    page = client.get("/s/shelf/runs/attack/").text
    assert "<h1>Notes</h1>" in page
    for dangerous in ("<script>document.title", 'href="javascript:', "<img src=x"):
        assert dangerous not in page
    assert "&lt;img src=x onerror=" in page  # shown as the text it is


def test_artifact_html_is_served_sandboxed(client: TestClient) -> None:
    view = client.get("/view/shelf/runs/attack/visualizations/page.html")
    assert view.headers["content-security-policy"] == "sandbox allow-scripts; frame-ancestors 'self'"
    assert view.headers["content-type"].startswith("text/html")
    raw = client.get("/raw/shelf/runs/attack/visualizations/page.html")
    assert raw.headers["content-security-policy"] == "sandbox"  # opened directly: no script runs at all
    assert raw.headers["x-content-type-options"] == "nosniff"


def test_paths_cannot_leave_the_store(client: TestClient) -> None:
    for path in ("/raw/shelf/..%2F..%2Fetc%2Fpasswd", "/s/shelf/runs/%2e%2e/%2e%2e/%2e%2e/"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "climbs above the root of the artifact store" in answer.text


def test_errors_are_one_sentence_pages(client: TestClient, shelf: Path) -> None:
    missing = client.get("/s/nowhere/")
    assert missing.status_code == 404
    assert "nowhere" in missing.text
    gone = client.get("/raw/shelf/runs/nothing.bin")
    assert gone.status_code == 404
    assert f"{shelf}/runs/nothing.bin" in gone.text
    assert client.get("/raw/shelf/runs/").status_code == 400  # a folder is browsed, not downloaded


def test_a_big_folder_pages(client: TestClient, shelf: Path) -> None:
    folder = shelf / "many"
    folder.mkdir()
    for n in range(PAGE_SIZE * 2 + 50):
        (folder / f"{n:04}.txt").write_bytes(b"x")
    first = client.get("/s/shelf/many/").text
    assert f"entries 1-{PAGE_SIZE} of {PAGE_SIZE * 2 + 50}" in first
    assert first.count("?download=1") == PAGE_SIZE
    assert f'id="next" href="?start={PAGE_SIZE}"' in first
    last = client.get(f"/s/shelf/many/?start={PAGE_SIZE * 2}").text
    assert last.count("?download=1") == 50
    assert "0449.txt" in last
    assert 'id="next"' not in last
    assert client.get("/s/shelf/many/?start=junk").text.count("?download=1") == PAGE_SIZE


def test_ranged_downloads(client: TestClient, shelf: Path) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB: more than one chunk
    (shelf / "blob.bin").write_bytes(data)
    whole = client.get("/raw/shelf/blob.bin?download=1")
    assert (whole.status_code, whole.content) == (200, data)
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"] == "attachment; filename*=UTF-8''blob.bin"
    part = client.get("/raw/shelf/blob.bin", headers={"Range": "bytes=1048570-1048589"})
    assert (part.status_code, part.content) == (206, data[1048570:1048590])
    assert part.headers["content-range"] == f"bytes 1048570-1048589/{len(data)}"
    tail = client.get("/raw/shelf/blob.bin", headers={"Range": "bytes=-5"})
    assert (tail.status_code, tail.content) == (206, data[-5:])
    past = client.get("/raw/shelf/blob.bin", headers={"Range": f"bytes={len(data)}-"})
    assert (past.status_code, past.headers["content-range"]) == (416, f"bytes */{len(data)}")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, (0, 100, False)),
        ("bytes=0-9", (0, 10, True)),
        ("bytes=90-", (90, 100, True)),
        ("bytes=90-500", (90, 100, True)),
        ("bytes=-10", (90, 100, True)),
        ("bytes=-500", (0, 100, True)),
        ("bytes=100-", None),
        ("bytes=-0", None),
        ("bytes=5-2", None),
        ("bytes=0-1,5-6", (0, 100, False)),
        ("items=0-1", (0, 100, False)),
        ("bytes=a-b", (0, 100, False)),
    ],
)
def test_range_headers(header: str | None, expected: tuple[int, int, bool] | None) -> None:
    assert byte_range(header, 100) == expected


def test_names_and_metadata_are_escaped(client: TestClient, shelf: Path) -> None:
    (shelf / "runs" / "<img src=x onerror=alert(1)>").mkdir()
    artifacts.save({"a": 1}, "shelf:runs/tagged", tags={"note": "<script>alert(1)</script>"})
    listing = client.get("/s/shelf/runs/").text
    assert "<img src=x" not in listing
    assert "&lt;img src=x onerror=alert(1)&gt;/</a>" in listing
    page = client.get("/s/shelf/runs/tagged/").text
    assert "<script>alert(1)" not in page
    assert "note=&lt;script&gt;alert(1)&lt;/script&gt;" in page
