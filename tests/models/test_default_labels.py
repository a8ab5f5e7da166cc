"""``default_labels``: the classes a conditional generator is asked for when the user names none."""

from __future__ import annotations

import pytest
import torch

from gankit.models import default_labels, generator_spec


def _spec(num_classes, prior=None):
    return generator_spec("mlp_cond", (1, 28, 28), 8, num_classes, {}, prior)


def test_unconditional_gets_no_labels():
    assert default_labels(5, _spec(0, [1.0])) is None
    assert "class_prior" not in _spec(0, [1.0])


def test_without_a_prior_the_classes_come_in_turn():
    assert default_labels(7, _spec(3)).tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_a_prior_gives_its_proportions_spread_through_the_sequence():
    # Hand-worked: counts 6, 3, 1; class k's j-th draw sits at (j + 1/2) / n_k:
    # class 0 at 1/12, 3/12, 5/12, 7/12, 9/12, 11/12; class 1 at 1/6, 3/6, 5/6; class 2 at 1/2 (after class 1's 3/6).
    assert default_labels(10, _spec(3, [0.6, 0.3, 0.1])).tolist() == [0, 1, 0, 0, 1, 2, 0, 0, 1, 0]


@pytest.mark.parametrize(
    "num, prior, counts",
    [
        (7, [1, 1, 1], [3, 2, 2]),  # 7/3 each: the one left over goes to the lowest index
        (4, [0.45, 0.45, 0.1], [2, 2, 0]),  # 1.8, 1.8, 0.4: the two largest remainders
        (5, [2, 0, 3], [2, 0, 3]),  # shares need not add up to 1; an empty class is never drawn
    ],
)
def test_counts_follow_the_largest_remainders(num, prior, counts):
    labels = default_labels(num, _spec(3, prior))
    assert torch.bincount(labels, minlength=3).tolist() == counts


def test_a_uniform_prior_gives_the_classes_in_turn():
    assert torch.equal(default_labels(40, _spec(10, [0.1] * 10)), torch.arange(40) % 10)


def test_counts_are_within_one_of_the_shares():
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        prior = torch.rand(10, generator=gen) ** 3
        num = int(torch.randint(1, 500, (1,), generator=gen))
        labels = default_labels(num, _spec(10, prior.tolist()))
        assert len(labels) == num
        expected = num * prior / prior.sum()
        assert (torch.bincount(labels, minlength=10) - expected).abs().max() < 1
