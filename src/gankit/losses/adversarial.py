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


register_loss(AdversarialLoss("non_saturating", bce_loss_dis, ns_loss_gen))
register_loss(AdversarialLoss("saturating", bce_loss_dis, saturating_loss_gen))
