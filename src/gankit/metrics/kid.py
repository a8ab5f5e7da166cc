"""Kernel Inception Distance: unbiased MMD^2 with a cubic polynomial kernel, averaged over subsets.

Bińkowski et al., "Demystifying MMD GANs", ICLR 2018, Section 4:
``k(x, y) = (x.y / d + 1)^3``, and the unbiased estimator
``MMD^2 = mean_{i!=j} k(r_i, r_j) + mean_{i!=j} k(f_i, f_j) - 2 mean_{i,j} k(r_i, f_j)``
computed on ``subsets`` random subsets of ``subset_size`` samples of each set
(drawn without replacement within a subset). Matches torchmetrics'
``KernelInceptionDistance`` given the same subsets. Being unbiased, its mean is
near 0 (and may be slightly negative) for two samples of one distribution.
"""

from __future__ import annotations

import torch

from gankit.metrics import Features, Figure, register_metric


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = 3, gamma: float | None = None, coef: float = 1.0) -> torch.Tensor:
    """(N, M) kernel matrix ``(gamma * x.y + coef)^degree``; gamma defaults to 1 / D."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (gamma * x @ y.T + coef) ** degree


def unbiased_mmd2(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Unbiased MMD^2 between two equally sized (m, D) samples under the KID kernel."""
    m = len(real)
    k_rr, k_ff, k_rf = polynomial_kernel(real, real), polynomial_kernel(fake, fake), polynomial_kernel(real, fake)
    same = (k_rr.sum() - k_rr.diagonal().sum() + k_ff.sum() - k_ff.diagonal().sum()) / (m * (m - 1))
    return float(same - 2 * k_rf.sum() / (m * m))


@register_metric(
    "kid",
    (
        Figure("kid", "lower", "kernel distance, mean over subsets (Bińkowski et al. 2018)"),
        Figure("kid_std", "lower", "its standard deviation over subsets"),
    ),
)
def kid(real: Features, fake: Features, subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """KID mean and standard deviation over ``subsets`` random subsets (capped at the smaller set)."""
    size = min(subset_size, len(real), len(fake))
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples in each set, got {len(real)} and {len(fake)}")
    gen = torch.Generator().manual_seed(seed)
    r, f = real.features.double(), fake.features.double()
    values = torch.tensor([
        unbiased_mmd2(r[torch.randperm(len(r), generator=gen)[:size]], f[torch.randperm(len(f), generator=gen)[:size]])
        for _ in range(subsets)
    ], dtype=torch.float64)
    return {"kid": float(values.mean()), "kid_std": float(values.std(unbiased=False)) if subsets > 1 else 0.0}
