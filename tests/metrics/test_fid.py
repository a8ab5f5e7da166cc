"""FID against closed forms, scipy's matrix square root and torchmetrics."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

from gankit.metrics import Features
from gankit.metrics.fid import fid, frechet_distance, mean_and_covariance
from tests.metrics.helpers import IdentityFeatures


def random_spd(dim: int, gen: torch.Generator) -> torch.Tensor:
    a = torch.randn(dim, dim, generator=gen, dtype=torch.float64)
    return a @ a.T + 0.1 * torch.eye(dim, dtype=torch.float64)


def test_diagonal_gaussians_match_the_closed_form():
    mu1, mu2 = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 1.0, 0.0])
    var1, var2 = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 0.25])
    expected = float((mu1 - mu2).square().sum() + (var1.sqrt() - var2.sqrt()).square().sum())  # 5 + 1 + 1 + 6.25
    assert expected == pytest.approx(13.25)
    assert frechet_distance(mu1, torch.diag(var1), mu2, torch.diag(var2)) == pytest.approx(expected, rel=1e-12)


def test_two_by_two_gaussians_match_the_closed_form():
    # For 2x2 M with positive eigenvalues, Tr sqrt(M) = sqrt(Tr M + 2 sqrt(det M)).
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        s1, s2 = random_spd(2, gen), random_spd(2, gen)
        mu1, mu2 = torch.randn(2, generator=gen, dtype=torch.float64), torch.randn(2, generator=gen, dtype=torch.float64)
        m = s1 @ s2
        trace_sqrt = math.sqrt(float(m.trace()) + 2 * math.sqrt(float(torch.det(m))))
        expected = float((mu1 - mu2).square().sum() + s1.trace() + s2.trace()) - 2 * trace_sqrt
        assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_matches_scipy_sqrtm_in_sixteen_dimensions():
    gen = torch.Generator().manual_seed(2)
    s1, s2 = random_spd(16, gen), random_spd(16, gen)
    mu1, mu2 = torch.randn(16, generator=gen, dtype=torch.float64), torch.zeros(16, dtype=torch.float64)
    root = scipy.linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    expected = float(np.sum((mu1 - mu2).numpy() ** 2) + np.trace(s1.numpy()) + np.trace(s2.numpy()) - 2 * np.trace(root))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_same_set_scores_zero_and_sample_estimate_nears_the_population_value():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(4000, 4, generator=gen, dtype=torch.float64)
    assert fid(Features(x), Features(x))["fid"] == pytest.approx(0.0, abs=1e-9)
    # N(0, I) vs N(1, 4 I) in 4-d: 4 * 1 + 4 * (2 - 1)^2 = 8.
    y = 1.0 + 2.0 * torch.randn(4000, 4, generator=gen, dtype=torch.float64)
    assert fid(Features(x), Features(y))["fid"] == pytest.approx(8.0, rel=0.05)



def test_matches_torchmetrics_given_the_same_features():
    from torchmetrics.image.fid import FrechetInceptionDistance

    gen = torch.Generator().manual_seed(4)
    real = torch.randn(600, 32, generator=gen, dtype=torch.float64)
    fake = 0.8 * torch.randn(600, 32, generator=gen, dtype=torch.float64) @ random_spd(32, gen) * 0.3 + 0.1
    reference = FrechetInceptionDistance(feature=IdentityFeatures(32))
    reference.update(real, real=True)
    reference.update(fake, real=False)
    ours = fid(Features(real), Features(fake))["fid"]
    assert abs(ours - float(reference.compute())) / float(reference.compute()) < 1e-6


def test_mean_and_covariance_are_unbiased():
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0], [5.0, 4.0]])
    mean, cov = mean_and_covariance(x)
    torch.testing.assert_close(mean, torch.tensor([3.0, 4.0], dtype=torch.float64))
    torch.testing.assert_close(cov, torch.tensor([[4.0, 2.0], [2.0, 4.0]], dtype=torch.float64))
