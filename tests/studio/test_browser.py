"""The studio in headless Chromium that can reach nothing but the local server (pytest tests/studio/test_browser.py).

Every page loads with only local resources; the Sample page's grid is not blank and changes with
the seed; the Runs page shows figures beside floors and offers a demo run in an empty RUNS_DIR; the
Lab's fake points move between frames, and the stabilised settings cover the 8 ring modes.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.studio.browser import chromium, missing_browser, resources_outside, studio_server

pytestmark = pytest.mark.skipif(missing_browser() is not None, reason=f"browser tests: {missing_browser()}")

PIXELS = """
const img = document.getElementById('grid');
if (!img.complete || !img.naturalWidth) return null;
const canvas = document.createElement('canvas');
canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
return [img.dataset.seed, Array.from(ctx.getImageData(0, 0, canvas.width, canvas.height).data.filter((v, i) => i % 4 === 0))];
"""


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.2, what: str = "the page"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def severe_console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


@pytest.fixture(scope="module")
def studio(runs_dir):
    from gankit.run import EVAL_FORMAT, RunDir

    RunDir(runs_dir / "group" / "cond").write_eval({
        "version": EVAL_FORMAT, "created": "2026-12-04T12:00:00Z", "dataset": "squares", "extractor": "evaluator-0123",
        "num": 500, "seed": 0, "metrics": {"fid": 123.4, "precision": 0.25}, "floor": {"fid": 5.6, "precision": 0.87},
        "floor_num": 500, "modes": None, "modes_floor": None, "notes": [],
    })
    with studio_server(runs_dir) as (base, app), chromium() as driver:
        yield base, driver


def test_every_page_loads_with_only_local_resources(studio):
    from gankit.studio.pages import ordered_pages

    base, driver = studio
    for page in ordered_pages():
        driver.get(f"{base}/{page.name}")
        wait_for(lambda: driver.execute_script("return document.readyState") == "complete", what=f"/{page.name}")
        assert driver.find_element("css selector", "nav a.current").text == page.title
        time.sleep(0.5)
        assert resources_outside(driver, base) == [], page.name
        assert severe_console_errors(driver) == [], page.name


def test_sample_grid_is_not_blank_and_changes_with_the_seed(studio):
    base, driver = studio
    driver.get(f"{base}/sample?run=tiny")
    seed0, pixels0 = wait_for(lambda: driver.execute_script(PIXELS), what="the first grid")
    assert seed0 == "0" and max(pixels0) - min(pixels0) > 50  # not one flat colour
    seed = driver.find_element("id", "seed")
    seed.clear()
    seed.send_keys("1")
    driver.execute_script("document.getElementById('seed').dispatchEvent(new Event('change'))")
    seed1, pixels1 = wait_for(lambda: (lambda r: r if r and r[0] == "1" else None)(driver.execute_script(PIXELS)), what="the seed-1 grid")
    assert len(pixels1) == len(pixels0) and pixels1 != pixels0
    assert "--seed 1" in driver.find_element("id", "caption").text
    assert driver.find_element("id", "npz").get_attribute("href").endswith("format=npz&download=1")
    assert resources_outside(driver, base) == []


def test_conditional_runs_offer_their_classes(studio):
    base, driver = studio
    driver.get(f"{base}/sample?run=group/cond")
    wait_for(lambda: driver.execute_script(PIXELS), what="the grid")
    options = driver.execute_script("return Array.from(document.getElementById('class').options).map(o => o.value)")
    assert options == [""] + [str(k) for k in range(10)]
    assert driver.find_element("id", "class-box").is_displayed()


def test_runs_page_shows_figures_beside_floors(studio):
    base, driver = studio
    driver.get(f"{base}/runs")
    panel = wait_for(lambda: driver.find_elements("css selector", "[data-run='group/cond'] table"), what="the runs")[0]
    rows = [row.text for row in panel.find_elements("css selector", "tr")]
    assert "fid 123 5.60" in rows and "precision 0.250 0.870" in rows
    assert driver.execute_script("return document.querySelector(\"[data-run='group/cond'] img\").naturalWidth") > 0
    assert resources_outside(driver, base) == []


def test_an_empty_runs_dir_offers_a_demo_run(tmp_path):
    with studio_server(tmp_path / "runs") as (base, app), chromium() as driver:
        driver.get(f"{base}/runs")
        wait_for(lambda: driver.find_element("id", "empty").is_displayed(), what="the demo offer")
        assert driver.find_element("id", "demo").text == "Train the demo run"
        assert "gankit train mnist_mlp" in driver.find_element("id", "demo-command").text


def test_lab_points_move_and_the_stabilised_gan_covers_the_ring(studio):
    base, driver = studio
    driver.get(f"{base}/lab")
    wait_for(lambda: driver.execute_script("return window.lab && lab.frame !== null"), what="the first frame")
    driver.find_element("css selector", "[data-preset=stabilised]").click()
    wait_for(lambda: driver.find_element("id", "pacgan").is_selected(), what="the preset")
    steps = driver.find_element("id", "steps_per_frame")
    steps.clear()
    steps.send_keys("25")
    driver.execute_script("document.getElementById('steps_per_frame').dispatchEvent(new Event('change'))")
    wait_for(lambda: driver.execute_script("return lab.frame.settings.steps_per_frame") == 25, what="the setting")
    driver.find_element("id", "play").click()
    first = wait_for(lambda: driver.execute_script("return lab.frame.step >= 25 && lab.frame"), what="a trained frame")
    second = wait_for(lambda: (lambda f: f if f["step"] > first["step"] else None)(driver.execute_script("return lab.frame")),
                      what="the next frame")
    assert second["fake"] != first["fake"]  # the generator's points moved
    assert second["step"] - first["step"] >= 25
    covered = wait_for(lambda: driver.execute_script("return lab.frame.modes.covered === 8 && lab.frame.step"), timeout=120,
                       what="8/8 modes")
    assert driver.find_element("id", "modes").text == "8/8"
    driver.find_element("id", "play").click()  # pause
    steps_seen = driver.execute_script("return lab.received.map(r => r[1])")
    assert all(b - a >= 25 or b < a for a, b in zip(steps_seen, steps_seen[1:]) if b != a), "frames of fewer steps than asked"
    assert covered <= 5000
    assert resources_outside(driver, base) == [] and severe_console_errors(driver) == []


def test_lab_trains_on_points_drawn_on_the_canvas(studio):
    from selenium.webdriver.common.action_chains import ActionChains

    base, driver = studio
    driver.get(f"{base}/lab")
    wait_for(lambda: driver.execute_script("return window.lab && lab.frame !== null"), what="the first frame")
    driver.find_element("id", "draw").click()
    plane = driver.find_element("id", "plane")
    ActionChains(driver).move_to_element_with_offset(plane, -100, 0).click_and_hold().move_by_offset(60, 40) \
        .move_by_offset(60, -40).move_by_offset(60, 40).release().perform()
    drawn = driver.execute_script("return lab.drawn.length")
    assert drawn >= 6
    driver.find_element("id", "use-drawn").click()
    wait_for(lambda: driver.execute_script("return lab.frame.settings.dataset") == "drawn", what="the drawn data")
    real = json.loads(driver.execute_script("return JSON.stringify(lab.real)"))
    assert len(real) == drawn
    assert driver.find_element("id", "modes").text == "–"  # no modes to count on drawn points
