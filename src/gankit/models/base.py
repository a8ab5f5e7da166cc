"""What every registered model family provides."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn


@dataclass
class GANPair:
    """A generator and a discriminator built together from one spec.

    The networks do not own optimisers or training steps: the trainer does.
    """

    generator: nn.Module
    discriminator: nn.Module
