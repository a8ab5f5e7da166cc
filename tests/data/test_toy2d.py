"""The 2D mixtures: distinct means where the papers put them, the stated spread, deterministic draws."""

import math

import pytest
import torch

from gankit.data import DATASETS, load_dataset
from gankit.data.toy2d import GRID, RING, grid_means, ring_means


def test_ring_has_eight_distinct_means_on_the_unit_circle():
    means = ring_means(8, 1.0)
    assert means.shape == (8, 2)
    torch.testing.assert_close(means.norm(dim=1), torch.ones(8, dtype=torch.float64))
    gaps = torch.cdist(means, means) + 10 * torch.eye(8, dtype=torch.float64)
    # Neighbours on a circle of radius 1 with 8 points are 2 sin(pi / 8) apart; none coincide.
    assert float(gaps.min()) == pytest.approx(2 * math.sin(math.pi / 8))
    assert RING.std == 0.01


def test_grid_means_are_the_25_points_of_the_paper():
    expected = {(x, y) for x in (-4.0, -2.0, 0.0, 2.0, 4.0) for y in (-4.0, -2.0, 0.0, 2.0, 4.0)}
    assert {tuple(p) for p in grid_means().tolist()} == expected
    assert GRID.std == 0.05


@pytest.mark.parametrize("mixture", [RING, GRID], ids=["ring", "grid"])
def test_samples_spread_by_the_stated_std_around_their_own_mean(mixture):
    points, labels = mixture.sample(20_000, seed=3)
    offsets = points.double() - mixture.means[labels]
    assert offsets.std(dim=0).tolist() == pytest.approx([mixture.std, mixture.std], rel=0.03)
    counts = torch.bincount(labels, minlength=mixture.num_modes).double()
    assert float(counts.min()) > 0.8 * 20_000 / mixture.num_modes  # equally likely modes


def test_draws_depend_on_the_seed_only():
    a, _ = RING.sample(100, seed=7)
    b, _ = RING.sample(100, seed=7)
    c, _ = RING.sample(100, seed=8)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("name,modes", [("ring", 8), ("grid", 25)])
def test_registered_as_float_vector_datasets(name, modes, tmp_path):
    assert name in DATASETS
    train, test = load_dataset(name, "train", tmp_path), load_dataset(name, "test", tmp_path)
    assert train.images.dtype == torch.float32 and train.images.shape == (50_000, 2)
    assert len(test) == 10_000 and train.num_classes == modes
    assert not torch.equal(train.images[:100], test.images[:100])
