"""Memorisation: do the samples sit closer to the training items than new real data does?

A generator that returns its training images scores a perfect FID, precision and
recall against those images. These figures compare each sample's distance to its
nearest training item with the same distance for held-out real test items, which
the generator never saw:

* ``nn_ratio``: median sample-to-train nearest distance over the median test-to-train
  one; about 1 for a generator that does not copy, 0 for one that returns training items.
* ``copy_share``: the share of samples closer to a training item than the 1st percentile
  of the test items' nearest distances (real data: about 0.01).
* ``z_u``: the data-copying statistic of Meehan, Chaudhuri and Dasgupta, "A Non-Parametric
  Test to Detect Data-Copying in Generative Models", AISTATS 2020: the
  Mann-Whitney U test of the samples' nearest distances against the test items', as a
  z-score. 0 for new data, strongly negative (below -3) for copying, positive for samples
  further from the data than real items. Computed over one cell (the whole space); the
  paper averages it over k-means cells, which also finds copying confined to a region.
  A test statistic grows with the square root of the sample count for the same shift, so
  read it with ``nn_ratio`` and ``copy_share``, which say how large the shift is: copying
  raises ``copy_share`` far above 0.01, while samples that are only smoother than real
  items (nearer everything in pixels) lower ``z_u`` with ``copy_share`` at its floor.
* ``authenticity``: Alaa et al., "How Faithful is your Synthetic Data? Sample-level Metrics
  for Evaluating and Auditing Generative Models", ICML 2022: the share of
  samples further from their nearest training item than that item is from its own nearest
  other training item.

:func:`memorisation` is the registered metric; :func:`memorisation_with_floor` scores
the samples and the test items (the floor) against one nearest-neighbour search.
"""

from __future__ import annotations

import math

import torch

from gankit.metrics import Features, Figure, register_metric
from gankit.metrics.knn import nearest_neighbours, nearest_other_distances

COPY_QUANTILE = 0.01

FEATURE_FIGURES = (
    Figure("nn_ratio", "near floor", "median nearest-training distance of samples over that of real test items (0: copies)"),
    Figure("copy_share", "lower", "share of samples nearer a training item than 99% of real test items are"),
    Figure("z_u", "near floor", "Mann-Whitney z of sample vs test nearest-training distances (Meehan et al. 2020; < -3: copying)"),
    Figure("authenticity", "higher", "share of samples outside their nearest training item's 1-NN ball (Alaa et al. 2022)"),
)
PIXEL_FIGURES = tuple(Figure(f"{f.name}_pixels", f.better, f"{f.description}, in pixels") for f in FEATURE_FIGURES[:3])
FID_TEST = Figure("fid_test", "lower", "FID against real test items instead of training items")


def nn_ratio(sample_distances: torch.Tensor, test_distances: torch.Tensor) -> float:
    """Median of the samples' nearest-training distances over the test items' median; NaN when the latter is 0."""
    test_median = float(test_distances.median())
    return float(sample_distances.median()) / test_median if test_median > 0 else math.nan


def copy_share(sample_distances: torch.Tensor, test_distances: torch.Tensor, quantile: float = COPY_QUANTILE) -> float:
    """Share of samples strictly closer to the training set than the ``quantile`` of the test items' distances."""
    threshold = torch.quantile(test_distances.double(), quantile)
    return float((sample_distances.double() < threshold).double().mean())


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks of ``values``, tied values sharing the mean of their ranks (as ``scipy.stats.rankdata``)."""
    order = values.argsort()
    _, counts = torch.unique_consecutive(values[order], return_counts=True)
    ends = counts.cumsum(0).double()  # the last rank of each run of ties
    run_ranks = ends - (counts.double() - 1) / 2  # their mean rank
    ranks = torch.empty(len(values), dtype=torch.float64)
    ranks[order] = run_ranks.repeat_interleave(counts)
    return ranks


def mann_whitney(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The Mann-Whitney U of ``x`` against ``y`` and its z-score under the normal approximation.

    ``U`` counts the pairs ``(x_i, y_j)`` with ``x_i > y_j``, a tie counting one half
    (``scipy.stats.mannwhitneyu(x, y).statistic``); ``z = (U - m n / 2) / sigma`` with the
    tie-corrected ``sigma^2 = m n / 12 * (N + 1 - sum(t^3 - t) / (N (N - 1)))``, no continuity
    correction. z is 0 when every value is tied.
    """
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise ValueError(f"the U test needs values on both sides, got {m} and {n}")
    combined = torch.cat([x.double(), y.double()])
    ranks = average_ranks(combined)
    u = float(ranks[:m].sum()) - m * (m + 1) / 2
    total = m + n
    _, ties = torch.unique(combined, return_counts=True)
    tie_term = float((ties.double() ** 3 - ties.double()).sum()) / (total * (total - 1)) if total > 1 else 0.0
    variance = m * n / 12 * (total + 1 - tie_term)
    return u, (u - m * n / 2) / math.sqrt(variance) if variance > 0 else 0.0


