"""DiffAugment: differentiable augmentations applied to real and fake images alike.

Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training",
NeurIPS 2020; the operations and their ranges follow the authors' PyTorch code
(``DiffAugment_pytorch.py``): ``color`` (brightness +-0.5, saturation x[0, 2],
contrast x[0.5, 1.5]), ``translation`` (up to 1/8 of the size, zero padded) and
``cutout`` (a square of half the size set to zero). The discriminator sees only
augmented images, real and fake, and G's gradient flows through the same
augmentations, so they do not leak into the samples.

Random parameters are drawn from a given ``torch.Generator`` on the CPU, so a run
is reproducible and resumes exactly.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from gankit.errors import ConfigError


def _uniform(x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """U[0, 1) per sample, shaped (B, 1, 1, 1)."""
    return torch.rand(x.shape[0], 1, 1, 1, generator=gen).to(device=x.device, dtype=x.dtype)


def brightness(x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    return x + (_uniform(x, gen) - 0.5)


def saturation(x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_uniform(x, gen) * 2) + mean


def contrast(x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, gen) + 0.5) + mean


def translation(x: torch.Tensor, gen: torch.Generator | None = None, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size in each direction, filling with zeros.

    The authors' shifts, drawn in their order; each image is read from a zero-padded copy with one
    ``gather`` over its flattened pixels (2-5x faster on a CPU than indexing with three index grids).
    """
    batch, channels, height, width = x.shape
    max_dy, max_dx = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (batch, 1), generator=gen).to(x.device)
    dx = torch.randint(-max_dx, max_dx + 1, (batch, 1), generator=gen).to(x.device)
    padded = F.pad(x, [max_dx, max_dx, max_dy, max_dy])  # (B, C, H + 2 max_dy, W + 2 max_dx), zero border
    row = width + 2 * max_dx
    pixel = (torch.arange(height, device=x.device)[:, None] * row + torch.arange(width, device=x.device)).flatten()  # (H * W,)
    source = pixel + (max_dy + dy) * row + (max_dx + dx)  # (B, H * W): output (i, j) reads padded (i + dy, j + dx)
    out = padded.flatten(2).gather(2, source[:, None].expand(batch, channels, height * width))  # (B, C, H * W)
    return out.view(batch, channels, height, width)


def cutout(x: torch.Tensor, gen: torch.Generator | None = None, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of ``ratio`` times the size at a random centre (clipped at the border)."""
    batch, _, height, width = x.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    off_y = torch.randint(0, height + (1 - size_y % 2), (batch, 1, 1), generator=gen).to(x.device)
    off_x = torch.randint(0, width + (1 - size_x % 2), (batch, 1, 1), generator=gen).to(x.device)
    b, i, j = torch.meshgrid(
        torch.arange(batch, device=x.device), torch.arange(size_y, device=x.device), torch.arange(size_x, device=x.device), indexing="ij"
    )
    i = torch.clamp(i + off_y - size_y // 2, 0, height - 1)
    j = torch.clamp(j + off_x - size_x // 2, 0, width - 1)
    mask = torch.ones(batch, height, width, dtype=x.dtype, device=x.device)
    mask[b, i, j] = 0
    return x * mask.unsqueeze(1)


AUGMENTS: dict[str, tuple[Callable[..., torch.Tensor], ...]] = {
    "color": (brightness, saturation, contrast),
    "translation": (translation,),
    "cutout": (cutout,),
}


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color,translation"`` -> ("color", "translation"); ``""`` or ``"none"`` -> (); unknown names raise ConfigError."""
    names = tuple(p.strip() for p in policy.split(",") if p.strip() and p.strip() != "none")
    unknown = [n for n in names if n not in AUGMENTS]
    if unknown:
        raise ConfigError(f"augment.policy: unknown augmentation(s) {', '.join(unknown)}; choose from: {', '.join(AUGMENTS)}, or none")
    return names


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], gen: torch.Generator | None = None) -> torch.Tensor:
    """Apply the policy's operations in order to images (B, C, H, W); differentiable in ``x``."""
    for name in policy:
        for op in AUGMENTS[name]:
            x = op(x, gen)
    return x
