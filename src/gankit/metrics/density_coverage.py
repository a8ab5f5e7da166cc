"""Density and coverage.

Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative Models",
ICML 2020, Section 3 (k = 5), matching their reference code (``prdc``; strict
``<`` ball membership). With real radii ``r_i`` (distance to the k-th nearest
other real point):

* density  = 1/(kM) * sum_j #{i : |f_j - x_i| < r_i}   (expected 1 for identical distributions)
* coverage = 1/N * #{i : the nearest generated sample to x_i is closer than r_i}
  (expected ``1 - (1/2)^k``, about 0.97 for k = 5, for identical distributions and M = N).
"""

from __future__ import annotations

from gankit.metrics import Features, Figure, register_metric
from gankit.metrics.knn import ball_counts, kth_neighbour_distances, nearest_distances


@register_metric(
    "dc",
    (
        Figure("density", "higher", "mean real k-NN balls per sample / k; 1 for real data (Naeem et al. 2020)"),
        Figure("coverage", "higher", "share of real k-NN balls holding a sample"),
    ),
)
def density_coverage(real: Features, fake: Features, k: int = 5) -> dict[str, float]:
    """Density and coverage of the generated set against the real set."""
    radii = kth_neighbour_distances(real.features, k)
    density = ball_counts(fake.features, real.features, radii, strict=True).double().sum() / (k * len(fake))
    coverage = (nearest_distances(real.features, fake.features) < radii).double().mean()
    return {"density": float(density), "coverage": float(coverage)}
