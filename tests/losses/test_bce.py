"""The minimax/non-saturating losses against hand-computed values and torch's BCE."""

import math

import torch
import torch.nn.functional as F
from torch.testing import assert_close

from gankit.losses import LOSSES, create_loss


def test_registry_has_both_generator_forms():
    assert {"non_saturating", "saturating"} <= set(LOSSES.names())


def test_zero_logits_give_log2():
    # D(x) = 0.5 everywhere: every BCE term is log 2.
    zeros = torch.zeros(5)
    ns, sat = create_loss("non_saturating"), create_loss("saturating")
    assert_close(ns.discriminator(zeros, zeros), torch.tensor(math.log(2)))
    assert_close(ns.generator(zeros), torch.tensor(math.log(2)))
    assert_close(sat.generator(zeros), torch.tensor(-math.log(2)))


def test_discriminator_loss_hand_computed():
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    # 0.5 * (-log sigmoid(2) - log(1 - sigmoid(-1)))
    expected = 0.5 * (-math.log(1 / (1 + math.exp(-2))) - math.log(1 - 1 / (1 + math.exp(1))))
    assert_close(create_loss("non_saturating").discriminator(real, fake), torch.tensor(expected))


def test_matches_torch_binary_cross_entropy():
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(64, generator=gen) * 3, torch.randn(64, generator=gen) * 3
    loss = create_loss("non_saturating")
    reference_d = 0.5 * (
        F.binary_cross_entropy(torch.sigmoid(real).double(), torch.ones(64, dtype=torch.double))
        + F.binary_cross_entropy(torch.sigmoid(fake).double(), torch.zeros(64, dtype=torch.double))
    )
    assert_close(loss.discriminator(real, fake).double(), reference_d, rtol=1e-5, atol=1e-6)
    reference_g = F.binary_cross_entropy(torch.sigmoid(fake).double(), torch.ones(64, dtype=torch.double))
    assert_close(loss.generator(fake).double(), reference_g, rtol=1e-5, atol=1e-6)
    # log(1 - D(G(z))) = -BCE against label 0
    reference_sat = -F.binary_cross_entropy(torch.sigmoid(fake).double(), torch.zeros(64, dtype=torch.double))
    assert_close(create_loss("saturating").generator(fake).double(), reference_sat, rtol=1e-5, atol=1e-6)


def test_stable_for_extreme_logits():
    big = torch.tensor([1e4, -1e4])
    for name in ("non_saturating", "saturating"):
        loss = create_loss(name)
        assert torch.isfinite(loss.discriminator(big, big))
        assert torch.isfinite(loss.generator(big))


def test_saturating_gradient_vanishes_when_d_rejects_fakes():
    # D confidently rejects the fake (logit -10): d/dl log(1 - sigmoid(l)) = -sigmoid(l) ~ -4.5e-5,
    # while the non-saturating loss keeps a gradient of -(1 - sigmoid(l)) ~ -1.
    logit = torch.tensor([-10.0], requires_grad=True)
    create_loss("saturating").generator(logit).backward()
    assert_close(logit.grad, -torch.sigmoid(torch.tensor([-10.0])))
    assert abs(float(logit.grad)) < 1e-4
    logit.grad = None
    create_loss("non_saturating").generator(logit).backward()
    assert_close(logit.grad, -(1 - torch.sigmoid(torch.tensor([-10.0]))))
