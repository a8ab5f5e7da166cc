"""docs/lessons/loop.py, the seven-step loop of lesson 2, gives gankit's Trainer's losses bit for bit.

50 float32 steps of the reference preset mnist_mlp (on the synthetic squares, which have MNIST's shape, so the
test needs no download), from the same starting weights, on the same batches and noise and global random state.

pytest run: PYTHONPATH=src python -m pytest tests/lessons/test_the_loop.py
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import torch

from gankit.training.config import load_config
from gankit.training.trainer import Trainer
from tests.conftest import step_and_replay_noise

LOOP = Path(__file__).parents[2] / "docs" / "lessons" / "loop.py"


def load_loop():
    spec = importlib.util.spec_from_file_location("lesson_loop", LOOP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_both(tmp_path, steps: int, second_noise: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    cfg = load_config("mnist_mlp", ["data.name=squares"])
    assert cfg.train.precision == "fp32" and cfg.model.name == "mlp"
    trainer = Trainer(cfg, tmp_path / "run")
    generator, discriminator = copy.deepcopy(trainer.generator), copy.deepcopy(trainer.discriminator)
    rng = torch.get_rng_state()
    trainer.generator.train(), trainer.discriminator.train()
    expected, batches, noises = [], [], []
    for _ in range(steps):
        real, _ = trainer.next_batch()
        stats, z, _ = step_and_replay_noise(trainer, real)
        trainer.step += 1
        expected.append([stats["d_loss"], stats["g_loss"]])
        batches.append(real)
        noises.append(z)
    trainer.metrics_log.close()

    loop = load_loop()
    torch.set_rng_state(rng)
    opt_g, opt_d = loop.make_optimizers(generator, discriminator, cfg.optim.lr_g, (cfg.optim.beta1, cfg.optim.beta2))
    second = torch.Generator().manual_seed(123)
    got = []
    for real, z in zip(batches, noises):
        z_g = torch.randn(z.shape, generator=second) if second_noise else None
        d_loss, g_loss = loop.train_step(generator, discriminator, opt_g, opt_d, real, z, z_g)
        assert d_loss.dtype == torch.float32
        got.append([float(d_loss), float(g_loss)])
    return torch.tensor(expected, dtype=torch.float32), torch.tensor(got, dtype=torch.float32)


def test_loop_gives_the_trainers_losses_bit_for_bit(tmp_path):
    expected, got = run_both(tmp_path, 50)
    assert torch.equal(got, expected)
    assert expected[:, 0].std() > 0  # the losses move: the check compares 50 different steps


def test_a_second_noise_batch_for_g_changes_the_losses(tmp_path):
    expected, got = run_both(tmp_path, 3, second_noise=True)
    assert got[0, 0] == expected[0, 0]  # D's first update is the same
    assert got[0, 1] != expected[0, 1]  # G's is not: it sees other fakes
