"""The viewer in a real browser: Debian's headless Chromium through Selenium, against ``cargohold ui`` on uvicorn,
an s3 store on moto and a local one. ``CARGOHOLD_SCREENSHOTS=folder`` keeps the README's screenshots there."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto_bucket import s3_with_bucket
from PIL import Image
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait
from viewer_kit import save_attacks

from cargohold import artifacts
from cargohold.client import Client
from cargohold.targets import in_named_store

CLI = str(Path(sys.executable).with_name("cargohold"))
BUCKET = "browser"
SECRET = "browser-secret-value-never-shown-77c1"


@pytest.fixture(scope="module")
def viewer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``cargohold ui`` over a registry of its own: ``cloud`` on moto (credentials only in a secret) and ``shelf``."""
    import pandas as pd
    from matplotlib.figure import Figure

    home = tmp_path_factory.mktemp("browser-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GOOGLE_", "AZURE_"))}
    env.update(CARGOHOLD_HOME=str(home), AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(home / "none"))
    for server in s3_with_bucket(tmp_path_factory.mktemp("moto"), BUCKET):
        client = Client(home)
        client.create_secret("moto", {"key": "browser-key", "secret": SECRET})
        config = {"path": f"s3://{BUCKET}/ml", "endpoint_url": server.endpoint}
        config.update(key="{{moto.key}}", secret="{{moto.secret}}")
        client.register_component("artifact_store", "cloud", "s3", config)
        client.register_component("artifact_store", "shelf", "local", {"path": str(home / "shelf")})
        frame = pd.DataFrame({"species": ["ash", "elm", "oak"], "height_m": [21.5, 30.25, 24.0]})
        artifacts.save(frame, in_named_store("cloud", "runs/frame", str(home)))
        figure = Figure(figsize=(4, 3))
        figure.add_subplot().plot([1, 3, 2, 4], color="tab:red", linewidth=4)
        artifacts.save(figure, in_named_store("cloud", "runs/figure", str(home)))
        save_attacks(in_named_store("shelf", "runs/attack", str(home)))
        process = subprocess.Popen([CLI, "ui", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env)
        try:
            line = process.stdout.readline() if process.stdout else ""
            assert line.startswith("cargohold ui: http://127.0.0.1:"), line
            yield line.split(": ", 1)[1].strip()
        finally:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def chromium() -> Iterator[WebDriver]:
    """Headless Chromium from the OS packages (``nox -s tests_ui`` installs them on Debian)."""
    options = Options()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: WebDriver, viewer: str) -> WebDriver:
    """The browser, logged in through the start URL."""
    chromium.get(viewer)
    return chromium


def base(viewer: str) -> str:
    return viewer.partition("/?")[0]


def not_blank(png: bytes) -> bool:
    """Whether a screenshot shows more than one flat colour."""
    colours = Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 16)
    return colours is None or len(colours) > 8


def keep(driver: WebDriver, name: str) -> None:
    folder = os.environ.get("CARGOHOLD_SCREENSHOTS")
    if folder:
        Path(folder, name).write_bytes(driver.get_screenshot_as_png())


def test_the_store_list_renders(browser: WebDriver) -> None:
    stores = browser.find_element(By.ID, "stores").text
    assert "cloud s3 s3://browser/ml" in stores
    assert "shelf local" in stores
    assert "active" in browser.find_element(By.ID, "stacks").text
    assert SECRET not in browser.page_source
    assert "token=" not in browser.current_url  # the start URL's token became a cookie


def test_browsing_into_an_s3_artifact_shows_the_dataframe_preview(browser: WebDriver) -> None:
    browser.find_element(By.LINK_TEXT, "cloud").click()
    browser.find_element(By.LINK_TEXT, "runs/").click()
    browser.find_element(By.LINK_TEXT, "frame/").click()
    assert "pandas.DataFrame" in browser.find_element(By.TAG_NAME, "h2").text
    assert "species height_m" in browser.find_element(By.CSS_SELECTOR, "table.csv").text
    frame = browser.find_element(By.TAG_NAME, "iframe")
    browser.execute_script("arguments[0].scrollIntoView()", frame)
    assert not_blank(frame.screenshot_as_png)
    keep(browser, "viewer-dataframe.png")
    browser.switch_to.frame(frame)
    try:
        text = browser.find_element(By.TAG_NAME, "body").text
    finally:
        browser.switch_to.default_content()
    assert "3 rows \u00d7 2 columns" in text
    assert "30.25" in text
    assert "describe()" in text


def test_an_image_visualization_is_visible(browser: WebDriver, viewer: str) -> None:
    browser.get(base(viewer) + "/s/cloud/runs/figure/")
    images = browser.find_elements(By.TAG_NAME, "img")
    assert [i.get_attribute("alt") for i in images] == ["figure", "figure"]  # PNG and SVG
    for image in images:
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 100
    browser.execute_script("arguments[0].scrollIntoView()", images[0])
    assert not_blank(images[0].screenshot_as_png)
    keep(browser, "viewer-figure.png")


def test_a_request_without_the_token_gets_401(chromium: WebDriver, viewer: str) -> None:
    chromium.get(viewer)
    chromium.delete_all_cookies()
    chromium.get(base(viewer) + "/s/cloud/runs/")
    assert "needs its token" in chromium.find_element(By.TAG_NAME, "body").text
    assert not chromium.find_elements(By.ID, "entries")


def test_an_attack_artifacts_script_cannot_reach_the_parent_page(browser: WebDriver, viewer: str) -> None:
    browser.get(base(viewer) + "/s/shelf/runs/attack/")
    title = browser.title
    frame = browser.find_element(By.TAG_NAME, "iframe")
    browser.switch_to.frame(frame)
    try:
        report = WebDriverWait(browser, 30).until(
            lambda d: (t := d.find_element(By.ID, "report").text).startswith("script ran") and t
        )
    finally:
        browser.switch_to.default_content()
    assert "parent blocked" in report
    assert "title blocked" in report
    assert "cookie blocked" in report
    assert browser.title == title == "shelf:runs/attack · cargohold ui"
    assert "Notes" in browser.find_element(By.CSS_SELECTOR, ".markdown").text  # its markdown shows, scriptless
