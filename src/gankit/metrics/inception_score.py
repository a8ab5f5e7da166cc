"""Inception-style score with the domain classifier's class probabilities.

Salimans et al., "Improved Techniques for Training GANs", NeurIPS 2016:
``IS = exp(E_x KL(p(y|x) || p(y)))``, computed on ``splits`` equal parts of the
samples (in order) and reported as mean and standard deviation over the parts,
as in the paper's code and torchmetrics' ``InceptionScore``. It lies between 1
(every sample the same class distribution) and K (confident and balanced over
K classes). Only the generated set is used; the real set is ignored.
"""

from __future__ import annotations

import torch

from gankit.metrics import Features, Figure, register_metric

_EPS = 1e-12


def inception_score_of(probs: torch.Tensor, splits: int = 10) -> tuple[float, float]:
    """Mean and std of the score over ``splits`` consecutive parts of (N, K) probabilities."""
    p = probs.double()
    scores = []
    for part in torch.tensor_split(p, splits):
        marginal = part.mean(dim=0, keepdim=True)  # (1, K) p(y)
        kl = (part * ((part + _EPS).log() - (marginal + _EPS).log())).sum(dim=1)  # (n,)
        scores.append(kl.mean().exp())
    values = torch.stack(scores)
    return float(values.mean()), float(values.std(unbiased=False)) if splits > 1 else 0.0


@register_metric(
    "is",
    (
        Figure("is", "higher", "Inception-style score with the domain classifier (Salimans et al. 2016)"),
        Figure("is_std", "lower", "its standard deviation over splits"),
    ),
    needs_probs=True,
)
def inception_score(real: Features, fake: Features, splits: int = 10) -> dict[str, float]:
    """The score of the generated set (``real`` is not used)."""
    mean, std = inception_score_of(fake.probs, min(splits, len(fake)))
    return {"is": mean, "is_std": std}
