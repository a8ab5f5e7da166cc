"""Adversarial objectives, written on logits for numerical stability.

With D(x) = sigmoid(l): -log D(x) = softplus(-l) and -log(1 - D(x)) = softplus(l).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.losses import AdversarialLoss, register_loss


def bce_loss_dis(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator side of the minimax game (Goodfellow et al. 2014, Eq. 1).

    Maximising E[log D(x)] + E[log(1 - D(G(z)))] is minimising the mean of the two
    binary cross-entropies, halved: 0.5 * (E[softplus(-l_real)] + E[softplus(l_fake)]).
    """
    return 0.5 * (F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean())


def ns_loss_gen(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss -E[log D(G(z))] (Goodfellow et al. 2014, Sec. 3)."""
    return F.softplus(-fake_logits).mean()


def saturating_loss_gen(fake_logits: torch.Tensor) -> torch.Tensor:
    """The original minimax generator loss E[log(1 - D(G(z)))] = -E[softplus(l_fake)].

    Its gradient vanishes when D confidently rejects the samples, which is why the
    non-saturating form is the default; it is here so users can see that happen.
    """
    return -F.softplus(fake_logits).mean()


def hinge_loss_dis(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss for D: E[relu(1 - l_real)] + E[relu(1 + l_fake)].

    Lim & Ye, "Geometric GAN", 2017; used by SNGAN (Miyato et al. 2018) and BigGAN.
    """
    return F.relu(1.0 - real_logits).mean() + F.relu(1.0 + fake_logits).mean()


def hinge_loss_gen(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge loss for G: -E[l_fake] (Lim & Ye 2017)."""
    return -fake_logits.mean()


def wasserstein_loss_dis(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Critic loss E[f(G(z))] - E[f(x)], the negated Kantorovich-Rubinstein estimate of W1.

    Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017. The critic must be
    kept 1-Lipschitz: pair it with the gradient penalty (``reg.gp_weight``,
    Gulrajani et al. 2017) or spectral normalisation.
    """
    return fake_logits.mean() - real_logits.mean()


def wasserstein_loss_gen(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss -E[f(G(z))] (Arjovsky et al. 2017)."""
    return -fake_logits.mean()


def least_squares_loss_dis(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator loss 0.5 E[(D(x) - 1)^2] + 0.5 E[D(G(z))^2] (a=0, b=1).

    Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017, Eq. 2.
    """
    return 0.5 * ((real_logits - 1.0).pow(2).mean() + fake_logits.pow(2).mean())


def least_squares_loss_gen(fake_logits: torch.Tensor) -> torch.Tensor:
    """LSGAN generator loss 0.5 E[(D(G(z)) - 1)^2] (c=1; Mao et al. 2017, Eq. 2)."""
    return 0.5 * (fake_logits - 1.0).pow(2).mean()


register_loss(AdversarialLoss("non_saturating", bce_loss_dis, ns_loss_gen))
register_loss(AdversarialLoss("saturating", bce_loss_dis, saturating_loss_gen))
register_loss(AdversarialLoss("hinge", hinge_loss_dis, hinge_loss_gen))
register_loss(AdversarialLoss("wasserstein", wasserstein_loss_dis, wasserstein_loss_gen))
register_loss(AdversarialLoss("least_squares", least_squares_loss_dis, least_squares_loss_gen, decision_threshold=0.5))
