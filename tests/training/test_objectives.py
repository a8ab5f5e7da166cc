"""The objective registry: an objective registered from this file alone trains a step."""

from __future__ import annotations

import pytest
import torch

from gankit.errors import ConfigError
from gankit.training.config import config_from_dict
from gankit.training.objectives import OBJECTIVES, create_objective, objective_for_model, register_objective
from gankit.training.trainer import Trainer


@pytest.fixture
def generator_only():
    @register_objective("test_generator_only")
    class GeneratorOnly:
        """G learns to make D's logits large; D stays as it is."""

        def __init__(self, trainer):
            self.trainer = trainer

        def train_step(self, real, real_labels, with_stats=False):
            t = self.trainer
            z, _ = t.sample_noise(real.shape[0])
            t.discriminator.requires_grad_(False)
            loss = -t.discriminate(t.generate(z, None), None).logits.mean()
            norm = t.update("generator", loss, t.opt_g, t.generator)
            t.discriminator.requires_grad_(True)
            return {"g_loss": float(loss.detach()), "grad_norm_g": float(norm)} if with_stats else {}

    yield GeneratorOnly
    OBJECTIVES._entries.pop("test_generator_only")


def _trainer(tmp_path, model="mlp", options=None, n_critic=1):
    raw = {"data": {"name": "squares"}, "model": {"name": model, "latent_dim": 8, "options": options or {"g_hidden": [16], "d_hidden": [16]}},
           "optim": {"n_critic": n_critic}, "train": {"batch_size": 16, "num_samples": 4}}
    return Trainer(config_from_dict(raw), tmp_path)


def test_model_families_choose_their_objective():
    assert objective_for_model("vae") == "vae"
    assert objective_for_model("dcgan") == objective_for_model("mlp") == "adversarial"
    with pytest.raises(ConfigError, match="unknown training objective 'nope'"):
        create_objective("nope", None)


def test_an_objective_registered_here_trains_a_step(tmp_path, generator_only):
    trainer = _trainer(tmp_path)
    trainer.objective = create_objective("test_generator_only", trainer)
    d_before = [p.detach().clone() for p in trainer.discriminator.parameters()]
    g_before = [p.detach().clone() for p in trainer.generator.parameters()]
    stats = trainer.train_step(*trainer.next_batch(), with_stats=True)
    assert set(stats) == {"g_loss", "grad_norm_g"}
    assert all(torch.equal(a, b) for a, b in zip(d_before, trainer.discriminator.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(g_before, trainer.generator.parameters()))


def test_the_vae_has_no_separate_updates(tmp_path):
    trainer = _trainer(tmp_path, "vae", {"g_width": 4, "d_width": 4})
    with pytest.raises(Exception, match="train_step"):
        trainer.d_step(*trainer.next_batch())


def _weights(trainer):
    return [p.detach().clone() for net in (trainer.generator, trainer.discriminator) for p in net.parameters()]


def test_d_step_then_g_step_is_one_train_step(tmp_path):
    """The public calls a web lab steps one at a time make up exactly the step the training loop takes."""
    whole, parts = _trainer(tmp_path / "whole"), _trainer(tmp_path / "parts")
    real, labels = whole.next_batch()
    torch.manual_seed(1)  # D's dropout masks come from the global generator
    whole.train_step(real, labels)
    torch.manual_seed(1)
    parts.d_step(real, labels)
    parts.g_step()
    assert all(torch.equal(a, b) for a, b in zip(_weights(whole), _weights(parts)))


def test_g_step_after_a_discriminator_only_step_draws_its_own_fakes(tmp_path):
    trainer = _trainer(tmp_path, n_critic=2)  # step 0 updates D alone: its fakes carry no graph through G
    before = [p.detach().clone() for p in trainer.generator.parameters()]
    trainer.train_step(*trainer.next_batch())
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters()))
    stats = trainer.g_step(with_stats=True)
    assert stats["grad_norm_g"] > 0
    assert not all(torch.equal(a, b) for a, b in zip(before, trainer.generator.parameters()))
