"""The domain evaluator's feature loss (``restore.feature_weight``): L1 between the evaluator's features of the
restored and the clean image.

A content loss in the manner of Johnson et al. (ECCV 2016) and SRGAN's VGG loss (Ledig et al., CVPR 2017), on the
one trained network gankit has for every labelled dataset without a download: the domain evaluator
(:mod:`gankit.metrics.evaluator`), whose penultimate layer (``EvaluatorNet.features``, (B, 128)) is also what FID,
KID and class match read. The network is frozen (eval mode, no gradients to its weights). Since a generator trained
on these features can please them without restoring better, ``gankit eval`` scores such a run with an evaluator of
the same recipe trained from another seed (:func:`scoring_evaluator_seed`), as the edit projector does for its own
use of the same features (:mod:`gankit.edit.features`).

loss = mean over batch and features of |phi(restored) - phi(clean)|, phi the evaluator's features of (B, C, H, W)
images in [-1, 1].
"""

from __future__ import annotations

import os

import torch
from torch import nn

from gankit.edit.features import EvaluatorFeatures
from gankit.errors import ConfigError


class EvaluatorFeatureLoss(nn.Module):
    """``forward(restored, clean)`` on (B, C, H, W) images in [-1, 1] -> the mean |phi(restored) - phi(clean)|."""

    def __init__(self, features: nn.Module, evaluator_id: str = "") -> None:
        super().__init__()
        self.features = features.eval().requires_grad_(False)
        self.evaluator_id = evaluator_id

    def train(self, mode: bool = True) -> EvaluatorFeatureLoss:
        """Stays in eval mode: the evaluator's batch norm uses its running statistics, its dropout is off."""
        return super().train(False)

    def forward(self, restored: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            target = self.features(clean.float())  # (B, F)
        return (self.features(restored.float()) - target).abs().mean()


def evaluator_feature_loss(dataset, seed: int = 0, data_dir: str | os.PathLike | None = None) -> EvaluatorFeatureLoss:
    """The feature loss on ``dataset``'s domain evaluator of training seed ``seed`` (trained and cached when missing).

    Raises:
        ConfigError: the dataset has no labelled images to train an evaluator on.
    """
    from gankit.evaluation.evaluator_training import evaluator_with_seed

    try:
        evaluator = evaluator_with_seed(dataset, seed, data_dir)
    except ConfigError as exc:
        raise ConfigError(f"restore.feature_weight > 0 needs the dataset's domain evaluator: {exc}") from None
    return EvaluatorFeatureLoss(EvaluatorFeatures(evaluator.net), evaluator.id)


def scoring_evaluator_seed(trained_seed: int) -> int:
    """The seed of the evaluator that scores a run trained against the evaluator of ``trained_seed``: the next one."""
    return trained_seed + 1
