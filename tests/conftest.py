"""Shared fixtures. Tests run on the CPU, offline except the MNIST fetch test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


def step_and_replay_noise(trainer, real, labels=None):
    """One training step with statistics, then the (z, fake labels) it drew, drawn again from the same RNG state."""
    noise_state = trainer.noise.get_state()
    stats = trainer.train_step(real, labels, with_stats=True)
    trainer.noise.set_state(noise_state)
    z, fake_labels = trainer.sample_noise(real.shape[0])
    return stats, z, fake_labels


def tiny_config_dict(**train) -> dict:
    """A config for a few fast steps of the reference MLP on the synthetic squares."""
    return {
        "data": {"name": "squares"},
        "model": {"name": "mlp", "latent_dim": 16, "options": {"g_hidden": [32, 64], "d_hidden": [64, 32]}},
        "train": {"batch_size": 32, "log_every": 2, "checkpoint_every": 5, "num_samples": 16, **train},
    }


@pytest.fixture
def tiny_config_file(tmp_path: Path) -> Path:
    import yaml

    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_config_dict()))
    return path
