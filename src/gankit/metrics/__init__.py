"""Metrics registry: ``@register_metric(name)`` on a function ``(real, fake, **options) -> {figure: value}``.

Every metric compares two :class:`Features` sets: the real reference set and the
set under test (generated samples, or real held-out images for the
"real-vs-real" floor). One small module per metric cites its paper.

Example:
    >>> from gankit.metrics import compute_metrics
    >>> compute_metrics(["fid", "pr"], real_features, fake_features)
    {'fid': 3.1, 'precision': 0.71, 'recall': 0.65}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from gankit.errors import ConfigError
from gankit.registry import Registry


@dataclass
class Features:
    """What an extractor says about a set of samples.

    Attributes:
        features: (N, D) float feature vectors (a classifier's penultimate layer, or raw 2D points).
        probs: (N, K) class probabilities (a classifier's softmax), or None when there is no classifier.
    """

    features: torch.Tensor
    probs: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.features.ndim != 2:
            raise ValueError(f"features must be (N, D), got {tuple(self.features.shape)}")
        if self.probs is not None and (self.probs.ndim != 2 or len(self.probs) != len(self.features)):
            raise ValueError(f"probs must be (N, K) with N = {len(self.features)}, got {tuple(self.probs.shape)}")

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, indices: torch.Tensor) -> "Features":
        return Features(self.features[indices], None if self.probs is None else self.probs[indices])


@dataclass(frozen=True)
class Figure:
    """How to read one number a metric returns."""

    name: str
    better: str  # "lower" or "higher"
    description: str


MetricFn = Callable[..., dict[str, float]]
METRICS: Registry[MetricFn] = Registry("metric")
FIGURES: dict[str, Figure] = {}
_NEEDS_PROBS: set[str] = set()


def register_metric(name: str, figures: tuple[Figure, ...], needs_probs: bool = False) -> Callable[[MetricFn], MetricFn]:
    """Register a metric and the figures it returns; ``needs_probs`` marks classifier-based metrics."""

    def decorator(fn: MetricFn) -> MetricFn:
        METRICS.register(name)(fn)
        for figure in figures:
            FIGURES[figure.name] = figure
        if needs_probs:
            _NEEDS_PROBS.add(name)
        return fn

    return decorator


def needs_probs(name: str) -> bool:
    """True for metrics that read class probabilities (Inception-style score, class histogram)."""
    METRICS.get(name)
    return name in _NEEDS_PROBS


def parse_metric_names(text: str | list[str]) -> list[str]:
    """``"fid,kid, pr"`` -> ``["fid", "kid", "pr"]``, each checked against the registry."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise ConfigError(f"--metrics: no metric named; choose from: {', '.join(METRICS.names())}")
    for name in names:
        if name not in METRICS:
            raise ConfigError(f"--metrics: unknown metric {name!r}; choose from: {', '.join(METRICS.names())}")
    return list(dict.fromkeys(names))


def compute_metrics(names: list[str], real: Features, fake: Features, **options) -> dict[str, float]:
    """Run the named metrics on one pair of feature sets; ``options`` go to every metric that takes them."""
    import inspect

    results: dict[str, float] = {}
    for name in names:
        fn = METRICS.get(name)
        if name in _NEEDS_PROBS and (real.probs is None or fake.probs is None):
            raise ConfigError(f"metric {name!r} needs class probabilities, but this feature extractor has no classifier")
        accepted = inspect.signature(fn).parameters
        kwargs = {k: v for k, v in options.items() if k in accepted}
        results.update(fn(real, fake, **kwargs))
    return results


# Import the metric modules so that their decorators run.
from gankit.metrics import classes, density_coverage, fid, inception_score, kid, memorisation, precision_recall  # noqa: E402,F401

__all__ = ["FIGURES", "Features", "Figure", "METRICS", "compute_metrics", "needs_probs", "parse_metric_names", "register_metric"]
