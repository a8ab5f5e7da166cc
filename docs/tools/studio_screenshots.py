"""Screenshots of the studio's Interpolate, Edit and Restore pages in headless Chromium, on trained runs.

    OMP_NUM_THREADS=1 python docs/tools/studio_screenshots.py /work/runs --edit-run studio_mnist \
        --restore-run studio_inpaint --out docs/images

writes ``studio_interpolate.png``, ``studio_edit.png`` and ``studio_restore.png``: the Interpolate page between
seeds 1, 2, 3 of the edit run; the Edit page inverting a test image (300 steps) and moving it toward a class;
the Restore page with a mask painted over a test image of an inpainting run (or a degraded test image of a
super-resolution or denoising run) and the restoration. Needs Chromium and chromedriver (see tests/studio/browser.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from tests.studio.browser import chromium, missing_browser, resources_outside, studio_server  # noqa: E402


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise SystemExit(f"studio_screenshots: timed out after {timeout:.0f} s waiting for {what}")


def set_value(driver, element_id: str, value: str) -> None:
    driver.execute_script("const e = document.getElementById(arguments[0]); e.value = arguments[1];"
                          "e.dispatchEvent(new Event('change'));", element_id, value)


def loaded(driver, element_id: str) -> bool:
    return driver.execute_script("const i = document.getElementById(arguments[0]); return i.complete && i.naturalWidth > 1",
                                 element_id)


def check_page(driver, base: str, page: str) -> None:
    error = driver.find_element("id", "error").text
    if error:
        raise SystemExit(f"studio_screenshots: the {page} page shows an error: {error}")
    driver.execute_script("window.scrollTo(0, 0)")
    time.sleep(0.3)
    outside = resources_outside(driver, base)
    if outside:
        raise SystemExit(f"studio_screenshots: the {page} page loaded {outside}")


def interpolate(driver, base: str, run: str, out: Path) -> None:
    driver.get(f"{base}/interpolate?run={run}")
    wait_for(lambda: driver.execute_script("return document.getElementById('strip').dataset.seeds") == "1,2,3", 120, "the strip")
    wait_for(lambda: loaded(driver, "anim"), 60, "the GIF")
    check_page(driver, base, "Interpolate")
    driver.save_screenshot(str(out / "studio_interpolate.png"))


def edit(driver, base: str, run: str, index: int, toward: int, out: Path) -> None:
    driver.get(f"{base}/edit?run={run}")
    wait_for(lambda: loaded(driver, "original"), 120, "the test image")
    set_value(driver, "index", str(index))
    driver.find_element("id", "use-test").click()
    wait_for(lambda: driver.find_element("id", "original-caption").text == f"original: test-{index}.png", 60, "the test image")
    set_value(driver, "toward", str(toward))
    driver.find_element("id", "go").click()
    wait_for(lambda: driver.execute_script("return document.getElementById('edited').dataset.done")
             or driver.find_element("id", "error").text, 900, "the edit")
    check_page(driver, base, "Edit")
    driver.save_screenshot(str(out / "studio_edit.png"))


def restore(driver, base: str, run: str, index: int, out: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    driver.get(f"{base}/restore?run={run}")
    wait_for(lambda: driver.find_element("id", "task").text, 120, "the run")
    set_value(driver, "index", str(index))
    driver.find_element("id", "use-test").click()
    wait_for(lambda: driver.find_element("id", "input-caption").text.startswith(f"input: test-{index}.png"), 60, "the test image")
    if driver.find_element("id", "mask-tools").is_displayed():
        set_value(driver, "brush", "4")
        canvas = driver.find_element("id", "canvas")  # a stroke across the middle of the digit, and one down it
        ActionChains(driver).move_to_element_with_offset(canvas, -45, -10).click_and_hold().move_by_offset(45, 25) \
            .move_by_offset(40, -20).release().perform()
        ActionChains(driver).move_to_element_with_offset(canvas, 5, -60).click_and_hold().move_by_offset(0, 50).release().perform()
    driver.find_element("id", "go").click()
    wait_for(lambda: driver.find_element("id", "download").is_displayed() or driver.find_element("id", "error").text, 120,
             "the restoration")
    check_page(driver, base, "Restore")
    driver.save_screenshot(str(out / "studio_restore.png"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs_dir", help="RUNS_DIR holding the runs")
    parser.add_argument("--edit-run", required=True, help="a noise generator of images (Interpolate and Edit)")
    parser.add_argument("--restore-run", required=True, help="a restoration run")
    parser.add_argument("--edit-index", type=int, default=3, help="the test image to edit (default 3)")
    parser.add_argument("--toward", type=int, default=8, help="the class to move it toward (default 8)")
    parser.add_argument("--restore-index", type=int, default=7, help="the test image to restore (default 7)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"), help="folder of the PNGs (default docs/images)")
    args = parser.parse_args()
    if missing_browser():
        raise SystemExit(f"studio_screenshots: {missing_browser()}")
    out = Path(args.out)
    with studio_server(args.runs_dir) as (base, app), chromium(1240, 700) as driver:
        interpolate(driver, base, args.edit_run, out)
        edit(driver, base, args.edit_run, args.edit_index, args.toward, out)
        restore(driver, base, args.restore_run, args.restore_index, out)
    for name in ("studio_interpolate.png", "studio_edit.png", "studio_restore.png"):
        print(out / name)


if __name__ == "__main__":
    main()
