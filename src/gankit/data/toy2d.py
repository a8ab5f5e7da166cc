"""2D Gaussian mixtures for measuring mode collapse: ``ring`` and ``grid``.

Srivastava et al., "VEEGAN: Reducing Mode Collapse in GANs using Implicit
Variational Learning", NeurIPS 2017, Section 5.1; Lin et al., "PacGAN: The power
of two samples in generative adversarial networks", NeurIPS 2018, Section 4.1.

* ``ring``: 8 Gaussians with means evenly spaced on a circle of radius 1
  (angles ``2*pi*k/8`` for k = 0..7, so the 8 means are distinct), std 0.01.
* ``grid``: 25 Gaussians with means at ``{-4, -2, 0, 2, 4}^2``, std 0.05.

Mixture components are equally likely; the label of a point is the index of the
component it was drawn from. Points are held as float32 (N, 2) in model space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from gankit.data.base import ImageDataset
from gankit.data.registry import register_dataset

_SIZES = {"train": 50_000, "test": 10_000}
_SEEDS = {"train": 0, "test": 1}


@dataclass(frozen=True)
class GaussianMixture2D:
    """An equal-weight mixture of isotropic 2D Gaussians with a shared std.

    Attributes:
        name: the dataset name.
        means: (K, 2) float64 component means.
        std: the standard deviation of every component along each axis.
    """

    name: str
    means: torch.Tensor
    std: float

    @property
    def num_modes(self) -> int:
        return len(self.means)

    def sample(self, num: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``num`` points (N, 2) float32 and their component labels (N,) int64, a function of ``seed``."""
        gen = torch.Generator().manual_seed(seed)
        labels = torch.randint(self.num_modes, (num,), generator=gen)
        noise = torch.randn(num, 2, generator=gen, dtype=torch.float64)
        points = self.means[labels] + self.std * noise  # (N, 2)
        return points.float(), labels


def ring_means(num_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    """(num_modes, 2) means evenly spaced on a circle; k / num_modes of a turn apart, never repeating."""
    angles = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
    return radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)


def grid_means(values: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)) -> torch.Tensor:
    """(len(values)**2, 2) means on the grid ``values x values``, row by row."""
    axis = torch.tensor(values, dtype=torch.float64)
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)


RING = GaussianMixture2D("ring", ring_means(8, 1.0), 0.01)
GRID = GaussianMixture2D("grid", grid_means(), 0.05)
MIXTURES: dict[str, GaussianMixture2D] = {"ring": RING, "grid": GRID}


def _mixture_dataset(mixture: GaussianMixture2D, split: str) -> ImageDataset:
    points, labels = mixture.sample(_SIZES[split], _SEEDS[split])
    return ImageDataset(
        name=mixture.name,
        images=points,  # (N, 2) float32
        labels=labels,
        num_classes=mixture.num_modes,
        source=f"{mixture.num_modes} Gaussians (std {mixture.std}), {split} split drawn with seed {_SEEDS[split]}",
        class_names=tuple(f"mode {k}" for k in range(mixture.num_modes)),
    )


@register_dataset("ring")
def ring(split: str, root: Path) -> ImageDataset:
    """8 Gaussians on a circle of radius 1, std 0.01 (VEEGAN/PacGAN 2D ring); 50,000 train / 10,000 test points."""
    return _mixture_dataset(RING, split)


@register_dataset("grid")
def grid(split: str, root: Path) -> ImageDataset:
    """25 Gaussians at {-4,-2,0,2,4}^2, std 0.05 (VEEGAN/PacGAN 2D grid); 50,000 train / 10,000 test points."""
    return _mixture_dataset(GRID, split)
