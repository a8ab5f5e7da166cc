"""Improved precision/recall (k = 3): hand-built sets, disjoint and nested supports, a brute-force reference."""

import itertools

import pytest
import torch

from gankit.metrics import Features
from gankit.metrics.precision_recall import precision_recall, precision_recall_by_class


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


def one_hot(classes: list[int], k: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(classes), k).double()


def test_by_class_on_a_hand_built_line():
    # Real: class 0 at 0, 1, 2 and class 1 at 10, 11, 12 (every 1-NN radius is 1); class 2 has no real item.
    real = Features(torch.tensor([[0.0], [1.0], [2.0], [10.0], [11.0], [12.0]]), one_hot([0, 0, 0, 1, 1, 1], 3))
    # Samples: three on class 0's stretch (1-NN radii 0.5), two read as class 1 but far from it (radii 1),
    # one read as class 2 sitting at the end of class 0's stretch (radius 1, to 1.0).
    fake = Features(torch.tensor([[0.0], [0.5], [1.0], [30.0], [31.0], [2.0]]), one_hot([0, 0, 0, 1, 1, 2], 3))
    rows = precision_recall_by_class(real, fake, k=1)
    # Recall: real 0 and 1 lie in the balls of fake 0 and 1, real 2 in the ball of fake 2.0; nothing covers 10-12.
    # Precision: fake 0-2 lie in real balls of radius 1; 30 and 31 do not.
    assert rows[0] == {"real_share": 0.5, "sample_share": 0.5, "precision": 1.0, "recall": 1.0}
    assert rows[1] == {"real_share": 0.5, "sample_share": pytest.approx(1 / 3), "precision": 0.0, "recall": 0.0}
    assert rows[2] == {"real_share": 0.0, "sample_share": pytest.approx(1 / 6), "precision": 1.0, "recall": None}


def test_by_class_rows_add_up_to_the_overall_figures_and_match_a_loop():
    gen = torch.Generator().manual_seed(2)
    real = torch.randn(60, 2, generator=gen, dtype=torch.float64)
    fake = 1.3 * torch.randn(50, 2, generator=gen, dtype=torch.float64) + 0.3
    real_probs = torch.softmax(3 * real @ torch.randn(2, 4, generator=gen, dtype=torch.float64), dim=1)
    fake_probs = torch.softmax(3 * fake @ torch.randn(2, 4, generator=gen, dtype=torch.float64), dim=1)
    rows = precision_recall_by_class(Features(real, real_probs), Features(fake, fake_probs), k=3)
    overall = precision_recall(Features(real), Features(fake), k=3)
    assert sum(r["sample_share"] * (r["precision"] or 0) for r in rows) == pytest.approx(overall["precision"])
    assert sum(r["real_share"] * (r["recall"] or 0) for r in rows) == pytest.approx(overall["recall"])
    for c, row in enumerate(rows):
        in_c = real_probs.argmax(dim=1) == c
        if in_c.any():  # recall of class c alone: its real items against the whole fake set, by brute force
            recall, _ = brute_force(fake, real[in_c], 3)  # its first figure: real[in_c] on the fake manifold
            assert row["recall"] == pytest.approx(recall)


def test_by_class_needs_class_probabilities():
    points = Features(torch.randn(10, 2))
    with pytest.raises(ValueError, match="need class probabilities"):
        precision_recall_by_class(points, points)
