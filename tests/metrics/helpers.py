"""A tiny domain evaluator on the synthetic squares, trained once per test module into a temporary cache."""

from __future__ import annotations

from torch import nn

from gankit.evaluation.evaluator_training import train_evaluator
from gankit.metrics.evaluator import DomainEvaluator, EvaluatorConfig, save_evaluator

TINY = EvaluatorConfig(channels=(8, 16), feature_dim=16, epochs=3, batch_size=64, lr=5e-3)


def train_tiny(cfg: EvaluatorConfig = TINY) -> DomainEvaluator:
    """Train on ``squares`` (2,048 images); ``train_evaluator`` itself uses one thread."""
    return train_evaluator("squares", cfg=cfg)


def train_tiny_squares_evaluator(monkeypatch_env, cache_dir) -> DomainEvaluator:
    """Train the tiny evaluator and save it under ``cache_dir`` (made ``$GANKIT_CACHE``)."""
    monkeypatch_env.setenv("GANKIT_CACHE", str(cache_dir))
    evaluator = train_tiny()
    save_evaluator(evaluator)
    return evaluator


class IdentityFeatures(nn.Module):
    """A torchmetrics feature extractor that passes its input through, so the reference library sees our features."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x):
        return x
