"""Stacked MNIST: three independently drawn MNIST digits as the channels of one image.

Metz et al., "Unrolled Generative Adversarial Networks", ICLR 2017, Section 3.3;
used as the 1,000-mode benchmark by Srivastava et al. 2017 (VEEGAN) and Lin et
al. 2018 (PacGAN). The label of an image is ``100 * d_red + 10 * d_green +
d_blue``, so there are 1,000 classes ("modes").

The digits of the train split come from MNIST's train split and those of the
test split from MNIST's test split; which digits are stacked is a function of
the split's seed only, so the dataset is the same on every machine that has the
same MNIST.
"""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.data.base import ImageDataset
from gankit.data.registry import register_dataset

NUM_MODES = 1000
_SIZES = {"train": 50_000, "test": 10_000}
_SEEDS = {"train": 0, "test": 1}


def stack_digits(images: torch.Tensor, labels: torch.Tensor, num: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``num`` triples of digits (with replacement) and stack them as channels.

    Args:
        images: (M, 1, H, W) uint8 single-channel digits.
        labels: (M,) int64 digit labels 0..9.
        num: the number of stacked images.
        seed: the seed of the draw.

    Returns:
        (num, 3, H, W) uint8 images and (num,) int64 labels ``100*a + 10*b + c``.
    """
    if images.ndim != 4 or images.shape[1] != 1:
        raise ValueError(f"expected single-channel digits (M, 1, H, W), got {tuple(images.shape)}")
    gen = torch.Generator().manual_seed(seed)
    picks = torch.randint(len(images), (num, 3), generator=gen)  # (num, 3) indices into the digits
    stacked = images[picks.reshape(-1), 0].reshape(num, 3, *images.shape[2:])  # (num, 3, H, W)
    digits = labels[picks]  # (num, 3)
    return stacked, digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


def split_stacked_label(labels: torch.Tensor) -> torch.Tensor:
    """(N,) labels 0..999 -> (N, 3) digits (red, green, blue)."""
    return torch.stack([labels // 100, (labels // 10) % 10, labels % 10], dim=1)


@register_dataset("stacked-mnist")
def stacked_mnist(split: str, root: Path) -> ImageDataset:
    """Stacked MNIST, 1,000 modes: 50,000 train / 10,000 test 3x28x28 images from MNIST's own splits."""
    from gankit.data.registry import DATASETS

    digits = DATASETS.get("mnist")(split, root)
    images, labels = stack_digits(digits.images, digits.labels, _SIZES[split], _SEEDS[split])
    return ImageDataset(
        name="stacked-mnist",
        images=images,
        labels=labels,
        num_classes=NUM_MODES,
        source=f"Stacked MNIST ({split}, seed {_SEEDS[split]}) from {digits.source}",
        class_names=tuple(f"{k:03d}" for k in range(NUM_MODES)),
    )
