"""The Interpolate, Edit and Restore pages in headless Chromium that can reach nothing but the local server
(pytest tests/studio/test_browser_pages.py).

The interpolation strip changes with the seeds; an edit comes back as three images; an uploaded image comes back
restored (not blank), with the mask painted on the canvas filled and the other pixels kept.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.studio.browser import chromium, missing_browser, resources_outside, studio_server
from tests.studio.test_browser import severe_console_errors, wait_for
from tests.studio.test_pages import BrightnessReader

pytestmark = pytest.mark.skipif(missing_browser() is not None, reason=f"browser tests: {missing_browser()}")

PIXELS = """
const img = document.getElementById(arguments[0]);
if (!img.complete || !img.naturalWidth) return null;
const canvas = document.createElement('canvas');
canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
return [img.naturalWidth, img.naturalHeight, Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data.filter((v, i) => i % 4 === 0))];
"""


@pytest.fixture(scope="module")
def studio(runs_dir):
    from gankit.edit import runs as edit_runs

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(edit_runs, "domain_evaluator", lambda run, train_if_missing=True: BrightnessReader())
        with studio_server(runs_dir) as (base, app), chromium() as driver:
            yield base, driver


def set_value(driver, element_id: str, value: str) -> None:
    driver.execute_script("const e = document.getElementById(arguments[0]); e.value = arguments[1];"
                          "e.dispatchEvent(new Event('change'));", element_id, value)


def test_interpolation_strip_changes_with_the_seeds(studio):
    base, driver = studio
    driver.get(f"{base}/interpolate?run=tiny")
    wait_for(lambda: driver.execute_script("return document.getElementById('strip').dataset.seeds") == "1,2,3", what="the strip")
    width, height, first = driver.execute_script(PIXELS, "strip")
    assert (width, height) == ((8 * 2 + 1) * 28, 28) and max(first) - min(first) > 50
    set_value(driver, "seeds", "4,5")
    wait_for(lambda: driver.execute_script("return document.getElementById('strip').dataset.seeds") == "4,5", what="the new strip")
    width, _, second = driver.execute_script(PIXELS, "strip")
    assert width == (8 + 1) * 28 and second != first[:len(second)]
    wait_for(lambda: driver.execute_script(PIXELS, "anim"), what="the GIF")
    assert "--seeds 4,5 --frames 8 --method spherical" in driver.find_element("id", "caption").text
    assert driver.find_element("id", "gif").get_attribute("href").endswith("format=gif")
    assert resources_outside(driver, base) == [] and severe_console_errors(driver) == []


def test_edit_inverts_a_test_image_and_moves_it(studio):
    base, driver = studio
    driver.get(f"{base}/edit?run=tiny")
    wait_for(lambda: driver.execute_script(PIXELS, "original"), what="the test image")
    set_value(driver, "steps", "3")
    set_value(driver, "toward", "7")
    driver.find_element("id", "go").click()
    wait_for(lambda: driver.execute_script("return document.getElementById('edited').dataset.done"), what="the edit")
    for image in ("original", "reconstruction", "edited"):
        assert driver.execute_script(PIXELS, image)[:2] == [28, 28]
    assert driver.find_element("id", "edited-caption").text.startswith("toward 7")
    assert "--toward 7 --strength 4 --steps 3" in driver.find_element("id", "caption").text
    assert driver.find_element("id", "download-edited").is_displayed()
    assert resources_outside(driver, base) == [] and severe_console_errors(driver) == []


def upload(driver, tmp_path, array: np.ndarray, name: str) -> None:
    path = tmp_path / name
    Image.fromarray(array).save(path)
    driver.find_element("id", "file").send_keys(str(path))
    wait_for(lambda: driver.find_element("id", "input-caption").text.startswith(f"input: {name}"), what="the upload")


def test_an_uploaded_image_comes_back_restored_with_the_painted_mask_filled(studio, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains

    from gankit.data.synthetic import draw_squares

    base, driver = studio
    driver.get(f"{base}/restore?run=restore/inpaint")
    wait_for(lambda: driver.find_element("id", "mask-tools").is_displayed(), what="the mask tools")
    image = draw_squares(1, seed=4)[0][0, 0].numpy()
    upload(driver, tmp_path, image, "square.png")
    canvas = driver.find_element("id", "canvas")  # 196 px on screen for 28 px: 7 screen pixels an image pixel
    ActionChains(driver).move_to_element_with_offset(canvas, -40, -20).click_and_hold().move_by_offset(60, 0) \
        .move_by_offset(0, 30).release().perform()
    masked = driver.execute_script("return restore.masked")
    assert masked >= 20
    driver.find_element("id", "go").click()
    wait_for(lambda: driver.find_element("id", "download").is_displayed(), what="the restored image")
    width, height, restored = driver.execute_script(PIXELS, "restored")
    assert (width, height) == (28, 28) and max(restored) - min(restored) > 50  # not blank
    assert driver.find_element("id", "restored-caption").text == f"restored ({masked} pixels filled)"
    _, _, seen = driver.execute_script(PIXELS, "input-seen")
    hole = np.array(seen).reshape(28, 28) == 128
    assert hole.sum() >= masked  # the painted pixels are the hole the run saw
    kept = ~hole
    assert np.array_equal(np.array(restored).reshape(28, 28)[kept], image[kept])  # the known pixels pass through
    assert "--mask mask.png" in driver.find_element("id", "caption").text
    assert resources_outside(driver, base) == [] and severe_console_errors(driver) == []


def test_super_resolution_of_an_upload_and_a_bad_upload(studio, tmp_path):
    base, driver = studio
    driver.get(f"{base}/restore?run=restore/sr2")
    wait_for(lambda: "super-resolution" in driver.find_element("id", "task").text, what="the run")
    assert not driver.find_element("id", "mask-tools").is_displayed()
    upload(driver, tmp_path, np.zeros((28, 28), np.uint8), "large.png")
    driver.find_element("id", "go").click()
    wait_for(lambda: driver.find_element("id", "error").text, what="the error")
    assert driver.find_element("id", "error").text == "upload: large.png: 28x28 pixels; expected a 14x14 gray image"
    small = (np.arange(14 * 14).reshape(14, 14) % 256).astype(np.uint8)
    upload(driver, tmp_path, small, "small.png")
    driver.find_element("id", "go").click()
    wait_for(lambda: driver.find_element("id", "download").is_displayed(), what="the restored image")
    assert driver.execute_script(PIXELS, "restored")[:2] == [28, 28]
    assert driver.find_element("id", "error").text == ""
