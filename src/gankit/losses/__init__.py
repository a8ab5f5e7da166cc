"""Adversarial losses as pure functions of discriminator logits, and their registry.

``create_loss(name)`` returns an :class:`AdversarialLoss` whose ``discriminator``
and ``generator`` functions map logits to a scalar loss to minimise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from gankit.registry import Registry


@dataclass(frozen=True)
class AdversarialLoss:
    """A pair of loss functions for the two players.

    Attributes:
        discriminator: (real_logits (B,), fake_logits (B,)) -> scalar.
        generator: fake_logits (B,) -> scalar.
    """

    name: str
    discriminator: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: Callable[[torch.Tensor], torch.Tensor]
    decision_threshold: float = 0.0
    """D calls a sample real when its output is above this (0.5 for least squares' 0/1 targets)."""


LOSSES: Registry[AdversarialLoss] = Registry("loss")


def register_loss(loss: AdversarialLoss) -> AdversarialLoss:
    return LOSSES.register(loss.name)(loss)


def create_loss(name: str) -> AdversarialLoss:
    return LOSSES.get(name)


from gankit.losses import adversarial  # noqa: E402,F401
