"""KID: unbiased (mean near 0 for one distribution), equal to torchmetrics on the same subset, hand-checked kernel."""

import pytest
import torch

from gankit.metrics import Features
from gankit.metrics.kid import kid, polynomial_kernel, unbiased_mmd2
from tests.metrics.helpers import IdentityFeatures


def test_polynomial_kernel_by_hand():
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    y = torch.tensor([[3.0, -1.0], [0.0, 0.0]], dtype=torch.float64)
    # (x.y / 2 + 1)^3: x.y = 1 -> 1.5^3 = 3.375; x.0 = 0 -> 1.
    torch.testing.assert_close(polynomial_kernel(x, y), torch.tensor([[3.375, 1.0]], dtype=torch.float64))


def test_unbiased_mmd_by_hand_on_two_points_each():
    r = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    f = torch.tensor([[2.0], [-1.0]], dtype=torch.float64)
    k = lambda a, b: (a * b + 1.0) ** 3  # noqa: E731  (d = 1)
    expected = (2 * k(0, 1)) / 2 + (2 * k(2, -1)) / 2 - 2 * (k(0, 2) + k(0, -1) + k(1, 2) + k(1, -1)) / 4
    assert unbiased_mmd2(r, f) == pytest.approx(expected)


def test_mean_is_near_zero_for_two_samples_of_one_distribution():
    gen = torch.Generator().manual_seed(0)
    a = Features(torch.randn(1000, 16, generator=gen))
    b = Features(torch.randn(1000, 16, generator=gen))
    same = kid(a, b, subsets=20, subset_size=500)
    shifted = kid(a, Features(b.features + 0.5), subsets=20, subset_size=500)
    assert abs(same["kid"]) < 3 * same["kid_std"] + 1e-3
    assert shifted["kid"] > 50 * max(abs(same["kid"]), 1e-4)



def test_matches_torchmetrics_on_the_whole_set():
    from torchmetrics.image.kid import KernelInceptionDistance

    gen = torch.Generator().manual_seed(1)
    real = torch.randn(300, 8, generator=gen, dtype=torch.float64)
    fake = 1.2 * torch.randn(300, 8, generator=gen, dtype=torch.float64) + 0.1
    reference = KernelInceptionDistance(feature=IdentityFeatures(8), subsets=1, subset_size=300)
    reference.update(real, real=True)
    reference.update(fake, real=False)
    expected = float(reference.compute()[0])
    assert kid(Features(real), Features(fake), subsets=1, subset_size=300)["kid"] == pytest.approx(expected, rel=1e-9)
