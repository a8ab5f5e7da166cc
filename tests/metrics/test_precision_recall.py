"""Improved precision/recall (k = 3): hand-built sets, disjoint and nested supports, a brute-force reference."""

import itertools

import pytest
import torch

from gankit.metrics import Features
from gankit.metrics.precision_recall import precision_recall


def brute_force(real: torch.Tensor, fake: torch.Tensor, k: int) -> tuple[float, float]:
    """Kynkaanniemi et al. 2019, Eq. 1-2, with plain Python loops."""

    def radius(points, i):
        others = sorted(float((points[i] - points[j]).norm()) for j in range(len(points)) if j != i)
        return others[k - 1]

    def inside(query, points):
        return any(float((query - points[i]).norm()) <= radius(points, i) for i in range(len(points)))

    precision = sum(inside(f, real) for f in fake) / len(fake)
    recall = sum(inside(r, fake) for r in real) / len(real)
    return precision, recall


def test_matches_a_brute_force_loop():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(40, 3, generator=gen, dtype=torch.float64)
    fake = 1.5 * torch.randn(30, 3, generator=gen, dtype=torch.float64) + 0.5
    result = precision_recall(Features(real), Features(fake), k=3)
    assert (result["precision"], result["recall"]) == pytest.approx(brute_force(real, fake, 3))


def test_hand_built_line():
    # Real points 0, 1, 2, 3, 4 on a line: every 1-NN radius is 1.
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]])
    fake = torch.tensor([[0.5], [4.9], [6.0], [-1.0]])  # 0.5 in, 4.9 in (radius 1 around 4), 6.0 out, -1.0 in (radius 1 around 0)
    result = precision_recall(Features(real), Features(fake), k=1)
    assert result["precision"] == pytest.approx(3 / 4)


def test_disjoint_sets_score_zero_and_copies_of_the_centre_have_full_precision_low_recall():
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(300, 2, generator=gen)
    far = Features(real + 100.0)
    assert precision_recall(Features(real), far) == {"precision": 0.0, "recall": 0.0}
    # Samples that copy the tenth of the real points nearest the centre: all realistic, little of the data covered.
    copies = Features(real[real.norm(dim=1).argsort()[:30]] + 1e-6)
    result = precision_recall(Features(real), copies)
    assert result["precision"] == 1.0
    assert result["recall"] < 0.5


def test_identical_sets_score_one():
    points = torch.tensor(list(itertools.product(range(4), range(4))), dtype=torch.float32)
    assert precision_recall(Features(points), Features(points.clone())) == {"precision": 1.0, "recall": 1.0}
