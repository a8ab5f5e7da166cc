"""Inception-style score: closed-form extremes and torchmetrics' InceptionScore."""

import pytest
import torch
from torch import nn

from gankit.metrics import Features
from gankit.metrics.inception_score import inception_score, inception_score_of


def test_confident_balanced_predictions_score_the_number_of_classes():
    probs = torch.eye(10).repeat(50, 1)  # 500 samples, each certain, 50 per class
    mean, std = inception_score_of(probs, splits=5)
    assert mean == pytest.approx(10.0, rel=1e-6)
    assert std == pytest.approx(0.0, abs=1e-6)


def test_one_class_or_uniform_predictions_score_one():
    assert inception_score_of(torch.eye(10)[[3] * 100], splits=1)[0] == pytest.approx(1.0, abs=1e-6)
    assert inception_score_of(torch.full((100, 10), 0.1), splits=1)[0] == pytest.approx(1.0, abs=1e-6)


def test_two_classes_by_hand():
    # p(y|x) = (0.9, 0.1) and (0.1, 0.9) in equal numbers: p(y) = (0.5, 0.5), KL = 0.9 ln 1.8 + 0.1 ln 0.2.
    import math

    probs = torch.tensor([[0.9, 0.1], [0.1, 0.9]]).repeat(10, 1)
    expected = math.exp(0.9 * math.log(1.8) + 0.1 * math.log(0.2))
    assert inception_score_of(probs, splits=1)[0] == pytest.approx(expected, rel=1e-6)


class _Logits(nn.Module):
    def forward(self, x):
        return x


def test_matches_torchmetrics_given_the_same_logits():
    from torchmetrics.image.inception import InceptionScore

    gen = torch.Generator().manual_seed(0)
    logits = 3 * torch.randn(400, 10, generator=gen, dtype=torch.float64)
    reference = InceptionScore(feature=_Logits(), splits=1)
    reference.update(logits)
    expected = float(reference.compute()[0])
    fake = Features(torch.zeros(400, 1), torch.softmax(logits, dim=1))
    assert inception_score(fake, fake, splits=1)["is"] == pytest.approx(expected, rel=1e-6)
