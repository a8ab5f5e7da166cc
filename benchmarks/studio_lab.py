"""The studio's Lab in headless Chromium: frames per second the browser receives, and mode collapse against coverage.

Starts ``gankit studio`` on a free local port (in this process) and drives Debian's Chromium
through chromedriver, as the browser tests do. It measures

* frame rate: frames the page received over ``--fps-seconds`` s while playing the stabilised
  settings at 10 training steps a frame, and the fewest steps between two frames;
* mode coverage: for the ``plain`` and the ``stabilised`` preset at seed 0, the modes of the ring
  of 8 covered (:func:`gankit.metrics.modes.score_mixture` on 2,500 samples of the shown G), read
  from the frames the page received, over ``--seconds`` s of wall-clock time each.

Figures depend on the load: the script prints the load average before and after.

    OMP_NUM_THREADS=1 python benchmarks/studio_lab.py [--seconds 60] [--fps-seconds 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gankit.studio.lab import PRESETS  # noqa: E402
from tests.studio.browser import chromium, missing_browser, studio_server  # noqa: E402


def frame(driver) -> dict:
    return driver.execute_script(
        "const f = lab.frame; return {step: f.step, modes: f.modes, playing: f.playing, received: lab.received.length}")


def configure(driver, base: str, preset: str, steps_per_frame: int) -> None:
    """Choose a preset and the steps per frame through the page's own controls, start from fresh weights, play."""
    driver.get(f"{base}/lab")
    deadline = time.monotonic() + 60
    while not driver.execute_script("return window.lab && lab.frame !== null"):
        if time.monotonic() > deadline:
            raise RuntimeError("the Lab page sent no frame")
        time.sleep(0.1)
    driver.find_element("css selector", f"[data-preset={preset}]").click()
    wanted = PRESETS[preset]
    while not driver.execute_script(
            "const s = lab.frame.settings; return s.loss === arguments[0] && s.pacgan === arguments[1] && s.ttur === arguments[2]"
            " && document.getElementById('pacgan').checked === arguments[1]", wanted["loss"], wanted["pacgan"], wanted["ttur"]):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Lab did not take the {preset} preset")
        time.sleep(0.1)
    driver.execute_script(
        "const box = document.getElementById('steps_per_frame'); box.value = arguments[0];"
        "box.dispatchEvent(new Event('change'));", steps_per_frame)
    time.sleep(0.5)
    driver.find_element("css selector", "[data-action=reset]").click()
    time.sleep(0.5)
    driver.find_element("id", "play").click()


def measure_fps(driver, base: str, seconds: float) -> dict:
    configure(driver, base, "stabilised", 10)
    time.sleep(2.0)  # warm-up
    start = driver.execute_script("return performance.now()")
    time.sleep(seconds)
    frames = driver.execute_script("return lab.received.filter(r => r[0] >= arguments[0])", start)
    driver.find_element("id", "play").click()
    steps = [step for _, step in frames]
    gaps = [b - a for a, b in zip(steps, steps[1:])]
    span = (frames[-1][0] - frames[0][0]) / 1000 if len(frames) > 1 else float("nan")
    return {"frames": len(frames), "seconds": seconds, "frames_per_s": len(frames) / seconds,
            "min_steps_per_frame": min(gaps) if gaps else None, "steps_per_s": (steps[-1] - steps[0]) / span if gaps else None}


def measure_modes(driver, base: str, preset: str, seconds: float) -> dict:
    configure(driver, base, preset, 10)
    start = time.monotonic()
    trace, first_full = [], None
    while (elapsed := time.monotonic() - start) < seconds:
        f = frame(driver)
        covered = f["modes"]["covered"]
        trace.append((round(elapsed, 1), f["step"], covered, round(f["modes"]["high_quality"], 3)))
        if covered == 8 and first_full is None:
            first_full = (round(elapsed, 1), f["step"])
        time.sleep(0.5)
    driver.find_element("id", "play").click()
    last_half = [c for t, _, c, _ in trace if t >= seconds / 2]
    return {"preset": preset, "first_8_of_8": first_full, "final": trace[-1], "modes_second_half": [min(last_half), max(last_half)],
            "mean_modes_second_half": sum(last_half) / len(last_half), "trace_every_5s": trace[::10]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="wall-clock seconds each preset trains (default 60)")
    parser.add_argument("--fps-seconds", type=float, default=10.0, help="seconds over which frames are counted (default 10)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    reason = missing_browser()
    if reason:
        sys.exit(f"studio_lab: {reason}")
    out = {"cpus": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as runs, studio_server(runs) as (base, _), chromium() as driver:
        out["fps"] = measure_fps(driver, base, args.fps_seconds)
        print(f"frame rate: {out['fps']['frames_per_s']:.1f} frames/s received over {args.fps_seconds:.0f} s, "
              f"at least {out['fps']['min_steps_per_frame']} steps a frame ({out['fps']['steps_per_s']:.0f} steps/s)", flush=True)
        for preset in ("plain", "stabilised"):
            result = measure_modes(driver, base, preset, args.seconds)
            out[preset] = result
            print(f"{preset:>10}: 8/8 first at {result['first_8_of_8']} (s, step); after {args.seconds:.0f} s: step {result['final'][1]}, "
                  f"{result['final'][2]}/8 modes, {100 * result['final'][3]:.1f}% high quality; modes over the second half: "
                  f"{result['modes_second_half'][0]}-{result['modes_second_half'][1]} (mean {result['mean_modes_second_half']:.1f})",
                  flush=True)
            print(f"{'':>12}(s, step, modes, high quality) every 5 s: {result['trace_every_5s']}", flush=True)
    out["load_after"] = os.getloadavg()
    print(f"load average before {out['load_before'][0]:.1f}, after {out['load_after'][0]:.1f} on {out['cpus']} CPUs")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
