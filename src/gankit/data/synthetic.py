"""A procedurally drawn labelled dataset for tests and smoke runs (no download, no disk)."""

from __future__ import annotations

from pathlib import Path

import torch

from gankit.data.base import ImageDataset
from gankit.data.registry import register_dataset

_SIZES = {"train": 2048, "test": 512}


def draw_squares(num: int, size: int = 28, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """White squares on black, side 4..13 px; the label is side - 4 (10 classes).

    Returns:
        images (N, 1, size, size) uint8 and labels (N,) int64.
    """
    gen = torch.Generator().manual_seed(seed)
    sides = torch.randint(4, 14, (num,), generator=gen)
    images = torch.zeros(num, 1, size, size, dtype=torch.uint8)
    for i, side in enumerate(sides.tolist()):
        top, left = torch.randint(0, size - side + 1, (2,), generator=gen).tolist()
        images[i, 0, top:top + side, left:left + side] = 255
    return images, sides - 4


@register_dataset("squares")
def squares(split: str, root: Path) -> ImageDataset:
    """2,048 train / 512 test 28x28 squares in 10 size classes; drawn, never downloaded."""
    images, labels = draw_squares(_SIZES[split], seed={"train": 0, "test": 1}[split])
    return ImageDataset("squares", images, labels, num_classes=10, source=f"synthetic squares ({split})")
