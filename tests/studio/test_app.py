"""The studio's HTTP API on a real local server: sampling as gankit sample does, paths, bad input, headers
(pytest tests/studio/test_app.py)."""

from __future__ import annotations

import io
import json
import os
import urllib.error
import urllib.request

import numpy as np
import pytest

pytest.importorskip("starlette", reason="the studio extra is not installed (pip install -e '.[dev]')")
pytest.importorskip("uvicorn", reason="the studio extra is not installed (pip install -e '.[dev]')")

from gankit.cli import main  # noqa: E402
from tests.studio.browser import studio_server  # noqa: E402


@pytest.fixture(scope="module")
def server(runs_dir, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret").mkdir()
    (outside / "secret" / "config.yaml").write_text("data: {name: squares}\n")
    link = runs_dir / "escape"
    if not link.exists():
        os.symlink(outside / "secret", link)
    with studio_server(runs_dir) as (base, app):
        yield base, outside


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def post(url: str, body: dict, content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_npz_from_the_studio_equals_gankit_samples(server, runs_dir, tmp_path):
    base, _ = server
    status, headers, data = get(f"{base}/api/sample/draw?run=tiny&seed=4&num=12&format=npz&download=1")
    assert status == 200 and 'filename="tiny-seed4-n12.npz"' in headers["content-disposition"]
    assert main(["sample", str(runs_dir / "tiny"), "--seed", "4", "--num", "12", "--out", str(tmp_path / "cli.npz")]) == 0
    assert np.array_equal(np.load(io.BytesIO(data))["images"], np.load(tmp_path / "cli.npz")["images"])


def test_class_of_a_conditional_run(server, runs_dir, tmp_path):
    base, _ = server
    status, _, data = get(f"{base}/api/sample/draw?run=group/cond&seed=1&num=10&class=7&format=npz")
    assert status == 200
    assert (np.load(io.BytesIO(data))["labels"] == 7).all()
    assert main(["sample", str(runs_dir / "group" / "cond"), "--seed", "1", "--num", "10", "--class", "7",
                 "--out", str(tmp_path / "cli.npz")]) == 0
    assert np.array_equal(np.load(io.BytesIO(data))["images"], np.load(tmp_path / "cli.npz")["images"])
    status, _, body = get(f"{base}/api/sample/info?run=group/cond")
    assert json.loads(body)["spec"]["num_classes"] == 10


@pytest.mark.parametrize("query, needle", [
    ("run=tiny&class=3", "not conditional"),
    ("run=group/cond&class=10", "class: 10 is outside 0..9"),
    ("run=tiny&num=0", "num: 0 is outside 1..256"),
    ("run=tiny&seed=abc", "seed: 'abc' is not a whole number"),
    ("run=tiny&truncation=-1", "truncation"),
    ("run=tiny&format=exe", "choose png or npz"),
    ("run=../outside", "no such run"),
    ("run=escape", "outside RUNS_DIR"),
    ("run=%2Fetc", "absolute path"),
])
def test_bad_requests_get_one_line(server, query, needle):
    base, _ = server
    status, headers, body = get(f"{base}/api/sample/draw?{query}")
    assert status == 400 and headers["content-type"] == "application/json"
    message = json.loads(body)["error"]
    assert needle in message and "\n" not in message and "Traceback" not in message


def test_runs_lists_the_runs_with_their_losses_and_grids(server, runs_dir):
    base, _ = server
    status, _, body = get(f"{base}/api/runs")
    runs = {run["name"]: run for run in json.loads(body)["runs"]}
    assert sorted(runs) == ["group/cond", "restore/inpaint", "restore/sr2", "tiny"]  # the link out of RUNS_DIR is not listed
    tiny = runs["tiny"]
    assert tiny["step"] == 3 and tiny["eval"] is None and tiny["grid"]["name"].endswith(".png")
    logged = [json.loads(line) for line in (runs_dir / "tiny" / "metrics.jsonl").read_text().splitlines()]
    assert tiny["curves"]["d_loss"] == [[r["step"], r["d_loss"]] for r in logged] and len(logged) >= 2
    status, headers, png = get(f"{base}/api/runs/grid?run=tiny")
    assert status == 200 and png.startswith(b"\x89PNG")
    assert get(f"{base}/api/runs/grid?run=escape")[0] == 400


def test_every_response_forbids_outside_resources(server):
    base, _ = server
    for path in ("/lab", "/runs", "/sample", "/static/lab.js", "/api/lab/state"):
        status, headers, _ = get(base + path)
        assert status == 200, path
        assert "default-src 'self'" in headers["content-security-policy"]


def test_only_json_posts_and_local_host_names_are_taken(server):
    base, _ = server
    status, body = post(f"{base}/api/lab/control", {"action": "pause"}, content_type="text/plain")
    assert status == 400 and "application/json" in body["error"]
    assert get(f"{base}/lab", headers={"Host": "evil.example"})[0] == 400  # DNS rebinding


def test_lab_controls_and_bad_settings(server):
    base, _ = server
    status, state = post(f"{base}/api/lab/settings", {"preset": "stabilised", "settings": {"hidden": 16}})
    assert status == 200 and state["settings"]["pacgan"] and state["settings"]["hidden"] == 16
    status, state = post(f"{base}/api/lab/control", {"action": "d_step"})
    assert status == 200 and not state["playing"]
    status, body = post(f"{base}/api/lab/control", {"action": "explode"})
    assert status == 400 and "choose one of play, pause" in body["error"]
    status, body = post(f"{base}/api/lab/settings", {"settings": {"loss": "wasserstein"}})
    assert status == 400 and "choose one of saturating" in body["error"]
    status, body = post(f"{base}/api/lab/settings", {"preset": "turbo"})
    assert status == 400 and "choose one of plain, stabilised" in body["error"]


def test_demo_run_is_started_by_its_command(runs_dir, tmp_path):
    import sys

    empty = tmp_path / "empty"
    marker = tmp_path / "ran"
    command = [sys.executable, "-c", f"open({str(marker)!r}, 'w').write('ok')"]
    with studio_server(empty, demo_command=command) as (base, app):
        assert json.loads(get(f"{base}/api/runs")[2])["runs"] == []
        status, state = post(f"{base}/api/runs/demo", {})
        assert status == 200 and state["state"] in ("training", "finished")
        app.state.studio.demo.process.wait(timeout=60)
        assert marker.read_text() == "ok"
