"""Adversarial losses as pure functions of discriminator logits, and their registry.

``create_loss(name)`` returns an :class:`AdversarialLoss` whose ``discriminator``
and ``generator`` functions map logits to a scalar loss to minimise. The terms
added to it (class, code and reconstruction losses, R1, the gradient penalty,
top-k) are registered in :mod:`gankit.losses.terms`.
"""

from __future__ import annotations

import math
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


def top_k_fraction(epoch: int, gamma: float, minimum: float) -> float:
    """Share of the fake batch the generator learns from at ``epoch``: ``max(gamma ** epoch, minimum)``.

    Sinha et al., "Top-k Training of GANs: Improving GAN Performance by Throwing Away
    Bad Samples", NeurIPS 2020, Sec. 3 (gamma = 0.99 per epoch, minimum nu = 0.5-0.75);
    gamma = 1 keeps every sample.
    """
    return max(gamma**epoch, minimum)


def top_k_logits(fake_logits: torch.Tensor, fraction: float) -> torch.Tensor:
    """The ``ceil(fraction * B)`` highest of the (B,) fake logits: the samples D finds most realistic.

    The generator loss on these alone (Sinha et al. 2020) stops G from being pulled
    by its worst samples, whose gradients point away from the data (Sec. 3.1).
    """
    if fraction >= 1.0:
        return fake_logits
    k = max(1, math.ceil(fraction * fake_logits.shape[0]))
    return fake_logits.topk(k, sorted=False).values  # (k,)


from gankit.losses import adversarial  # noqa: E402,F401
