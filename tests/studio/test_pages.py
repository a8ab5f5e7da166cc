"""The Interpolate, Edit and Restore pages' API on a real local server, checked against the CLI commands and
RestorationPipeline on the same inputs; which runs each page lists; bad uploads (pytest tests/studio/test_pages.py)."""

from __future__ import annotations

import base64
import io
import json
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("starlette", reason="the studio extra is not installed (pip install -e '.[dev]')")
pytest.importorskip("uvicorn", reason="the studio extra is not installed (pip install -e '.[dev]')")

from gankit.cli import main  # noqa: E402
from gankit.edit import runs as edit_runs  # noqa: E402
from gankit.metrics import Features  # noqa: E402
from tests.studio.browser import studio_server  # noqa: E402

STEPS = 4  # inversion steps: enough to compare the studio with the CLI, which run the same steps


class BrightnessReader:
    """A stand-in for the domain evaluator: class k = the k-th tenth of the batch by mean brightness."""

    def __call__(self, images: torch.Tensor) -> Features:
        brightness = images.double().flatten(1).mean(1)
        labels = (brightness.argsort().argsort() * 10 // len(images)).clamp(max=9)
        return Features(torch.zeros(len(images), 1, dtype=torch.float64), torch.nn.functional.one_hot(labels, 10).double())


@pytest.fixture(scope="module")
def server(runs_dir):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(edit_runs, "domain_evaluator", lambda run, train_if_missing=True: BrightnessReader())
        with studio_server(runs_dir) as (base, app):
            yield base


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_job(base: str, status: dict) -> dict:
    deadline = time.monotonic() + 120
    while status["state"] in ("queued", "running"):
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.1)
        status = json.loads(get(f"{base}/api/jobs?id={status['id']}")[1])
    return status


def png_upload(array: np.ndarray, name: str = "digit.png") -> dict:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return {"name": name, "data": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}


def decode(url_or_bytes) -> np.ndarray:
    data = base64.b64decode(url_or_bytes.split(",", 1)[1]) if isinstance(url_or_bytes, str) else url_or_bytes
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


def squares(seed: int) -> np.ndarray:
    from gankit.data.synthetic import draw_squares

    return draw_squares(1, seed=seed)[0][0, 0].numpy()  # (28, 28) uint8


def test_each_page_lists_only_the_runs_it_can_use(server):
    listed = {page: [(r["name"], r["kind"]) for r in json.loads(get(f"{server}/api/{page}/info")[1])["runs"]]
              for page in ("sample", "interpolate", "edit", "restore")}
    assert listed["sample"] == listed["interpolate"] == listed["edit"] == [("group/cond", "images"), ("tiny", "images")]
    assert listed["restore"] == [("restore/inpaint", "restoration"), ("restore/sr2", "restoration")]
    restore = {r["name"]: r for r in json.loads(get(f"{server}/api/restore/info")[1])["runs"]}
    assert (restore["restore/inpaint"]["task"], restore["restore/sr2"]["task"], restore["restore/sr2"]["scale"]) == \
        ("inpaint", "super_resolution", 2)


def test_the_demo_run_comes_first_and_labelled(tmp_path):
    from gankit.studio.capabilities import runs_for

    for name, model in (("alpha", "mlp"), ("demo", "mlp"), ("points", "mlp2d")):
        (tmp_path / name).mkdir()
        data = "ring" if model == "mlp2d" else "mnist"
        (tmp_path / name / "config.yaml").write_text(f"data: {{name: {data}}}\nmodel: {{name: {model}}}\n")
    assert [(r.name, r.label) for r in runs_for(tmp_path, "edit")] == [("demo", "demo (demo run)"), ("alpha", "alpha")]
    assert [r.name for r in runs_for(tmp_path, "sample")] == ["demo", "alpha", "points"]
    assert runs_for(tmp_path, "restore") == []


def test_interpolation_ends_are_the_samples_of_the_seeds(server, runs_dir, tmp_path):
    status, data = get(f"{server}/api/interpolate/draw?run=tiny&seeds=3,5&frames=4&method=linear&format=png")
    assert status == 200
    strip = decode(data)
    assert strip.shape == (28, 5 * 28)
    for seed, frame in ((3, strip[:, :28]), (5, strip[:, -28:])):
        assert main(["sample", str(runs_dir / "tiny"), "--seed", str(seed), "--num", "1", "--out", str(tmp_path / f"{seed}.npz")]) == 0
        assert np.array_equal(frame, np.load(tmp_path / f"{seed}.npz")["images"][0, 0])
    assert main(["interpolate", str(runs_dir / "tiny"), "--seeds", "3,5", "--frames", "4", "--method", "linear",
                 "--out", str(tmp_path / "walk.gif")]) == 0
    status, gif = get(f"{server}/api/interpolate/draw?run=tiny&seeds=3,5&frames=4&method=linear&format=gif")
    assert status == 200 and gif == (tmp_path / "walk.gif").read_bytes()


