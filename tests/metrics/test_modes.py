"""Mode scores: exact mixture samples score every mode, collapsed ones a single mode, against closed forms."""

import math

import pytest
import torch

from gankit.data.toy2d import GRID, RING
from gankit.metrics.modes import kl_to_uniform, score_mixture, score_stacked

# A 2D Gaussian sample is within 3 std of its mean with probability P(chi2_2 <= 9) = 1 - exp(-9 / 2).
WITHIN_3_STD = 1 - math.exp(-4.5)


@pytest.mark.parametrize("mixture", [RING, GRID], ids=["ring", "grid"])
def test_exact_samples_cover_every_mode_with_high_quality(mixture):
    points, _ = mixture.sample(2500, seed=11)
    score = score_mixture(points, mixture)
    assert score.modes == mixture.num_modes
    assert score.high_quality == pytest.approx(WITHIN_3_STD, abs=0.006)
    assert score.reverse_kl < 0.02
    assert score.num_samples == 2500


def test_samples_collapsed_on_one_mode_score_one_mode_and_kl_log_k():
    points = RING.means[3].float().expand(2500, 2) + 0.001
    score = score_mixture(points, RING)
    assert (score.modes, score.high_quality) == (1, 1.0)
    assert score.reverse_kl == pytest.approx(math.log(8))


def test_samples_between_modes_are_not_high_quality():
    points = torch.zeros(100, 2)  # the centre of the ring: 1 from every mean, far beyond 3 std
    score = score_mixture(points, RING)
    assert (score.modes, score.high_quality) == (0, 0.0)
    assert math.isinf(score.reverse_kl)
    assert score.to_dict()["reverse_kl"] is None


def test_kl_to_uniform_by_hand():
    assert kl_to_uniform(torch.tensor([5, 5, 5, 5])) == pytest.approx(0.0)
    # q = (1/2, 1/2, 0, 0): KL = ln 2.
    assert kl_to_uniform(torch.tensor([3, 3, 0, 0])) == pytest.approx(math.log(2))


def test_stacked_scores_from_digits():
    all_modes = torch.tensor([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])
    score = score_stacked(all_modes.repeat(26, 1))
    assert (score.modes, score.num_modes, score.high_quality) == (1000, 1000, None)
    assert score.reverse_kl == pytest.approx(0.0, abs=1e-12)
    collapsed = score_stacked(torch.tensor([[1, 2, 3]] * 50 + [[4, 5, 6]] * 50))
    assert collapsed.modes == 2
    assert collapsed.reverse_kl == pytest.approx(math.log(500))


def test_channel_kls_by_hand():
    all_modes = torch.tensor([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])
    assert score_stacked(all_modes).channel_kl == pytest.approx((0.0, 0.0, 0.0), abs=1e-12)
    # Each channel shows two digits half the time each: KL = ln(10 / 2) per channel; the channels are fully
    # correlated, so their sum (ln 125) falls short of the joint KL (ln 500).
    collapsed = score_stacked(torch.tensor([[1, 2, 3]] * 50 + [[4, 5, 6]] * 50))
    assert collapsed.channel_kl == pytest.approx((math.log(5),) * 3)
    # Only channel 1 is skewed, always 7: KL ln 10 there, 0 elsewhere, and the joint KL is the same ln 10.
    one_skewed = all_modes.clone()
    one_skewed[:, 1] = 7
    score = score_stacked(one_skewed)
    assert score.channel_kl == pytest.approx((0.0, math.log(10), 0.0), abs=1e-12)
    assert score.reverse_kl == pytest.approx(math.log(10))


def test_channel_kls_add_up_to_the_joint_kl_for_independent_channels():
    # Exact product histogram: digit (a, b, c) appears counts[0][a] * counts[1][b] * counts[2][c] times.
    counts = [[5, 1, 1, 2, 1, 1, 3, 1, 1, 4], [1] * 10, [2, 2, 1, 1, 1, 1, 1, 1, 6, 1]]
    rows = [[a, b, c] for a in range(10) for b in range(10) for c in range(10)
            for _ in range(counts[0][a] * counts[1][b] * counts[2][c])]
    score = score_stacked(torch.tensor(rows))
    by_hand = []
    for channel in counts:
        q = [n / sum(channel) for n in channel]
        by_hand.append(sum(p * math.log(10 * p) for p in q))
    assert score.channel_kl == pytest.approx(tuple(by_hand))
    assert by_hand[1] == pytest.approx(0.0)
    assert score.reverse_kl == pytest.approx(sum(by_hand))
