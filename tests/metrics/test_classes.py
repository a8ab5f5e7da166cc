"""Class histogram: classes covered, reverse KL by hand, share of confident samples."""

import math

import pytest
import torch

from gankit.metrics import Features
from gankit.metrics.classes import classes


def onehot(labels, k=4, confidence=1.0):
    probs = torch.full((len(labels), k), (1 - confidence) / (k - 1))
    probs[torch.arange(len(labels)), torch.tensor(labels)] = confidence
    return probs


def test_matching_histogram_scores_zero_kl_and_all_classes():
    real = Features(torch.zeros(8, 1), onehot([0, 1, 2, 3] * 2))
    result = classes(real, Features(torch.zeros(4, 1), onehot([3, 2, 1, 0])))
    assert result == {"classes_covered": 4.0, "class_kl": pytest.approx(0.0), "confident": 1.0}


def test_collapsed_samples_by_hand():
    real = Features(torch.zeros(4, 1), onehot([0, 1, 2, 3]))
    fake = Features(torch.zeros(4, 1), onehot([0, 0, 0, 1], confidence=0.7))
    result = classes(real, fake)
    # q = (3/4, 1/4, 0, 0), p = 1/4 each: KL = 3/4 ln 3 + 1/4 ln 1.
    assert result["classes_covered"] == 2.0
    assert result["class_kl"] == pytest.approx(0.75 * math.log(3))
    assert result["confident"] == 0.0


def test_a_class_missing_from_the_reference_keeps_the_kl_finite():
    real = Features(torch.zeros(3, 1), onehot([0, 1, 2]))
    fake = Features(torch.zeros(1, 1), onehot([3]))
    assert math.isfinite(classes(real, fake)["class_kl"])
