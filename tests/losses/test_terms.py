"""The loss-term registry: a term registered from this file alone is added to D's loss and logged.

The reference is the same step without the term: with the same seed, D's outputs
before its first update are the same, so D's loss must grow by exactly the
weighted term, and the term's value must be the mean squared real logit of that
step (the epsilon-drift penalty of Karras et al., "Progressive Growing of GANs",
ICLR 2018, Sec. A.1).
"""

from __future__ import annotations

import pytest
import torch

from gankit.losses.terms import DiscriminatorStep, register_term, registered_terms, unregister_term
from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer

DRIFT = 1e-3


def _trainer(tmp_path):
    raw = {
        "data": {"name": "squares"},
        "model": {"name": "mlp", "latent_dim": 8, "options": {"g_hidden": [16], "d_hidden": [16], "dropout": 0.0}},
        "train": {"batch_size": 16, "num_samples": 4, "log_every": 1},
    }
    return Trainer(config_from_dict(raw), tmp_path)


@pytest.fixture
def drift_term():
    seen = []

    @register_term("test_drift", stat="drift")
    def drift(step: DiscriminatorStep):
        value = step.real.logits.pow(2).mean()
        seen.append(step.real.logits.detach().clone())
        return DRIFT * value, value

    yield seen
    unregister_term("test_drift")


def test_built_in_terms_keep_their_order():
    names = [term.name for term in registered_terms()]
    assert names[:7] == ["reconstruction", "auxiliary_classifier", "twin_classifier", "info", "gradient_penalty", "r1", "top_k"]


def test_a_term_registered_here_is_added_to_the_discriminator_loss(tmp_path, drift_term):
    with_term = _trainer(tmp_path / "a")
    stats = with_term.train_step(*with_term.next_batch(), with_stats=True)
    unregister_term("test_drift")
    without = _trainer(tmp_path / "b")
    reference = without.train_step(*without.next_batch(), with_stats=True)
    assert "drift" not in reference and "test_drift" not in [t.name for t in registered_terms()]
    (real_logits,) = drift_term
    assert stats["drift"] == pytest.approx(float(real_logits.pow(2).mean()), rel=1e-6)
    assert stats["d_loss"] == pytest.approx(reference["d_loss"] + DRIFT * stats["drift"], rel=1e-6)
    assert not torch.equal(next(with_term.discriminator.parameters()), next(without.discriminator.parameters()))


def test_d_step_and_g_step_are_the_train_step(tmp_path):
    stepped, whole = _trainer(tmp_path / "a"), _trainer(tmp_path / "b")
    real, labels = stepped.next_batch()
    d_stats = stepped.d_step(real, labels, with_stats=True)
    g_stats = stepped.g_step(with_stats=True)
    stats = whole.train_step(*whole.next_batch(), with_stats=True)
    assert d_stats["d_loss"] == stats["d_loss"] and g_stats["g_loss"] == stats["g_loss"]
    for a, b in zip(stepped.generator.parameters(), whole.generator.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(stepped.discriminator.parameters(), whole.discriminator.parameters()):
        assert torch.equal(a, b)
