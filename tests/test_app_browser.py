"""The web page in a real headless Chromium, driven as a user drives it: open a photo, paint a
stroke with the mouse, wait for the live preview, complete, download.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them); skipped when
they are missing, except in CI, where that fails. ``APP_SCREENSHOT=<path.png>`` also saves a
screenshot of the page after the completion (the README's, ``docs/app_screenshot.png``), and
``APP_SOURCES_SCREENSHOT=<path.png>`` one of the page after a stroke across two faces, with its
status line and the source overlay.
"""

import base64
import io
import json
import os
import pathlib
import shutil

import numpy as np
import pytest
from PIL import Image

from app_helpers import decode, start_app, stop_app, wait_until

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
    return painted_alpha(driver) > 0


def painted_alpha(driver) -> np.ndarray:
    """uint8 [H, W]: the opacity of the paint on each photo pixel."""
    url = driver.execute_script("return document.getElementById('mask-canvas').toDataURL()")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))[..., 3]


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
    paint_stroke(browser, [(-60, 40), (-20, 50), (20, 60), (60, 50)], 640)
    hole = painted(browser)
    assert hole.shape == (640, 640) and 1000 < hole.sum() < 60_000

    wait_for(browser, body_state("preview", "ready", "error"))
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-preview") == "ready"

    browser.find_element(By.ID, "complete").click()
    wait_for(browser, body_state("result", "ready", "error"), seconds=120)
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-result") == "ready"
    if os.environ.get("APP_SCREENSHOT"):
        browser.save_screenshot(os.environ["APP_SCREENSHOT"])

    saved = download(browser, tmp_path / "downloads")
    assert saved.name == "my photo-completed.png"
    completed = decode(saved.read_bytes())
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


def paint_stroke(driver, points, photo_width):
    """Drags the mouse over the mask canvas through ``points`` (photo pixels from the
    canvas's centre)."""
    canvas = driver.find_element(By.ID, "mask-canvas")
    scale = canvas.rect["width"] / photo_width  # CSS pixels per photo pixel
    actions = ActionChains(driver, duration=20)
    actions.move_to_element_with_offset(canvas, *(int(v * scale) for v in points[0]))
    actions.click_and_hold()
    for x, y in points[1:]:
        actions.move_to_element_with_offset(canvas, int(x * scale), int(y * scale))
    actions.release().perform()


def download(driver, folder) -> pathlib.Path:
    """Clicks Download; the one PNG it saves into ``folder``, once Chrome has finished it.

    Chrome reserves the final name at once with an empty file and writes the bytes into a
    ``.crdownload`` beside it, renamed over the empty file at the end: a PNG that exists is not
    yet a finished download (seen in CI as an empty file Pillow could not identify).
    """
    driver.find_element(By.ID, "download").click()

    def finished() -> list:
        files = list(folder.glob("*.png"))
        writing = list(folder.glob("*.crdownload"))
        return files if files and not writing and all(f.stat().st_size for f in files) else []

    wait_until(finished, timeout=30)
    files = finished()
    assert len(files) == 1, sorted(path.name for path in folder.glob("*"))
    return files[0]


def test_a_stroke_across_two_faces_and_the_background_fills_every_painted_pixel(
        browser, app_url, tmp_path):
    """Two sample faces side by side with background between them, the whole photo under
    fine noise, so that a fill gives back a painted pixel's exact value only by a rare chance
    (a few in a million pixels; the test is deterministic); one stroke through both faces and
    the gap. After Complete, every painted pixel (as the page sends
    it: paint at least half opaque) differs from the upload, every other pixel is
    bit-identical, the status line names both sources, and the Sources button shows which
    model filled what."""
    left, right = (decode(_get(f"{app_url}/api/samples/{k}")) for k in (2, 3))
    ramp = np.linspace(0, 1, 160)[np.newaxis, :, np.newaxis]
    gap = (1 - ramp) * left[:, -1:].astype(float) + ramp * right[:, :1].astype(float)
    # Fine noise, stronger between the faces (where the faces' detector does not look).
    amplitude = np.where(np.arange(800) // 160 == 2, 64, 24)[np.newaxis, :, np.newaxis]
    noise = np.rint(np.random.default_rng(32).uniform(-1, 1, (320, 800, 3)) * amplitude)
    photo = np.clip(np.concatenate([left, gap, right], 1) + noise, 0, 255).astype(np.uint8)
    upload = tmp_path / "two faces.png"
    Image.fromarray(photo).save(upload)

    browser.get(app_url)
    browser.find_element(By.ID, "file-input").send_keys(str(upload))
    wait_for(browser, body_state("faces", "ready"))
    assert "2 faces found" in browser.find_element(By.ID, "status").text
    # Below the eyes, from the left face's cheek to the right face's.
    paint_stroke(browser, [(-300, 15), (-100, 20), (100, 20), (300, 15)], 800)
    paint = painted_alpha(browser)
    hole = paint >= 128  # the page's HOLE_ALPHA: what goes into the mask it sends
    assert 10_000 < hole.sum() < 60_000 and hole[:, 320:480].any()
    wait_for(browser, body_state("preview", "ready", "error"))
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-preview") == "ready"
    assert "of the painted area filled from its surroundings" in browser.find_element(
        By.ID, "preview-info").text

    browser.find_element(By.ID, "complete").click()
    wait_for(browser, body_state("result", "ready", "error"), seconds=120)
    status = browser.find_element(By.ID, "status").text
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-result") == "ready"
    assert "2 faces completed; " in status, status
    assert "% of the painted area filled from its surroundings." in status, status
    overlay = browser.find_element(By.ID, "sources-overlay")
    assert not overlay.is_displayed()
    browser.find_element(By.ID, "show-sources").click()
    assert overlay.is_displayed()
    if os.environ.get("APP_SOURCES_SCREENSHOT"):
        browser.save_screenshot(os.environ["APP_SOURCES_SCREENSHOT"])

    completed = decode(download(browser, tmp_path / "downloads").read_bytes())
    assert completed.shape == photo.shape
    np.testing.assert_array_equal(completed[~hole], photo[~hole])
    changed = (completed != photo).any(-1)
    kept = np.argwhere(hole & ~changed)
    assert changed[hole].all(), f"painted pixels that kept their value: {kept.tolist()[:5]}, " \
        f"{photo[hole & ~changed].tolist()[:5]}, paint {paint[hole & ~changed].tolist()[:5]}"


def _get(url: str) -> bytes:
    import urllib.request
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()
