"""The mode benchmark trains a config once per seed and resumes a run it finds from its newest checkpoint."""

from __future__ import annotations

import pytest
import yaml

from gankit.evaluation.bench import run_config
from tests.reliability.conftest import assert_same_training_state, read_payload

TINY_RING = {
    "data": {"name": "ring"},
    "model": {"name": "mlp2d", "latent_dim": 4, "options": {"g_hidden": [16], "d_hidden": [16]}},
    "train": {"batch_size": 64, "max_steps": 6, "log_every": 2, "checkpoint_every": 3, "num_samples": 64},
}


@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "ring.yaml"
    path.write_text(yaml.safe_dump(TINY_RING))
    return path


def test_a_run_is_resumed_from_its_newest_checkpoint_as_if_never_stopped(tmp_path, config):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    benchmark, score = run_config(config, 1, straight, max_steps=6, max_minutes=None, retrain=False)
    assert benchmark == "ring" and score.num_modes == 8

    run_config(config, 1, resumed, max_steps=3, max_minutes=None, retrain=False)
    run_dir = resumed / "ring-seed1"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["ckpt-000000003.ckpt"]
    _, again = run_config(config, 1, resumed, max_steps=6, max_minutes=None, retrain=False)  # steps 4..6 only
    final = run_dir / "checkpoints" / "ckpt-000000006.ckpt"
    assert_same_training_state(read_payload(final), read_payload(straight / "ring-seed1" / "checkpoints" / "ckpt-000000006.ckpt"))
    assert again == score  # the same generator scored with the same seed

    written = final.stat().st_mtime_ns
    run_config(config, 1, resumed, max_steps=6, max_minutes=None, retrain=False)  # trained already: nothing to do
    assert final.stat().st_mtime_ns == written
    run_config(config, 1, resumed, max_steps=3, max_minutes=None, retrain=True)  # --retrain starts afresh
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["ckpt-000000003.ckpt"]
