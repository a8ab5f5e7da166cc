"""``gankit export --format hf``: the model directory, and the one-line refusals."""

from __future__ import annotations

import torch

import gankit
from gankit.cli import main


def test_export_hf_round_trips(tiny_run, tmp_path):
    assert main(["export", str(tiny_run), "--format", "hf", "--out", str(tmp_path / "hf"), "--num-samples", "4"]) == 0
    assert torch.equal(gankit.load(tmp_path / "hf").sample(8, seed=1), gankit.load(tiny_run).sample(8, seed=1))


def test_push_is_hf_only(tiny_run, tmp_path, capsys):
    assert main(["export", str(tiny_run), "--format", "onnx", "--out", str(tmp_path / "g.onnx"), "--push", "me/x"]) == 2
    assert capsys.readouterr().err.strip() == "gankit: error: --push: only --format hf can be pushed to the Hugging Face Hub"


def test_not_a_run_is_one_line(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--format", "hf", "--out", str(tmp_path / "hf")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a gankit run, export or model directory" in err
    assert not (tmp_path / "hf").exists()
