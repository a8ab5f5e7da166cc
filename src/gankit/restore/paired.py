"""Paired data: any gankit dataset as (degraded, clean[, mask]) batches, degraded on the fly.

:class:`PairedData` wraps an :class:`~gankit.data.ImageDataset` (MNIST, Fashion-MNIST, emoji, an image folder,
MedMNIST) and a registered degradation; a batch is a function of the indices, the seed and the step alone
(:mod:`gankit.restore.degrade`), so training stays exact across a resume. The trainer keeps drawing the clean
batch as for any model (:meth:`~gankit.training.trainer.Trainer.next_batch`); the ``paired`` objective degrades
it with :meth:`PairedData.degrade`. The evaluation set is the test split degraded once on its own stream with
seed 0, the same for every run, so that runs and baselines are scored on the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gankit.data import ImageDataset, to_uint8
from gankit.data.base import to_unit_range
from gankit.restore.degrade import EVAL_STREAM, TRAIN_STREAM, Degraded, create_degradation

EVAL_SEED = 0
"""The seed of the evaluation set's degradation: one set for every run."""
EVAL_CHUNK = 500
"""Test images degraded per draw of the evaluation stream (step k degrades images [k * 500, (k + 1) * 500))."""


@dataclass
class PairedBatch:
    """Clean images (B, C, H, W) in [-1, 1] and their degraded copies."""

    clean: torch.Tensor
    degraded: Degraded

    @property
    def inputs(self) -> torch.Tensor:
        """The generator's input (B, C [+ 1], h, w)."""
        return self.degraded.model_input()

    @property
    def mask(self) -> torch.Tensor | None:
        return self.degraded.mask


class PairedData:
    """A dataset and a degradation, giving paired batches.

    Args:
        dataset: clean uint8 images (N, C, H, W).
        degradation: a registered degradation's name (:data:`gankit.restore.degrade.DEGRADATIONS`).
        seed: the run's seed.
        sigma: Gaussian noise's standard deviation in [0, 1] units.
        amount: salt-and-pepper's share of pixels.
    """

    def __init__(self, dataset: ImageDataset, degradation: str, seed: int, sigma: float = 25 / 255, amount: float = 0.1) -> None:
        self.dataset, self.degradation, self.seed = dataset, create_degradation(degradation), seed
        self.sigma, self.amount = sigma, amount

    @property
    def task(self) -> str:
        return self.degradation.task

    def degrade(self, clean: torch.Tensor, step: int, stream: int = TRAIN_STREAM, seed: int | None = None) -> PairedBatch:
        """Degrade a clean batch (B, C, H, W) in [-1, 1] as step ``step`` of ``stream``."""
        degraded = self.degradation(clean, self.seed if seed is None else seed, step, stream, self.sigma, self.amount)
        return PairedBatch(clean, degraded)

    def batch(self, indices: torch.Tensor, step: int, stream: int = TRAIN_STREAM) -> PairedBatch:
        """The dataset's images at ``indices``, degraded as step ``step``."""
        return self.degrade(self.dataset.batch(indices), step, stream)

    def evaluation_set(self, num: int | None = None) -> PairedBatch:
        """The first ``num`` images (all by default), degraded on the evaluation stream with :data:`EVAL_SEED`."""
        total = len(self.dataset) if num is None else min(num, len(self.dataset))
        parts = [self.degrade(self.dataset.batch(torch.arange(start, min(start + EVAL_CHUNK, total))), start // EVAL_CHUNK,
                              EVAL_STREAM, seed=EVAL_SEED) for start in range(0, total, EVAL_CHUNK)]
        masks = [p.mask for p in parts]
        return PairedBatch(torch.cat([p.clean for p in parts]),
                           Degraded(torch.cat([p.degraded.images for p in parts]), None if masks[0] is None else torch.cat(masks)))


@torch.no_grad()
def restore_batches(generator: nn.Module, inputs: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """Run ``generator`` (in eval mode, put back after) on model inputs (N, C [+ 1], h, w) in [-1, 1]; uint8 (N, C, H, W).

    Batches of 64 in channels-last layout: on a CPU the convolutions of these small images run 1.2-1.9x faster that way
    than in batches of 500 in the default layout (``benchmarks/restore_speed.py --layouts``); the values agree to 1e-6.
    """
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        outs = [to_uint8(generator(inputs[i:i + batch_size].to(device, memory_format=torch.channels_last)).float().cpu())
                for i in range(0, len(inputs), batch_size)]
    finally:
        generator.train(was_training)
    return torch.cat(outs)


def model_input_from_uint8(images: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """A user's uint8 images (N, C, h, w) and optional bool mask (1 or N, 1, h, w) (True = missing) as model input."""
    x = to_unit_range(images)
    if mask is None:
        return x
    m = mask.float().expand(len(images), 1, *images.shape[-2:])
    return torch.cat([x * (1.0 - m), m], dim=1)
