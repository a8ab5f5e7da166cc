"""Improved precision and recall with k-nearest-neighbour manifolds.

Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing
Generative Models", NeurIPS 2019, Section 2 (k = 3). Each set's manifold is the
union of balls around its points whose radius is the distance to the k-th nearest
other point of the same set. Precision is the fraction of generated samples inside
the real manifold; recall the fraction of real samples inside the generated one.
Split by the domain classifier's class, the two say which classes a model draws
badly (precision) or misses (recall).
"""

from __future__ import annotations

from gankit.metrics import Features, Figure, register_metric
from gankit.metrics.knn import ball_counts, kth_neighbour_distances


def on_manifold(queries, points, k: int):
    """(M,) bool: is each of ``queries`` inside at least one k-NN ball of ``points``."""
    return ball_counts(queries, points, kth_neighbour_distances(points, k)) > 0


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
        "precision": float(on_manifold(fake.features, real.features, k).double().mean()),
        "recall": float(on_manifold(real.features, fake.features, k).double().mean()),
    }


def precision_recall_by_class(real: Features, fake: Features, k: int = 3) -> list[dict[str, float | None]]:
    """Precision and recall split by the classifier's class of each item: which classes a model misses.

    Row ``c`` holds ``real_share`` and ``sample_share`` (the shares of real items and of
    samples the classifier puts in class ``c``), ``precision`` (of the samples in ``c``, the
    share on the real manifold) and ``recall`` (of the real items in ``c``, the share on the
    samples' manifold); None where the class has no item. The manifolds are the whole sets'
    (a sample drawn between classes still counts), so the rows weighted by their shares add
    up to :func:`precision_recall`'s two figures.
    """
    if real.probs is None or fake.probs is None:
        raise ValueError("precision and recall by class need class probabilities (a classifier's features)")
    on_real = on_manifold(fake.features, real.features, k)  # (N_fake,)
    on_fake = on_manifold(real.features, fake.features, k)  # (N_real,)
    real_class, fake_class = real.probs.argmax(dim=1), fake.probs.argmax(dim=1)
    rows = []
    for c in range(real.probs.shape[1]):
        in_real, in_fake = real_class == c, fake_class == c
        rows.append({
            "real_share": float(in_real.double().mean()),
            "sample_share": float(in_fake.double().mean()),
            "precision": float(on_real[in_fake].double().mean()) if in_fake.any() else None,
            "recall": float(on_fake[in_real].double().mean()) if in_real.any() else None,
        })
    return rows
