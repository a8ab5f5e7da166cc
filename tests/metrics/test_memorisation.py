"""Memorisation figures against hand-computed cases, scipy's Mann-Whitney U, and generators that copy or do not."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.testing import assert_close

from gankit.metrics import Features, compute_metrics
from gankit.metrics.knn import nearest_distances, nearest_neighbours
from gankit.metrics.memorisation import (average_ranks, copy_share, figures_of, mann_whitney, memorisation,
                                         memorisation_with_floor, nn_ratio, pixel_vectors)


def points(*values):
    return Features(torch.tensor(values, dtype=torch.float64)[:, None])


def test_hand_computed_one_dimensional_case():
    # train {0, 1, 10}: 1-NN radii 1, 1, 9. test {2, 7, 11.5}: nearest distances 1, 3, 1.5 (median 1.5).
    # samples {-3, 1.2, 12}: nearest 0 (3.0), 1 (0.2), 10 (2.0); median 2.0.
    train, test, samples = points(0, 1, 10), points(2, 7, 11.5), points(-3, 1.2, 12)
    figures = memorisation(train, samples, test=test)
    assert figures["nn_ratio"] == pytest.approx(2.0 / 1.5)
    # 1st percentile of {1, 1.5, 3} = 1.01 (linear interpolation): only 0.2 is below.
    assert figures["copy_share"] == pytest.approx(1 / 3)
    # authentic: -3 (3 > radius 1 of 0); not 1.2 (0.2 < 1) nor 12 (2 < 9).
    assert figures["authenticity"] == pytest.approx(1 / 3)
    # U of samples {3, 0.2, 2} against test {1, 3, 1.5}: 3 beats 1, 1.5 and ties 3 (2.5); 0.2 beats none; 2 beats 1, 1.5 (2).
    u, z = mann_whitney(torch.tensor([3.0, 0.2, 2.0]), torch.tensor([1.0, 3.0, 1.5]))
    assert u == 4.5
    assert z == pytest.approx(0.0)  # U equals m n / 2
    assert figures["z_u"] == pytest.approx(0.0)


def test_nn_ratio_and_copy_share_by_hand():
    assert nn_ratio(torch.tensor([0.0, 0.5, 3.0]), torch.tensor([1.0, 2.0, 1.0])) == 0.5
    assert copy_share(torch.tensor([0.0, 0.5, 3.0]), torch.tensor([1.0, 2.0, 1.0]), quantile=0.5) == pytest.approx(2 / 3)
    assert math.isnan(nn_ratio(torch.tensor([1.0]), torch.tensor([0.0, 0.0])))


def test_average_ranks_match_scipy_rankdata():
    values = torch.tensor([3.0, 1.0, 3.0, 2.0, 3.0, 0.0, 1.0])
    assert_close(average_ranks(values), torch.from_numpy(stats.rankdata(values.numpy())).double())


@pytest.mark.parametrize("seed", [0, 1])
def test_mann_whitney_matches_scipy_and_brute_force(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 12, 40).astype(float)  # many ties
    y = rng.integers(2, 14, 55).astype(float)
    u, z = mann_whitney(torch.from_numpy(x), torch.from_numpy(y))
    reference = stats.mannwhitneyu(x, y, alternative="less", method="asymptotic", use_continuity=False)
    brute = sum((a > b) + 0.5 * (a == b) for a in x for b in y)
    assert u == pytest.approx(reference.statistic) and u == pytest.approx(brute)
    assert z == pytest.approx(stats.norm.ppf(reference.pvalue), abs=1e-9)


def test_nearest_neighbours_match_the_float64_reference_and_read_zero_for_copies():
    generator = torch.Generator().manual_seed(0)
    train = torch.rand(300, 784, generator=generator, dtype=torch.float64)
    queries = torch.cat([torch.rand(50, 784, generator=generator, dtype=torch.float64), train[:20]])
    distances, index = nearest_neighbours(queries, train, chunk=32)
    brute = torch.stack([(train - q).norm(dim=1).min() for q in queries])  # float64, no matrix-product shortcut
    assert_close(distances, brute)
    assert_close(distances, nearest_distances(queries, train), atol=1e-5, rtol=0)
    assert torch.equal(distances[50:], torch.zeros(20, dtype=torch.float64))
    assert torch.equal(index[50:], torch.arange(20))


def gaussian(n, seed, dim=16):
    return Features(torch.randn(n, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))


def test_a_generator_that_returns_training_items_is_flagged_and_one_that_draws_fresh_data_is_not():
    train, test = gaussian(1000, 0), gaussian(500, 1)
    copier = train.subset(torch.randperm(1000, generator=torch.Generator().manual_seed(2))[:500])
    copied = memorisation(train, copier, test=test)
    assert copied["nn_ratio"] == 0.0 and copied["copy_share"] == 1.0 and copied["authenticity"] == 0.0
    assert copied["z_u"] < -20
    fresh = memorisation(train, gaussian(500, 3), test=test)
    assert fresh["nn_ratio"] == pytest.approx(1.0, abs=0.05)
    assert fresh["copy_share"] < 0.03
    assert abs(fresh["z_u"]) < 2.5
    # Noise far from the data: further than real items, so a positive z (not copying, but not data either).
    assert memorisation(train, Features(gaussian(500, 4).features * 3), test=test)["z_u"] > 10


def test_the_floor_is_the_test_items_own_figures_and_the_registry_needs_test_items():
    train, test, samples = gaussian(400, 0), gaussian(200, 1), gaussian(200, 2)
    scored, floor = memorisation_with_floor(train, samples, test, suffix="_pixels", with_authenticity=False)
    assert set(scored) == {"nn_ratio_pixels", "copy_share_pixels", "z_u_pixels"}
    assert floor["nn_ratio_pixels"] == 1.0 and floor["z_u_pixels"] == 0.0
    assert floor["copy_share_pixels"] == pytest.approx(0.01, abs=0.006)
    assert compute_metrics(["memorisation"], train, samples, test=test) == figures_of(
        nearest_neighbours(samples.features, train.features)[0], nearest_neighbours(test.features, train.features)[0],
        *_index_and_radii(train, samples))
    with pytest.raises(ValueError, match="held-out real items"):
        compute_metrics(["memorisation"], train, samples)


def _index_and_radii(train, samples):
    from gankit.metrics.knn import kth_neighbour_distances

    return nearest_neighbours(samples.features, train.features)[1], kth_neighbour_distances(train.features, 1)


def test_pixel_vectors_scale_uint8_images_to_unit_range():
    images = torch.tensor([[[[0, 255], [51, 102]]]], dtype=torch.uint8)  # (1, 1, 2, 2)
    assert_close(pixel_vectors(images), torch.tensor([[0.0, 1.0, 0.2, 0.4]]))
