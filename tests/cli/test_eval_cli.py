"""gankit eval / evaluator / report / bench: tables, JSON, and one-line errors (exit 2) for bad input."""

import json

import numpy as np
import pytest
import yaml

from gankit.cli import main
from gankit.data.toy2d import RING

TINY_RING = {
    "data": {"name": "ring"},
    "model": {"name": "mlp2d", "latent_dim": 4, "options": {"g_hidden": [16], "d_hidden": [16]}},
    "train": {"batch_size": 64, "max_steps": 6, "log_every": 2, "checkpoint_every": 3, "num_samples": 64, "fid_every": 3, "fid_samples": 200},
}


def one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error: ") and "\n" not in err and "Traceback" not in err
    return err


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path


@pytest.fixture
def log_lines(monkeypatch):
    """gankit's log handler writes to the stderr of the test that first ran ``main``; start a fresh one here."""
    import logging

    monkeypatch.setattr(logging.getLogger("gankit"), "handlers", [])


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ring")
    config = root / "ring.yaml"
    config.write_text(yaml.safe_dump(TINY_RING))
    assert main(["train", str(config), "--run-dir", str(root / "run"), "--no-progress"]) == 0
    return config, root / "run"


def test_eval_samples_file_prints_json_with_the_floor(isolated, capsys):
    path = isolated / "ring.npz"
    np.savez(path, images=RING.sample(500, seed=9)[0].numpy())
    assert main(["eval", "--samples", str(path), "--dataset", "ring", "--metrics", "fid,pr", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result["metrics"]) == {"fid", "precision", "recall"} and result["floor_num"] == 500
    assert result["modes"]["modes"] == 8 and result["modes"]["num_modes"] == 8


def test_eval_run_prints_a_table(isolated, ring_run, capsys):
    _, run_dir = ring_run
    assert main(["eval", str(run_dir), "--num", "300", "--metrics", "fid"]) == 0
    out = capsys.readouterr().out
    assert "samples (300)" in out and "floor (300 test)" in out and "modes" in out
    assert "scored on raw vectors" in one_line_error(capsys, ["eval", str(run_dir), "--by-class"])  # before sampling


def test_eval_scores_the_points_gankit_sample_wrote_as_the_run_itself(isolated, ring_run, capsys):
    _, run_dir = ring_run
    path = isolated / "points.npz"
    assert main(["sample", str(run_dir), "--num", "300", "--seed", "0", "--out", str(path)]) == 0
    assert np.load(path)["points"].dtype == np.float32
    capsys.readouterr()
    assert main(["eval", "--samples", str(path), "--dataset", "ring", "--metrics", "fid", "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert main(["eval", str(run_dir), "--num", "300", "--metrics", "fid", "--json"]) == 0
    from_run = json.loads(capsys.readouterr().out)
    assert from_file["metrics"] == from_run["metrics"] and from_file["modes"] == from_run["modes"]


def test_training_logged_fid_and_marked_the_best_checkpoint(ring_run):
    _, run_dir = ring_run
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "fid" in r] == [3, 6]
    best = json.loads((run_dir / "best.json").read_text())
    assert best["fid"] == min(r["fid"] for r in records if "fid" in r)
    assert (run_dir / best["checkpoint"]).is_file()


@pytest.mark.parametrize("argv,message", [
    (["eval"], "give either a RUN_DIR or --samples"),
    (["eval", "--samples", "missing.npz", "--dataset", "ring"], "file not found"),
    (["eval", "--samples", "{npz}"], "--samples needs --dataset"),
    (["eval", "--samples", "{npz}", "--dataset", "squares"], "must be uint8 (N, 1, 28, 28) images"),
    (["eval", "--samples", "{npz}", "--dataset", "ring", "--metrics", "fid,bogus"], "unknown metric 'bogus'"),
    (["eval", "--samples", "{npz}", "--dataset", "ring", "--num", "5"], "--num: 5 is outside"),
    (["eval", "--samples", "{other}", "--dataset", "ring"], "no 'images' or 'points' array"),
    (["eval", "--samples", "{squares}", "--dataset", "squares", "--extractor", "inception"], "--inception-weights PATH"),
    (["evaluator", "show", "--dataset", "squares"], "gankit evaluator train --dataset squares"),
    (["report", "{tmp}"], "not a gankit run directory"),
    (["eval", "--samples", "{npz}", "--dataset", "ring", "--d-keep", "0.5"], "--d-keep needs a RUN_DIR"),
    (["eval", "{tmp}", "--d-keep", "2"], "--d-keep: 2.0 is outside (0, 1]"),
    (["bench", "modes"], "give one or more configs"),
    (["bench", "modes", "{tiny_squares}"], "'squares' is not a mode-collapse benchmark"),
])
def test_bad_input_is_one_line_and_exit_2(isolated, capsys, monkeypatch, argv, message):
    import torch

    monkeypatch.delenv("GANKIT_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(isolated / "hub"))
    np.savez(isolated / "ring.npz", images=RING.sample(50, seed=0)[0].numpy())
    np.savez(isolated / "other.npz", pictures=np.zeros(3))
    np.savez(isolated / "squares.npz", images=np.zeros((20, 1, 28, 28), dtype=np.uint8))
    (isolated / "tiny_squares.yaml").write_text(yaml.safe_dump({"data": {"name": "squares"}}))
    paths = {"npz": isolated / "ring.npz", "other": isolated / "other.npz", "tmp": isolated, "squares": isolated / "squares.npz", "tiny_squares": isolated / "tiny_squares.yaml"}
    argv = [a.format(**paths) for a in argv]
    assert message in one_line_error(capsys, argv)


def test_report_is_one_page_with_embedded_pictures(isolated, ring_run):
    _, run_dir = ring_run
    out = isolated / "report.html"
    assert main(["report", str(run_dir), "--out", str(out), "--num", "200"]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert page.count('src="data:image/png;base64,') >= 4  # curves, FID, samples, class histogram
    assert "<script" not in page and 'src="http' not in page


def test_bench_modes_prints_gankit_beside_the_anchors(isolated, ring_run, capsys):
    config, _ = ring_run
    assert main(["bench", "modes", str(config), "--runs-dir", str(isolated / "bench")]) == 0
    out = capsys.readouterr().out
    assert "gankit ring" in out and "real data" in out and "VEEGAN" in out and "GDPP" not in out
    assert main(["bench", "modes", "--anchors-only", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert not any("GDPP" in r["method"] or "GDPP" in r["source"] for r in rows)  # no stored copy of its tables confirms them
    pacgan4 = next(r for r in rows if r["method"] == "PacGAN4")
    assert (pacgan4["modes"], pacgan4["high_quality"], pacgan4["reverse_kl"]) == (24.8, 0.936, 0.04)
    assert any(r["method"] == "PacDCGAN2" and r["modes"] == 1000.0 and r["reverse_kl"] == 0.06 for r in rows)


def test_an_image_folder_run_is_scored_against_its_own_folder_and_size(isolated, capsys, log_lines):
    """A 32 px folder run: `gankit eval RUN` trains the folder's evaluator on first use, at 32 px, and
    `gankit evaluator train --run` finds it (the folder dataset alone has no folder and a 64 px default,
    which the samples would not match)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = isolated / "pictures"
    for label, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        (folder / label).mkdir(parents=True)
        for i in range(40):
            noise = rng.integers(-20, 21, (40, 40, 3))
            Image.fromarray(np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)).save(folder / label / f"{i}.png")
    config = isolated / "folder.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"name": "folder", "folder": str(folder), "image_size": 32},
        "model": {"name": "dcgan", "latent_dim": 8, "options": {"g_width": 4, "d_width": 4}},
        "train": {"batch_size": 16, "max_steps": 2, "log_every": 1, "checkpoint_every": 2, "num_samples": 4},
    }))
    run = isolated / "run"
    assert main(["train", str(config), "--run-dir", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--num", "20", "--metrics", "fid", "--json"]) == 0
    out, err = capsys.readouterr()
    announced = [line for line in err.splitlines() if "no domain evaluator" in line]
    assert announced == ["gankit: no domain evaluator for dataset 'folder' yet: training it once (30 epochs on 70 images, cached for later runs)"]
    assert sum("gankit: evaluator folder: epoch" in line for line in err.splitlines()) == 30  # progress, epoch by epoch
    first = json.loads(out)
    assert first["dataset"] == "folder" and first["metrics"]["fid"] > 0
    assert main(["eval", str(run), "--num", "20", "--metrics", "fid", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "training" not in err and "epoch" not in err  # the cached evaluator
    assert json.loads(out) == first
    assert main(["evaluator", "train", "--run", str(run)]) == 0  # the default recipe: already there
    assert "already trained" in capsys.readouterr().err
    assert main(["eval", str(run), "--num", "20", "--metrics", "pr", "--by-class", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["by_class"]
    assert [r["class"] for r in rows] == ["blue", "red"]  # the folder's sub-folders
    assert sum(r["real_share"] for r in rows) == pytest.approx(1.0) and sum(r["sample_share"] for r in rows) == pytest.approx(1.0)
    assert "gankit: error: give either --dataset NAME or --run RUN_DIR" in one_line_error(capsys, ["evaluator", "train"])


def test_eval_d_keep_scores_the_draws_d_rates_highest(isolated, ring_run, capsys):
    import torch

    from gankit.evaluation.run_eval import samples_from_run
    from gankit.sampling import draw_samples
    from gankit.sampling import load_run_discriminator, load_run_generator

    _, run_dir = ring_run
    kept = samples_from_run(str(run_dir), None, 100, 0, d_keep=0.5)
    generator, spec = load_run_generator(run_dir)
    drawn = draw_samples(generator, spec, 200, 0)
    with torch.no_grad():
        logits = load_run_discriminator(run_dir)(drawn).logits
    chosen = [i for i in range(200) if any(torch.equal(drawn[i], row) for row in kept)]
    assert len(chosen) == 100
    others = sorted(set(range(200)) - set(chosen))
    assert logits[chosen].min() >= logits[others].max()  # the top half, by D's own scores
    assert main(["eval", str(run_dir), "--num", "100", "--metrics", "fid", "--d-keep", "0.5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["num"] == 100


def test_eval_reports_memorisation_by_default_and_skips_it_on_request(isolated, ring_run, capsys, monkeypatch):
    _, run_dir = ring_run
    monkeypatch.setattr("gankit.metrics.evaluate.VECTOR_METRICS", ["fid"])  # the default list, without the slow KID
    monkeypatch.setattr("gankit.metrics.evaluate.MEMORISATION_TRAIN", 5000)
    assert main(["eval", str(run_dir), "--num", "300", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    for name in ("fid_test", "nn_ratio", "copy_share", "z_u", "authenticity"):
        assert name in result["metrics"] and name in result["floor"]
    assert result["floor"]["nn_ratio"] == 1.0 and result["floor"]["z_u"] == 0.0
    saved = json.loads((run_dir / "eval.json").read_text())
    assert saved["version"] == 1 and saved["metrics"]["z_u"] == result["metrics"]["z_u"]
    assert main(["eval", str(run_dir), "--num", "300", "--no-memorisation", "--json"]) == 0
    assert "nn_ratio" not in json.loads(capsys.readouterr().out)["metrics"]
    assert "--floor-draws: 0 is outside 1..100" in one_line_error(capsys, ["eval", str(run_dir), "--floor-draws", "0"])
