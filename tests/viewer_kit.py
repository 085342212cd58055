"""What the viewer's tests share: the token, attack artifacts, and a client that has logged in."""

from __future__ import annotations

from starlette.testclient import TestClient

from cargohold import artifacts
from cargohold.targets import Location
from cargohold_ui.app import create_app

TOKEN = "t" * 8 + "-viewer-test-token-" + "0123456789abcdef"
#: The smallest PNG there is: one transparent pixel.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002"
    "00000105ae2ad5a40000000049454e44ae426082"
)
#: Markdown that would run a script if it were rendered as it is written.
ATTACK_MARKDOWN = """# Notes

<script>document.title = "owned by markdown"</script>

[click me](javascript:alert(1)) <img src=x onerror="alert(2)">
"""
#: HTML whose script tries to reach the page that shows it, and says in its own page what it managed.
ATTACK_HTML = """<!doctype html><html><body><p id="report">script did not run</p><script>
var found = [];
try { found.push("parent title: " + window.parent.document.title); } catch (e) { found.push("parent blocked"); }
try { found.push("cookie: " + document.cookie); } catch (e) { found.push("cookie blocked"); }
try { window.parent.document.title = "owned"; } catch (e) { found.push("title blocked"); }
document.getElementById("report").textContent = "script ran; " + found.join("; ");
</script></body></html>"""


def logged_in() -> TestClient:
    """A client of a viewer over this test's registry, holding the cookie the start URL gives."""
    client = TestClient(create_app(TOKEN))
    first = client.get(f"/?token={TOKEN}", follow_redirects=False)
    assert first.status_code == 303, first.text
    return client


def save_attacks(target: str | Location) -> None:
    """An artifact holding the attack markdown and the attack HTML as its visualizations."""
    artifacts.save({"attack": True}, target)
    artifacts.save_visualization(target, ATTACK_MARKDOWN, "markdown", name="notes")
    artifacts.save_visualization(target, ATTACK_HTML, "html", name="page")