def test_interpolation_of_a_conditional_run_between_uploaded_images_equals_the_cli(server, runs_dir, tmp_path):
    files = []
    for seed in (1, 2):
        Image.fromarray(squares(seed)).save(tmp_path / f"sq{seed}.png")
        files.append(str(tmp_path / f"sq{seed}.png"))
    assert main(["interpolate", str(runs_dir / "group" / "cond"), "--images", ",".join(files), "--classes", "3,4", "--steps",
                 str(STEPS), "--frames", "3", "--out", str(tmp_path / "between.png")]) == 0
    status, job = post(f"{server}/api/interpolate/images", {"run": "group/cond", "classes": "3,4", "steps": STEPS, "frames": 3,
                                                          "images": [png_upload(squares(1), "sq1.png"), png_upload(squares(2), "sq2.png")]})
    assert status == 200, job
    job = wait_job(server, job)
    assert job["state"] == "done", job
    assert np.array_equal(decode(job["result"]["png"]), decode((tmp_path / "between.png").read_bytes()))


@pytest.mark.parametrize("run, extra, flags", [("tiny", {"strength": 3}, ["--strength", "3"]),
                                               ("group/cond", {"from": 2}, ["--from", "2"])])
def test_edit_equals_gankit_edit(server, runs_dir, tmp_path, run, extra, flags):
    image = squares(7)
    Image.fromarray(image).save(tmp_path / "in.png")
    assert main(["edit", str(runs_dir / run), "--input", str(tmp_path / "in.png"), "--toward", "6", "--steps", str(STEPS),
                 "--samples", "10000", *flags, "--out", str(tmp_path / "out.png"), "--strip", str(tmp_path / "strip.png")]) == 0
    status, job = post(f"{server}/api/edit/run", {"run": run, "image": png_upload(image, "in.png"), "toward": 6, "steps": STEPS, **extra})
    assert status == 200, job
    result = wait_job(server, job)["result"]
    assert np.array_equal(decode(result["edited"]), decode((tmp_path / "out.png").read_bytes()))
    assert np.array_equal(decode(result["strip"]), decode((tmp_path / "strip.png").read_bytes()))
    assert np.array_equal(decode(result["image"]), image)


def test_edit_example_is_the_test_image(server):
    from gankit.data import load_dataset

    status, data = get(f"{server}/api/edit/example?run=tiny&index=5")
    assert status == 200 and np.array_equal(decode(data), load_dataset("squares", "test").images[5, 0].numpy())


@pytest.mark.parametrize("run", ["restore/inpaint", "restore/sr2"])
def test_restore_equals_the_restoration_pipeline(server, runs_dir, run):
    import gankit

    pipeline = gankit.load(runs_dir / run)
    inpaint = run.endswith("inpaint")
    image = squares(3) if inpaint else np.asarray(Image.fromarray(squares(3)).resize((14, 14), Image.BICUBIC))
    body = {"run": run, "image": png_upload(image)}
    mask = None
    if inpaint:
        mask = np.zeros((28, 28), dtype=bool)
        mask[5:12, 9:20] = True
        body["mask"] = png_upload((mask * 255).astype(np.uint8), "mask.png")
    status, result = post(f"{server}/api/restore/run", body)
    assert status == 200, result
    expected = pipeline.restore(torch.from_numpy(image.copy())[None, None], None if mask is None else torch.from_numpy(mask)[None, None])
    assert np.array_equal(decode(result["restored"]), expected[0, 0].numpy())
    if inpaint:
        assert result["masked_pixels"] == int(mask.sum())
        assert np.array_equal(decode(result["restored"])[~mask], image[~mask])  # the known pixels pass through


def test_restore_example_is_the_degraded_test_image(server):
    from gankit.data import load_dataset
    from gankit.restore import downscale

    status, data = get(f"{server}/api/restore/example?run=restore/sr2&index=2")
    clean = load_dataset("squares", "test").images[2:3].double()
    expected = downscale(clean / 127.5 - 1, 2).add(1).mul(127.5).round().clamp(0, 255)[0, 0].numpy()
    assert status == 200 and np.abs(decode(data).astype(float) - expected).max() <= 1


