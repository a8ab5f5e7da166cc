"""AC-GAN and TAC-GAN class losses against cross-entropies written out by hand."""

from __future__ import annotations

import math

import torch
from torch.testing import assert_close

from gankit.losses.classifier import (
    auxiliary_classifier_loss_dis,
    auxiliary_classifier_loss_gen,
    twin_classifier_loss_dis,
    twin_classifier_loss_gen,
)

# Two samples, two classes: CE([2, 0], 0) = log(1 + e^-2), CE([0, 1], 0) = log(1 + e).
LOGITS = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
LABELS = torch.tensor([0, 0])
CE = (math.log(1 + math.exp(-2)) + math.log(1 + math.e)) / 2


def test_auxiliary_classifier_terms():
    uniform = torch.zeros(2, 2)
    assert_close(auxiliary_classifier_loss_dis(LOGITS, LABELS, uniform, LABELS), torch.tensor(CE + math.log(2)))
    assert_close(auxiliary_classifier_loss_gen(LOGITS, LABELS), torch.tensor(CE))


def test_twin_classifier_terms():
    uniform = torch.zeros(2, 2)
    assert_close(twin_classifier_loss_dis(uniform, LABELS, LOGITS, LABELS), torch.tensor(math.log(2) + CE))
    # G: read as its class by the classifier (CE), and not by the twin (minus the twin's CE).
    assert_close(twin_classifier_loss_gen(LOGITS, uniform, LABELS), torch.tensor(CE - math.log(2)))
    assert_close(twin_classifier_loss_gen(LOGITS, LOGITS, LABELS), torch.tensor(0.0))

