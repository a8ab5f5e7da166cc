"""The VAE objective: the negative evidence lower bound, per image.

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014: with a diagonal
Gaussian posterior q(z|x) = N(mean, exp(log_var)) and the prior N(0, I), the KL
term has the closed form 0.5 * sum(mean^2 + exp(log_var) - 1 - log_var)
(Appendix B); the reconstruction term is the Bernoulli negative log-likelihood of
the pixels, summed over pixels.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def gaussian_kl(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per sample, (B, L) -> (B,)."""
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(dim=1)


def negative_elbo(
    recon_logits: torch.Tensor, target: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean over the batch of -ELBO = Bernoulli NLL + KL; also returns the two terms.

    Args:
        recon_logits: decoder logits (B, C, H, W).
        target: pixel intensities in [0, 1], (B, C, H, W).
        mean, log_var: posterior parameters (B, L).
    """
    nll = F.binary_cross_entropy_with_logits(recon_logits.float(), target.float(), reduction="none").flatten(1).sum(dim=1)
    kl = gaussian_kl(mean.float(), log_var.float())
    return (nll + kl).mean(), nll.mean(), kl.mean()
