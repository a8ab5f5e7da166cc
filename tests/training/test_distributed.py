"""torchrun with 2 CPU processes (gloo on 127.0.0.1) against one process with the same global batch.

A 2-process step is the 1-process step on the same global batch cut in halves, so
the weights agree up to float summation order: after 6 steps of the tiny MLP the
largest difference measured is about 1e-6, and the test allows 1e-5 (absolute)
+ 1e-4 (relative). Data order and noise streams are equal exactly.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from gankit.cli import main
from gankit.errors import ConfigError
from gankit.run import read_checkpoint_file
from gankit.training.config import TrainConfig
from gankit.training.distributed import run_on_main
from gankit.training.strategy import resolve_batch

TOLERANCE = {"atol": 1e-5, "rtol": 1e-4}
STEPS = 6

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="this PyTorch has no torch.distributed")


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({
        "data": {"name": "squares"},
        # No dropout: its masks are drawn per process and would differ from one process's.
        "model": {"name": "mlp", "latent_dim": 16, "options": {"g_hidden": [32], "d_hidden": [32], "dropout": 0.0}},
        "train": {"batch_size": 32, "max_steps": STEPS, "checkpoint_every": 3, "log_every": 2, "num_samples": 16, "device": "cpu"},
    }))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args: str, processes: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    if sys.platform.startswith("linux"):
        env["GLOO_SOCKET_IFNAME"] = "lo"  # loopback only
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
               "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m", "gankit", *args, "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _final(run_dir: Path) -> dict:
    return read_checkpoint_file(run_dir / "checkpoints" / f"ckpt-{STEPS:09d}.ckpt")


def _assert_same_training_state(a: dict, b: dict) -> None:
    assert a["step"] == b["step"] == STEPS
    assert torch.equal(a["rng"]["noise"], b["rng"]["noise"])  # the same noise was drawn in total
    for network in ("generator", "discriminator"):
        assert a[network].keys() == b[network].keys()
        for name in a[network]:
            torch.testing.assert_close(a[network][name], b[network][name], **TOLERANCE, msg=f"{network}.{name}")
    for optimiser in ("opt_g", "opt_d"):
        for index, state in a[optimiser]["state"].items():
            torch.testing.assert_close(state["exp_avg"], b[optimiser]["state"][index]["exp_avg"], **TOLERANCE)


def _from_step_3(run_dir: Path, copy: Path) -> Path:
    shutil.copytree(run_dir, copy)
    (copy / "checkpoints" / f"ckpt-{STEPS:09d}.ckpt").unlink()
    return copy


def test_two_processes_match_one_and_resume_on_either_count(tmp_path):
    config = _config(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["train", str(config), "--run-dir", str(one), "--no-progress"]) == 0
    _torchrun("train", str(config), "--run-dir", str(two))
    _assert_same_training_state(_final(one), _final(two))

    # Only rank 0 wrote: one metrics line per logged step, the per-process batch recorded in the config.
    records = [json.loads(line) for line in (two / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6]
    saved = yaml.safe_load((two / "config.yaml").read_text())["train"]
    assert (saved["batch_size"], saved["batch_per_process"]) == (32, 16)
    # Logged statistics are over the global batch: they match the single process's.
    single = [json.loads(line) for line in (one / "metrics.jsonl").read_text().splitlines()]
    for mine, theirs in zip(records, single):
        assert mine["d_loss"] == pytest.approx(theirs["d_loss"], abs=1e-5)
        assert mine["d_real"] == pytest.approx(theirs["d_real"], abs=1e-5)

    # A checkpoint written by 2 processes resumes on 1, and one written by 1 resumes on 2.
    two_to_one = _from_step_3(two, tmp_path / "two_to_one")
    assert main(["train", "--resume", str(two_to_one), "--no-progress"]) == 0
    _assert_same_training_state(_final(one), _final(two_to_one))
    one_to_two = _from_step_3(one, tmp_path / "one_to_two")
    _torchrun("train", "--resume", str(one_to_two))
    _assert_same_training_state(_final(one), _final(one_to_two))


def test_self_conditioning_on_two_processes_matches_one(tmp_path):
    """data.clusters: both processes condition on the same clusters, and the run matches one process's."""
    config = tmp_path / "selfcond.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"name": "squares", "clusters": 3, "recluster_every": 2},
        # An MLP G (no BatchNorm) and no dropout: the same computation on one process and on two.
        "model": {"name": "hybrid_cond", "latent_dim": 16,
                  "options": {"generator": "mlp", "g_hidden": [32], "d_hidden": [32], "dropout": 0.0, "d_width": 4}},
        "train": {"batch_size": 32, "max_steps": STEPS, "checkpoint_every": 3, "log_every": 2, "num_samples": 16, "device": "cpu"},
    }))
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["train", str(config), "--run-dir", str(one), "--no-progress"]) == 0
    _torchrun("train", str(config), "--run-dir", str(two))
    a, b = _final(one), _final(two)
    assert torch.equal(a["cluster_labels"], b["cluster_labels"])
    assert a["class_prior"] == pytest.approx(b["class_prior"])
    _assert_same_training_state(a, b)


def test_the_global_batch_must_split_evenly():
    train = TrainConfig(batch_size=30)
    assert resolve_batch(train, 3) == 10 and train.batch_per_process == 10
    with pytest.raises(ConfigError, match="does not split evenly over 4 processes"):
        resolve_batch(TrainConfig(batch_size=30), 4)
    with pytest.raises(ConfigError, match="batch_per_process"):
        resolve_batch(TrainConfig(batch_size=32, batch_per_process=8), 2)


def test_single_process_helpers_run_in_place():
    calls = []
    run_on_main(None, lambda: calls.append(1))
    assert calls == [1]


def test_device_flag(tmp_path, capsys):
    config = _config(tmp_path)
    args = ["train", str(config), "--run-dir", str(tmp_path / "run"), "--no-progress", "--max-steps", "1"]
    if not torch.cuda.is_available():
        assert main([*args, "--device", "cuda"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "'cuda' is not available" in err[0]
    assert main([*args, "--device", "cpu", "--overwrite"]) == 0
    assert "device: cpu" in (tmp_path / "run" / "config.yaml").read_text()
    assert main(["train", "--resume", str(tmp_path / "run"), "--device", "cpu", "--max-steps", "2", "--no-progress"]) == 0

