"""``cargohold ui`` as a user runs it: a real uvicorn process, an s3 store on moto whose credentials exist only as
a cargohold secret, and no cloud variable in the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from moto_bucket import s3_with_bucket
from viewer_kit import PNG, TOKEN

from cargohold import artifacts
from cargohold.client import Client
from cargohold_testkit.servers import EmulatorServer

CLI = str(Path(sys.executable).with_name("cargohold"))
BUCKET = "viewer"
KEY = "AKIAVIEWERTESTKEY01"
SECRET = "viewer-secret-value-never-shown-4f9a"
CLOUD_PREFIXES = ("AWS_", "GOOGLE_", "GCLOUD_", "CLOUDSDK_", "AZURE_")


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    yield from s3_with_bucket(tmp_path_factory.mktemp("moto"), BUCKET)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """No cloud credentials anywhere in the environment: only the registry's secret can open the bucket."""
    for name in list(os.environ):
        if name.startswith(CLOUD_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return dict(os.environ)


@pytest.fixture
def cloud(moto: EmulatorServer, clean_env: dict[str, str]) -> str:
    """The s3 store ``cloud`` on moto, holding a DataFrame artifact and an image artifact."""
    import pandas as pd

    client = Client()
    client.create_secret("moto", {"key": KEY, "secret": SECRET})
    prefix = f"s3://{BUCKET}/{os.urandom(4).hex()}"
    config = {"path": prefix, "key": "{{moto.key}}", "secret": "{{moto.secret}}", "endpoint_url": moto.endpoint}
    client.register_component("artifact_store", "cloud", "s3", config)
    artifacts.save(pd.DataFrame({"height": [1.5, 2.5], "name": ["ash", "elm"]}), "cloud:runs/frame")
    artifacts.save(PNG, "cloud:runs/pixel")
    return prefix


@pytest.fixture
def viewer(cloud: str, clean_env: dict[str, str]) -> Iterator[str]:
    """``cargohold ui --port 0`` running; yields its start URL."""
    process = subprocess.Popen(
        [CLI, "ui", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env
    )
    try:
        line = process.stdout.readline() if process.stdout else ""
        assert line.startswith("cargohold ui: http://127.0.0.1:"), (line, process.stderr and process.stderr.read())
        yield line.split(": ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_user_browses_an_s3_artifact_built_from_the_registrys_secret(viewer: str) -> None:
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in os.environ
    assert not [n for n in os.environ if n.startswith("AWS_ACCESS") or n.startswith("AWS_SECRET")]
    base = viewer.partition("/?")[0]
    assert httpx2.get(base + "/").status_code == 401
    # The first listing imports s3fs in the viewer, which takes longer than httpx's 5 s on a loaded machine.
    with httpx2.Client(base_url=base, follow_redirects=True, timeout=60) as browser:
        pages = [browser.get(viewer)]
        assert pages[0].status_code == 200
        assert '<a href="/s/cloud/">cloud</a></td><td>s3</td>' in pages[0].text
        pages.append(browser.get("/s/cloud/runs/"))
        assert '<a href="/s/cloud/runs/frame/">frame/</a>' in pages[-1].text
        pages.append(browser.get("/s/cloud/runs/frame/"))
        assert (
            '<iframe sandbox="allow-scripts" src="/view/cloud/runs/frame/visualizations/preview.html"' in pages[-1].text
        )
        preview = browser.get("/view/cloud/runs/frame/visualizations/preview.html")
        assert "<td>2.5</td>" in preview.text
        pages.append(browser.get("/s/cloud/runs/pixel/"))
        assert browser.get("/raw/cloud/runs/pixel/visualizations/image.png").content == PNG
        part = browser.get("/raw/cloud/runs/pixel/data/object.png", headers={"Range": "bytes=1-3"})
        assert (part.status_code, part.content) == (206, PNG[1:4])
        for page in pages:
            assert KEY not in page.text
            assert SECRET not in page.text


def test_a_host_beyond_loopback_needs_a_token(clean_env: dict[str, str]) -> None:
    env = {k: v for k, v in clean_env.items() if k != "CARGOHOLD_UI_TOKEN"}
    refused = subprocess.run([CLI, "ui", "--host", "0.0.0.0"], capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 2
    assert "--host 0.0.0.0 can be reached from other machines; give a --token" in refused.stderr
    short = subprocess.run([CLI, "ui", "--token", "short"], capture_output=True, text=True, env=env, timeout=60)
    assert short.returncode == 2
    assert "the token must be at least 16 characters long" in short.stderr
    assert TOKEN not in refused.stderr + short.stderr
