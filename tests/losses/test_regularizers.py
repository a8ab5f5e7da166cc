"""WGAN-GP, R1 and the VAE objective against closed forms."""

import math

import torch
from torch import nn

from gankit.losses.regularizers import gradient_penalty, r1_penalty
from gankit.losses.vae import gaussian_kl, negative_elbo


def _linear_critic(weight_norm: float) -> nn.Linear:
    torch.manual_seed(0)
    layer = nn.Linear(12, 1)
    with torch.no_grad():
        layer.weight.mul_(weight_norm / layer.weight.norm())
    return layer


def test_gradient_penalty_of_a_linear_critic_is_closed_form():
    # D(x) = <w, x> + b has gradient w everywhere: GP = (||w|| - 1)^2 whatever the interpolates.
    critic = _linear_critic(3.0)
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    gp = gradient_penalty(lambda x: critic(x.flatten(1)).squeeze(1), real, fake, torch.Generator().manual_seed(0))
    torch.testing.assert_close(gp, torch.tensor(4.0))


def test_gradient_penalty_of_a_quadratic_critic():
    # D(x) = 0.5 ||x||^2 has gradient x; with real == fake every interpolate is x: GP = mean (||x|| - 1)^2.
    x = torch.randn(6, 4)
    gp = gradient_penalty(lambda v: 0.5 * v.pow(2).sum(1), x, x.clone())
    torch.testing.assert_close(gp, (x.norm(dim=1) - 1).pow(2).mean())


def test_gradient_penalty_is_differentiable_in_the_critic():
    critic = _linear_critic(2.0)
    real, fake = torch.randn(4, 12), torch.randn(4, 12)
    gradient_penalty(lambda x: critic(x).squeeze(1), real, fake).backward()
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    w = critic.weight.detach()
    torch.testing.assert_close(critic.weight.grad, 2 * (w.norm() - 1) * w / w.norm())


def test_r1_of_a_linear_discriminator_is_its_squared_weight_norm():
    critic = _linear_critic(1.5)
    real = torch.randn(7, 12, requires_grad=True)
    torch.testing.assert_close(r1_penalty(critic(real).squeeze(1), real), torch.tensor(2.25))


def test_r1_of_a_quadratic_discriminator():
    real = torch.randn(5, 2, 3, requires_grad=True)
    outputs = 0.5 * real.pow(2).flatten(1).sum(1)
    torch.testing.assert_close(r1_penalty(outputs, real), real.detach().pow(2).flatten(1).sum(1).mean())


def test_gaussian_kl_matches_torch_distributions():
    mean, log_var = torch.randn(4, 3), torch.randn(4, 3)
    q = torch.distributions.Normal(mean, (0.5 * log_var).exp())
    p = torch.distributions.Normal(torch.zeros(4, 3), torch.ones(4, 3))
    torch.testing.assert_close(gaussian_kl(mean, log_var), torch.distributions.kl_divergence(q, p).sum(1))


def test_negative_elbo_is_bernoulli_nll_plus_kl():
    logits = torch.tensor([[[[0.0, 2.0]]]])  # (1, 1, 1, 2)
    target = torch.tensor([[[[1.0, 0.0]]]])
    mean, log_var = torch.zeros(1, 2), torch.zeros(1, 2)
    loss, nll, kl = negative_elbo(logits, target, mean, log_var)
    expected_nll = math.log(2) + math.log(1 + math.exp(2))  # -log sigmoid(0) - log(1 - sigmoid(2))
    torch.testing.assert_close(nll, torch.tensor(expected_nll))
    torch.testing.assert_close(kl, torch.tensor(0.0))
    torch.testing.assert_close(loss, nll + kl)


def test_info_loss_sums_the_code_cross_entropies_and_averages_over_the_batch():
    from gankit.losses.regularizers import info_loss

    # Two samples, two codes of K = 2. Sample 0: logits (0, ln 3) for both codes, targets 1 and 0:
    # -ln(3/4) + -ln(1/4) = ln(16/3). Sample 1: zero logits, any target: 2 ln 2.
    logits = torch.zeros(2, 2, 2)  # (B, K, codes)
    logits[0, 1, :] = math.log(3)
    codes = torch.tensor([[1, 0], [0, 1]])
    expected = (math.log(16 / 3) + 2 * math.log(2)) / 2
    assert abs(float(info_loss(logits, codes)) - expected) < 1e-6
    # one code: the plain mean cross-entropy
    assert abs(float(info_loss(logits[:, :, 0], codes[:, 0])) - (math.log(4 / 3) + math.log(2)) / 2) < 1e-6
