"""Mode-collapse scores: modes covered, share of high-quality samples, reverse KL of the mode histogram.

2D mixtures (``ring``, ``grid``), as in Srivastava et al., "VEEGAN", NeurIPS
2017, Section 5.1 and Lin et al., "PacGAN", NeurIPS 2018, Section 4.1 (and their
reference code): a sample is *high quality* when it lies within 3 standard
deviations of its nearest mixture mean; a mode is *covered* when it holds at
least one high-quality sample; the reverse KL is ``KL(q || uniform)`` for ``q``
the histogram of the high-quality samples over the modes. Scored on 2,500 samples.

Stacked MNIST (VEEGAN Table 2, PacGAN Table 2):
the MNIST classifier labels each channel, the three digits name one of 1,000
modes; covered modes have at least one sample and the KL is
``KL(q || uniform)`` over all samples. Scored on 26,000 samples.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from gankit.data.toy2d import GaussianMixture2D

MIXTURE_SAMPLES = 2_500
STACKED_SAMPLES = 26_000
STACKED_MODES = 1_000


@dataclass
class ModeScore:
    """Attributes:
        modes: modes covered.
        num_modes: modes in the target distribution.
        high_quality: share of high-quality samples (None for Stacked MNIST).
        reverse_kl: ``KL(q || uniform)``; ``inf`` when no sample is high quality.
        num_samples: how many samples were scored.
        channel_kl: Stacked MNIST only: ``KL(q_c || uniform)`` of each channel's digit
            histogram. When the channels are independent they add up to ``reverse_kl``,
            so a total made of skewed digits in every channel shows here, and one made
            of missing combinations does not.
    """

    modes: int
    num_modes: int
    high_quality: float | None
    reverse_kl: float
    num_samples: int
    channel_kl: tuple[float, ...] | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        if math.isinf(self.reverse_kl):
            out["reverse_kl"] = None  # JSON has no infinity
        return out


def kl_to_uniform(counts: torch.Tensor) -> float:
    """``KL(q || uniform)`` of the histogram ``counts`` over ``len(counts)`` modes; inf when it is empty."""
    total = counts.sum()
    if total == 0:
        return math.inf
    q = counts.double() / total
    q = q[q > 0]
    return float((q * (q.log() + math.log(len(counts)))).sum())


def nearest_modes(points: torch.Tensor, means: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) index of the nearest mean and (N,) distance to it."""
    distances = torch.cdist(points.double(), means.double())  # (N, K)
    nearest = distances.min(dim=1)
    return nearest.indices, nearest.values


def score_mixture(points: torch.Tensor, mixture: GaussianMixture2D, threshold: float = 3.0) -> ModeScore:
    """Score (N, 2) samples of a 2D mixture benchmark."""
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"expected (N, 2) points, got {tuple(points.shape)}")
    index, distance = nearest_modes(points, mixture.means)
    high_quality = distance <= threshold * mixture.std
    counts = torch.bincount(index[high_quality], minlength=mixture.num_modes)
    return ModeScore(
        modes=int((counts > 0).sum()),
        num_modes=mixture.num_modes,
        high_quality=float(high_quality.double().mean()),
        reverse_kl=kl_to_uniform(counts),
        num_samples=len(points),
    )


def score_stacked(digits: torch.Tensor) -> ModeScore:
    """Score Stacked MNIST samples from their (N, 3) per-channel predicted digits."""
    if digits.ndim != 2 or digits.shape[1] != 3:
        raise ValueError(f"expected (N, 3) digits, got {tuple(digits.shape)}")
    labels = digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]
    counts = torch.bincount(labels, minlength=STACKED_MODES)
    return ModeScore(
        modes=int((counts > 0).sum()),
        num_modes=STACKED_MODES,
        high_quality=None,
        reverse_kl=kl_to_uniform(counts),
        num_samples=len(digits),
        channel_kl=tuple(kl_to_uniform(torch.bincount(digits[:, c], minlength=10)) for c in range(3)),
    )
