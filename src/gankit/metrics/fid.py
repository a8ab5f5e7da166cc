"""Fréchet distance between Gaussians fitted to two feature sets (FID).

Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local
Nash Equilibrium", NeurIPS 2017:
``FID = |mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^{1/2})``.
Matches torchmetrics' ``FrechetInceptionDistance`` (unbiased covariances, float64)
given the same features; ``Tr((S_r S_f)^{1/2})`` is computed as the sum of the
square roots of the eigenvalues of the symmetric ``S_r^{1/2} S_f S_r^{1/2}``.
"""

from __future__ import annotations

import torch

from gankit.metrics import Features, Figure, register_metric


def mean_and_covariance(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(D,) mean and (D, D) unbiased covariance, in float64."""
    x = features.double()
    if len(x) < 2:
        raise ValueError(f"a covariance needs at least 2 samples, got {len(x)}")
    mean = x.mean(dim=0)
    centred = x - mean
    return mean, centred.T @ centred / (len(x) - 1)


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """The squared Fréchet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, sigma1, mu2, sigma2 = (t.double() for t in (mu1, sigma1, mu2, sigma2))
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    value = (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt
    return float(value.clamp(min=0))


@register_metric("fid", (Figure("fid", "lower", "Fréchet distance of the feature Gaussians (Heusel et al. 2017)"),))
def fid(real: Features, fake: Features) -> dict[str, float]:
    """FID between the real and the generated features."""
    return {"fid": frechet_distance(*mean_and_covariance(real.features), *mean_and_covariance(fake.features))}
