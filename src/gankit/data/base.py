"""In-memory image datasets and the deterministic batch order."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ImageDataset:
    """Images held in memory as uint8, scaled to [-1, 1] only when a batch is taken.

    Low-dimensional toy data (e.g. 2D mixtures) is held as float32 (N, D) in model
    space instead and is used as it is.

    Attributes:
        images: (N, C, H, W) uint8, or (N, D) float32 for vector data.
        labels: (N,) int64, or None for unlabelled data.
        num_classes: number of label values (0 when unlabelled).
        source: a human-readable note of where the data came from.
    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor | None = None
    num_classes: int = 0
    source: str = ""
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        is_image = self.images.dtype == torch.uint8 and self.images.ndim == 4
        is_vector = self.images.dtype == torch.float32 and self.images.ndim == 2
        if not (is_image or is_vector):
            raise ValueError(f"images must be uint8 (N, C, H, W) or float32 (N, D), got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels is not None and self.labels.shape != (len(self.images),):
            raise ValueError(f"labels must have shape ({len(self.images)},), got {tuple(self.labels.shape)}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def img_shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])  # (C, H, W), or (D,) for vector data

    def batch(self, indices: torch.Tensor) -> torch.Tensor:
        """The items at ``indices`` in model space: images scaled to [-1, 1], vectors as they are."""
        items = self.images[indices]
        return to_unit_range(items) if items.dtype == torch.uint8 else items


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255] (rounded, clamped)."""
    return images.detach().float().add(1.0).mul(127.5).round_().clamp_(0, 255).to(torch.uint8)


class EpochSampler:
    """Deterministic shuffled batches: the order is a function of (seed, epoch) only.

    Any step can therefore be reached directly, which is what makes resume exact:
    step ``s`` is batch ``s % steps_per_epoch`` of epoch ``s // steps_per_epoch``.
    Incomplete last batches are dropped.
    """

    def __init__(self, num_items: int, batch_size: int, seed: int) -> None:
        if num_items < batch_size:
            raise ValueError(f"the dataset has {num_items} images, fewer than one batch of {batch_size}")
        self.num_items, self.batch_size, self.seed = num_items, batch_size, seed
        self.steps_per_epoch = num_items // batch_size
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.num_items, generator=gen)
        return self._perm

    def indices(self, step: int) -> torch.Tensor:
        """Dataset indices of the batch used at global ``step``."""
        epoch, i = divmod(step, self.steps_per_epoch)
        return self.permutation(epoch)[i * self.batch_size: (i + 1) * self.batch_size]
