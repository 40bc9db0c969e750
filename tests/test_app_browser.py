"""The web page in a real headless Chromium, driven as a user drives it: open a photo, paint a
stroke with the mouse, wait for the live preview, complete, download.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped when
they are missing, except in CI, where that fails. ``APP_SCREENSHOT=<path.png>`` also saves a
screenshot of the page after the completion (the README's, ``docs/app_screenshot.png``).
"""

import base64
import io
import json
import os
import shutil
import time

import numpy as np
import pytest
from PIL import Image

from app_helpers import decode, start_app, stop_app

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI"):
        pytest.fail("CI needs chromium and chromedriver for the browser tests (apt-get install "
                    "chromium chromium-driver)", pytrace=False)
    pytest.skip("chromium and chromedriver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def app_url():
    process, url = start_app()
    yield url
    stop_app(process)


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--window-size=1400,900",
                     f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    options.add_experimental_option("prefs", {
        "download.default_directory": str(tmp_path / "downloads"),
        "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options,
                              service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {
        "behavior": "allow", "downloadPath": str(tmp_path / "downloads")})
    yield driver
    driver.quit()


def wait_for(driver, condition, seconds=60):
    return WebDriverWait(driver, seconds, poll_frequency=0.05).until(condition)


def body_state(name, *values):
    return lambda driver: driver.find_element(By.TAG_NAME, "body").get_attribute(
        f"data-{name}") in values


def painted(driver) -> np.ndarray:
    """bool [H, W]: the photo pixels the user painted (the mask canvas is not transparent)."""
    url = driver.execute_script("return document.getElementById('mask-canvas').toDataURL()")
    rgba = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    return rgba[..., 3] > 0


def test_paint_preview_complete_download(browser, app_url, tmp_path):
    # A photo of the model's own face, enlarged to 640 x 640 so the page scales it to fit.
    sample = Image.open(io.BytesIO(_get(f"{app_url}/api/samples/1"))).resize((640, 640))
    upload = tmp_path / "my photo.png"
    sample.save(upload)
    original = np.asarray(sample.convert("RGB"))

    browser.get(app_url)
    browser.find_element(By.ID, "file-input").send_keys(str(upload))
    wait_for(browser, body_state("faces", "ready"))
    assert "1 face" in browser.find_element(By.ID, "status").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "#faces-overlay rect")) == 1

    # One stroke across the face's middle, drawn with the mouse.
    canvas = browser.find_element(By.ID, "mask-canvas")
    scale = canvas.rect["width"] / 640  # CSS pixels per photo pixel
    stroke = [(-60, 40), (-20, 50), (20, 60), (60, 50)]  # photo pixels from the centre
    actions = ActionChains(browser, duration=20)
    actions.move_to_element_with_offset(canvas, *(int(v * scale) for v in stroke[0]))
    actions.click_and_hold()
    for x, y in stroke[1:]:
        actions.move_to_element_with_offset(canvas, int(x * scale), int(y * scale))
    actions.release().perform()
    hole = painted(browser)
    assert hole.shape == (640, 640) and 1000 < hole.sum() < 60_000

    wait_for(browser, body_state("preview", "ready", "error"))
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-preview") == "ready"

    browser.find_element(By.ID, "complete").click()
    wait_for(browser, body_state("result", "ready", "error"), seconds=120)
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-result") == "ready"
    if os.environ.get("APP_SCREENSHOT"):
        browser.save_screenshot(os.environ["APP_SCREENSHOT"])

    browser.find_element(By.ID, "download").click()
    downloads = tmp_path / "downloads"
    deadline = time.monotonic() + 30
    while not [p for p in downloads.glob("*.png")] and time.monotonic() < deadline:
        time.sleep(0.1)
    files = list(downloads.glob("*.png"))
    assert len(files) == 1 and files[0].name == "my photo-completed.png"
    completed = decode(files[0].read_bytes())
    assert completed.shape == original.shape  # the photo's own resolution
    np.testing.assert_array_equal(completed[~hole], original[~hole])
    assert np.abs(completed[hole].astype(int) - original[hole]).mean() > 1

    messages = [entry for entry in browser.get_log("browser")
                if entry["level"] in ("SEVERE", "WARNING")]
    assert messages == []
    requested = [json.loads(entry["message"])["message"]["params"]["request"]["url"]
                 for entry in browser.get_log("performance")
                 if '"Network.requestWillBeSent"' in entry["message"]]
    # Chromium's own pages (the blank tab before ours) load chrome:// resources; every request
    # that leaves the browser goes to the app.
    network = [url for url in requested
               if not url.startswith(("chrome://", "chrome-untrusted://", "data:", "blob:"))]
    assert f"{app_url}/static/app.js" in network
    assert all(url.startswith(app_url + "/") for url in network), network


def _get(url: str) -> bytes:
    import urllib.request
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()