def bomb() -> dict:
    buffer = io.BytesIO()
    Image.new("L", (5000, 5000)).save(buffer, format="PNG", optimize=True)  # 25 million pixels in a few kB
    return {"name": "bomb.png", "data": base64.b64encode(buffer.getvalue()).decode()}


@pytest.mark.parametrize("route, body, needle", [
    ("restore/run", {"run": "restore/sr2", "image": {"name": "x.png", "data": base64.b64encode(b"not an image").decode()}},
     "not a readable image"),
    ("restore/run", {"run": "restore/sr2", "image": {"name": "x.png", "data": "@@@"}}, "not base64"),
    ("restore/run", {"run": "restore/sr2", "image": bomb()}, "pixels is more than the limit"),
    ("restore/run", {"run": "restore/sr2", "image": png_upload(np.zeros((28, 28), np.uint8), "big.png")},
     "big.png: 28x28 pixels; expected a 14x14 gray image"),
    ("restore/run", {"run": "restore/sr2", "image": png_upload((np.zeros((14, 14, 3)) + [0, 0, 255]).astype(np.uint8), "blue.png")},
     "blue.png: a colour image"),
    ("restore/run", {"run": "restore/inpaint", "image": png_upload(np.zeros((28, 28), np.uint8))}, "paint the missing pixels"),
    ("restore/run", {"run": "restore/inpaint", "image": png_upload(np.zeros((28, 28), np.uint8)),
                     "mask": png_upload(np.zeros((28, 28), np.uint8))}, "no pixel is painted"),
    ("restore/run", {"run": "restore/sr2", "image": png_upload(np.zeros((14, 14), np.uint8)),
                     "mask": png_upload(np.zeros((28, 28), np.uint8))}, "takes no mask"),
    ("restore/run", {"run": "tiny", "image": png_upload(np.zeros((28, 28), np.uint8))}, "draws images from noise"),
    ("restore/run", {"run": "../outside", "image": png_upload(np.zeros((28, 28), np.uint8))}, "no such run"),
    ("restore/run", {"run": "/etc", "image": png_upload(np.zeros((28, 28), np.uint8))}, "absolute path"),
    ("edit/run", {"run": "tiny", "image": png_upload(np.zeros((28, 28), np.uint8)), "toward": 12}, "classes 0..9"),
    ("edit/run", {"run": "tiny", "image": png_upload(np.zeros((28, 28), np.uint8)), "toward": 1, "steps": 5000}, "outside 1..1000"),
    ("edit/run", {"run": "group/cond", "image": png_upload(np.zeros((28, 28), np.uint8)), "toward": 1, "strength": 2}, "leave it empty"),
    ("edit/run", {"run": "restore/sr2", "image": png_upload(np.zeros((28, 28), np.uint8)), "toward": 1}, "a restoration run"),
    ("edit/run", {"run": "tiny", "toward": 1}, "send the image as"),
    ("interpolate/images", {"run": "tiny", "images": [png_upload(np.zeros((28, 28), np.uint8))]}, "upload 2 to 4 images"),
])
def test_bad_requests_are_one_line(server, route, body, needle):
    status, answer = post(f"{server}/api/{route}", body)
    assert status == 400 and needle in answer["error"] and "\n" not in answer["error"], answer


@pytest.mark.parametrize("query, needle", [
    ("run=tiny&seeds=1", "give 2 to 16 seeds"), ("run=tiny&seeds=1,x", "comma-separated whole numbers"),
    ("run=tiny&seeds=1,2&frames=0", "frames: 0 is outside 1..64"), ("run=tiny&seeds=1,2&method=cubic", "choose one of"),
    ("run=tiny&seeds=1,2&classes=1,2", "unconditional"), ("run=group/cond&seeds=1,2&classes=1,2,3", "one class per code"),
    ("run=escape&seeds=1,2", "outside RUNS_DIR"), ("run=tiny&seeds=1,2&format=exe", "choose png or gif"),
])
def test_bad_interpolation_queries_are_one_line(server, runs_dir, tmp_path_factory, query, needle):
    import os

    outside = tmp_path_factory.mktemp("outside")
    (outside / "config.yaml").write_text("data: {name: squares}\n")
    if not (runs_dir / "escape").exists():
        os.symlink(outside, runs_dir / "escape")
    status, data = get(f"{server}/api/interpolate/draw?{query}")
    assert status == 400 and needle in json.loads(data)["error"]


def test_an_unknown_job_is_one_line(server):
    status, data = get(f"{server}/api/jobs?id=nope")
    assert status == 400 and "no such job" in json.loads(data)["error"]
