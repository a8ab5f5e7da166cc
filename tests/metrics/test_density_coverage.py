"""Density/coverage (k = 5) against Naeem et al. 2020's sanity values and a hand-built case."""

import math

import pytest
import torch

from gankit.metrics import Features
from gankit.metrics.density_coverage import density_coverage


def expected_coverage(n: int, m: int, k: int) -> float:
    """Naeem et al. 2020, Lemma 2: E[coverage] = 1 - prod_{i=1..k} (n - i) / (n + m - i) for identical distributions."""
    return 1.0 - math.prod((n - i) / (n + m - i) for i in range(1, k + 1))


def test_two_samples_of_one_gaussian_score_density_one_and_coverage_097():
    # 64-d as in the paper; density varies a lot between draws there (hubness), so average four draws.
    results = []
    for seed in range(4):
        gen = torch.Generator().manual_seed(seed)
        real, fake = torch.randn(2000, 64, generator=gen), torch.randn(2000, 64, generator=gen)
        results.append(density_coverage(Features(real), Features(fake), k=5))
    density = sum(r["density"] for r in results) / 4
    coverage = sum(r["coverage"] for r in results) / 4
    assert expected_coverage(2000, 2000, 5) == pytest.approx(0.969, abs=1e-3)
    assert coverage == pytest.approx(expected_coverage(2000, 2000, 5), abs=0.01)
    assert density == pytest.approx(1.0, abs=0.05)


def test_outliers_lower_density_but_not_coverage_much():
    gen = torch.Generator().manual_seed(1)
    real = torch.randn(1000, 8, generator=gen)
    fake = torch.randn(1000, 8, generator=gen)
    fake[:500] += 50.0  # half the samples far away
    result = density_coverage(Features(real), Features(fake), k=5)
    assert result["density"] == pytest.approx(0.5, abs=0.1)
    assert result["coverage"] > 0.85


def test_hand_built_line():
    # Real 0..5 on a line, k = 1: every radius is 1 (strict ball: distance < 1).
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    fake = torch.tensor([[0.5], [0.5], [10.0]])
    # Each 0.5 lies in the balls of 0 and 1: density = (2 + 2 + 0) / (1 * 3); balls of 0 and 1 are covered: 2 / 6.
    result = density_coverage(Features(real), Features(fake), k=1)
    assert result["density"] == pytest.approx(4 / 3)
    assert result["coverage"] == pytest.approx(2 / 6)
