"""gankit bench seeds: one run per seed, resumed not retrained, each figure's mean and spread checked by hand."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from gankit.cli import main
from gankit.evaluation.seeds import summary

TINY_RING = {
    "data": {"name": "ring"},
    "model": {"name": "mlp2d", "latent_dim": 4, "options": {"g_hidden": [16], "d_hidden": [16]}},
    "train": {"batch_size": 64, "max_steps": 4, "log_every": 2, "checkpoint_every": 2, "num_samples": 64},
}


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("gankit.metrics.evaluate.MEMORISATION_TRAIN", 1000)  # a small nearest-neighbour search
    path = tmp_path / "ring.yaml"
    path.write_text(yaml.safe_dump(TINY_RING))
    return path


def test_summary_by_hand():
    entry = summary([1.0, 2.0, 4.0])
    assert entry["mean"] == pytest.approx(7 / 3) and entry["min"] == 1.0 and entry["max"] == 4.0
    assert entry["std"] == pytest.approx(math.sqrt(7 / 3))  # ((4/3)^2 + (1/3)^2 + (5/3)^2) / 2 = 7/3
    assert summary([0.5])["std"] is None and summary([0.5])["mean"] == 0.5
    assert summary([2.0, None, float("inf")]) == {"values": [2.0, None, None], "mean": 2.0, "std": None, "min": 2.0, "max": 2.0}


def test_each_seed_is_trained_evaluated_and_summarised(tmp_path, config, capsys):
    out = tmp_path / "seeds"
    assert main(["bench", "seeds", str(config), "--seeds", "0,1", "--out", str(out), "--max-steps", "2", "--num", "200",
                 "--metrics", "fid,pr,memorisation"]) == 0
    table = capsys.readouterr().out
    record = json.loads((out / "seeds.json").read_text())
    assert record["seeds"] == [0, 1] and record["num"] == 200 and record["dataset"] == "ring"
    assert [r["step"] for r in record["runs"]] == [2, 2] and all(r["finished"] for r in record["runs"])
    evals = [json.loads((out / f"ring-seed{s}" / "eval.json").read_text()) for s in (0, 1)]
    for name in ("fid", "precision", "nn_ratio", "z_u", "fid_test"):
        a, b = (e["metrics"][name] for e in evals)
        entry = record["figures"][name]
        assert entry["values"] == [a, b]
        assert entry["mean"] == pytest.approx((a + b) / 2) and entry["std"] == pytest.approx(abs(a - b) / math.sqrt(2))
        assert entry["min"] == min(a, b) and entry["max"] == max(a, b) and entry["floor"] == evals[0]["floor"][name]
    assert record["figures"]["modes"]["values"] == [e["modes"]["modes"] for e in evals]
    assert "seed 0" in table and "seed 1" in table and "mean" in table and "nn_ratio" in table

    # Resumed, not retrained: seed 0 goes on from step 2 to 4; a second call trains nothing.
    assert main(["bench", "seeds", str(config), "--seeds", "0", "--out", str(out), "--max-steps", "4", "--num", "200",
                 "--metrics", "fid", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["runs"][0]["step"] == 4 and "nn_ratio" not in record["figures"]
    checkpoints = sorted(p.name for p in (out / "ring-seed0" / "checkpoints").iterdir())
    assert checkpoints[-1] == "ckpt-000000004.ckpt"
    written = (out / "ring-seed0" / "checkpoints" / checkpoints[-1]).stat().st_mtime_ns
    assert main(["bench", "seeds", str(config), "--seeds", "0", "--out", str(out), "--max-steps", "4", "--num", "200",
                 "--metrics", "fid"]) == 0
    assert (out / "ring-seed0" / "checkpoints" / checkpoints[-1]).stat().st_mtime_ns == written


@pytest.mark.parametrize("argv, message", [
    (["missing.yaml", "--out", "{tmp}/o"], "missing.yaml: no such config file or preset"),
    (["{config}", "--seeds", "0,a", "--out", "{tmp}/o"], "--seeds '0,a': expected comma-separated integers"),
    (["{config}", "--seeds", "1,1", "--out", "{tmp}/o"], "a seed is repeated"),
    (["{config}", "--out", "{config}"], "is a file; give a directory"),
    (["{config}", "--out", "{tmp}/o", "--max-steps", "0"], "--max-steps: 0 must be at least 1"),
    (["{config}", "--out", "{tmp}/o", "--num", "5"], "--num: 5 is outside 10..200000"),
    (["{config}", "--out", "{tmp}/o", "--metrics", "fdi"], "unknown metric 'fdi'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, config, capsys, argv, message):
    argv = [a.format(tmp=tmp_path, config=config) for a in argv]
    assert main(["bench", "seeds", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gankit: error: ") and "\n" not in err and message in err
    assert not (tmp_path / "o").exists()
