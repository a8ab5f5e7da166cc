"""Exponential moving average of the generator weights, set as a half-life in images.

Karras et al., "Training Generative Adversarial Networks with Limited Data"
(StyleGAN2-ADA), NeurIPS 2020, and its reference training loop: after each
generator update with a batch of ``batch`` images,

    beta = 0.5 ** (batch / half_life_images),   half_life_images = min(half_life_kimg * 1000, images_seen * rampup)
    p_ema = beta * p_ema + (1 - beta) * p

so the weight of an update halves every ``half_life_kimg`` thousand images; the
ramp-up shortens the half-life early in training, when the generator changes
fastest. Buffers (BatchNorm statistics) are copied as they are, as the reference
does. Sampling, export and the progress grids use the EMA copy
(Yazici et al. 2019 show the same averaging helps GANs in general).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def ema_beta(images_seen: int, batch: int, half_life_kimg: float, rampup: float | None) -> float:
    """The decay of one update: 0.5 ** (batch / half-life in images), the half-life ramped up early on."""
    half_life = half_life_kimg * 1000.0
    if rampup is not None:
        half_life = min(half_life, images_seen * rampup)
    return 0.5 ** (batch / max(half_life, 1e-8))


class GeneratorEMA:
    """A frozen copy of the generator that trails its weights.

    Args:
        generator: the trained generator; copied once here.
        half_life_kimg: half-life of the average in thousands of images.
        rampup: ramp-up ratio (0.05 in StyleGAN2-ADA), or None for none.
    """

    def __init__(self, generator: nn.Module, half_life_kimg: float, rampup: float | None = 0.05) -> None:
        self.module = copy.deepcopy(generator).eval().requires_grad_(False)
        self.half_life_kimg, self.rampup = half_life_kimg, rampup

    @torch.no_grad()
    def update(self, generator: nn.Module, images_seen: int, batch: int) -> float:
        """Move the average towards ``generator``; ``images_seen`` counts images before this update. Returns beta."""
        beta = ema_beta(images_seen, batch, self.half_life_kimg, self.rampup)
        # p_ema + (1 - beta) (p - p_ema) = beta p_ema + (1 - beta) p, in place, one multi-tensor call.
        torch._foreach_lerp_(list(self.module.parameters()), [p.detach() for p in generator.parameters()], 1.0 - beta)
        for b_ema, b in zip(self.module.buffers(), generator.buffers()):
            b_ema.copy_(b)
        return beta

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)
