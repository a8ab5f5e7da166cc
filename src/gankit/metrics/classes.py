"""Class histogram of the samples under the domain classifier.

The diversity measure of Srivastava et al. 2017 (VEEGAN) and Lin et al. 2018
(PacGAN) for labelled data: classify every sample, count the classes that occur
at least once, and compare the histogram with the real one by the reverse KL
divergence ``KL(q_fake || p_real)`` (finite even when modes are missing). The
share of samples the classifier is confident about (max probability >= 0.9)
tells recognisable samples from blurry ones.

Real classes absent from the real reference set get half a count, so the KL stays
finite when a generated sample lands in them.
"""

from __future__ import annotations

import torch

from gankit.metrics import Features, Figure, register_metric


def class_histogram(probs: torch.Tensor) -> torch.Tensor:
    """(K,) counts of the argmax classes of (N, K) probabilities."""
    return torch.bincount(probs.argmax(dim=1), minlength=probs.shape[1])


def reverse_kl(fake_counts: torch.Tensor, real_probs: torch.Tensor) -> float:
    """``KL(q || p)`` with ``q`` the normalised ``fake_counts``; 0 log 0 = 0."""
    q = fake_counts.double() / fake_counts.sum()
    p = real_probs.double()
    mask = q > 0
    return float((q[mask] * (q[mask].log() - p[mask].log())).sum())


@register_metric(
    "classes",
    (
        Figure("classes_covered", "higher", "classes with at least one sample"),
        Figure("class_kl", "lower", "reverse KL of the class histogram to the real one"),
        Figure("confident", "higher", "share of samples classified with probability >= 0.9"),
    ),
    needs_probs=True,
)
def classes(real: Features, fake: Features, confidence: float = 0.9) -> dict[str, float]:
    """Classes covered, reverse KL to the real class histogram, share of confident samples."""
    fake_counts = class_histogram(fake.probs)
    real_counts = class_histogram(real.probs).double()
    real_counts[real_counts == 0] = 0.5
    return {
        "classes_covered": float((fake_counts > 0).sum()),
        "class_kl": reverse_kl(fake_counts, real_counts / real_counts.sum()),
        "confident": float((fake.probs.max(dim=1).values >= confidence).double().mean()),
    }
