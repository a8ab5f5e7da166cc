"""Improved precision and recall with k-nearest-neighbour manifolds.

Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing
Generative Models", NeurIPS 2019, Section 2 (k = 3). Each set's manifold is the
union of balls around its points whose radius is the distance to the k-th nearest
other point of the same set. Precision is the fraction of generated samples inside
the real manifold; recall the fraction of real samples inside the generated one.
"""

from __future__ import annotations

from gankit.metrics import Features, Figure, register_metric
from gankit.metrics.knn import ball_counts, kth_neighbour_distances


def manifold_coverage(queries, points, k: int) -> float:
    """Fraction of ``queries`` inside at least one k-NN ball of ``points``."""
    radii = kth_neighbour_distances(points, k)
    return float((ball_counts(queries, points, radii) > 0).double().mean())


@register_metric(
    "pr",
    (
        Figure("precision", "higher", "share of samples on the real manifold (Kynkäänniemi et al. 2019)"),
        Figure("recall", "higher", "share of real data on the samples' manifold"),
    ),
)
def precision_recall(real: Features, fake: Features, k: int = 3) -> dict[str, float]:
    """Precision and recall of the generated set against the real set."""
    return {
        "precision": manifold_coverage(fake.features, real.features, k),
        "recall": manifold_coverage(real.features, fake.features, k),
    }