def authenticity(sample_distances: torch.Tensor, neighbour_radii: torch.Tensor) -> float:
    """Share of samples strictly further from their nearest training item than that item is from its own nearest other item.

    Args:
        sample_distances: (M,) each sample's distance to its nearest training item.
        neighbour_radii: (M,) that training item's distance to its nearest other training item.
    """
    return float((sample_distances.double() > neighbour_radii.double()).double().mean())


def figures_of(sample_distances: torch.Tensor, test_distances: torch.Tensor, neighbour_radii: torch.Tensor | None = None,
               quantile: float = COPY_QUANTILE) -> dict[str, float]:
    """The figures of one set's nearest-training distances against the test items' (authenticity when radii are given)."""
    figures = {
        "nn_ratio": nn_ratio(sample_distances, test_distances),
        "copy_share": copy_share(sample_distances, test_distances, quantile),
        "z_u": mann_whitney(sample_distances, test_distances)[1],
    }
    if neighbour_radii is not None:
        figures["authenticity"] = authenticity(sample_distances, neighbour_radii)
    return figures


def neighbour_radii(train: torch.Tensor, *indices: torch.Tensor) -> list[torch.Tensor]:
    """For each index tensor, the 1-NN radius of the training items it names (each item's radius computed once)."""
    needed, inverse = torch.unique(torch.cat(indices), return_inverse=True)
    radii = nearest_other_distances(train, needed)[inverse]
    return list(radii.split([len(i) for i in indices]))


def pixel_vectors(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) images -> float32 (N, C*H*W) in [0, 1]; float vectors are returned as they are."""
    if images.dtype == torch.uint8:
        return images.reshape(len(images), -1).float() / 255
    return images.reshape(len(images), -1)


@register_metric("memorisation", (*FEATURE_FIGURES, *PIXEL_FIGURES, FID_TEST))
def memorisation(real: Features, fake: Features, test: Features | None = None, quantile: float = COPY_QUANTILE,
                 with_authenticity: bool = True) -> dict[str, float]:
    """``nn_ratio``, ``copy_share``, ``z_u`` and ``authenticity`` of ``fake`` against the training items ``real``.

    Args:
        real: the training items (all of them, or as many as affordable: a sample copied from
            an item left out is not found).
        fake: the samples. test: held-out real items, the reference for "not copied".
    """
    if test is None:
        raise ValueError("memorisation needs held-out real items: compute_metrics(['memorisation'], train, samples, test=test)")
    sample_distances, index = nearest_neighbours(fake.features, real.features)
    test_distances, _ = nearest_neighbours(test.features, real.features)
    radii = neighbour_radii(real.features, index)[0] if with_authenticity and len(real) > 1 else None
    return figures_of(sample_distances, test_distances, radii, quantile)


def memorisation_with_floor(train: Features, fake: Features, test: Features, suffix: str = "",
                            with_authenticity: bool = True) -> tuple[dict[str, float], dict[str, float]]:
    """The samples' figures and the test items' own (the floor: ratio 1, z 0, copy share about 0.01), one search each.

    ``suffix`` is appended to every figure's name (``"_pixels"``).
    """
    sample_distances, sample_index = nearest_neighbours(fake.features, train.features)
    test_distances, test_index = nearest_neighbours(test.features, train.features)
    sample_radii, test_radii = (neighbour_radii(train.features, sample_index, test_index) if with_authenticity and len(train) > 1
                                else (None, None))
    samples = figures_of(sample_distances, test_distances, sample_radii)
    floor = figures_of(test_distances, test_distances, test_radii)
    return ({f"{k}{suffix}": v for k, v in samples.items()}, {f"{k}{suffix}": v for k, v in floor.items()})
