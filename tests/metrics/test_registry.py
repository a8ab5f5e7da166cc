"""Every registered metric runs on tiny feature sets and returns the figures it declares."""

import importlib

import pytest
import torch

from gankit.errors import ConfigError
from gankit.metrics import FIGURES, METRICS, Features, compute_metrics, needs_probs, parse_metric_names


def tiny_features(seed: int) -> Features:
    gen = torch.Generator().manual_seed(seed)
    return Features(torch.randn(40, 6, generator=gen), torch.softmax(torch.randn(40, 5, generator=gen), dim=1))


@pytest.mark.parametrize("name", METRICS.names())
def test_metric_runs_and_returns_finite_declared_figures(name):
    result = compute_metrics([name], tiny_features(0), tiny_features(1), subsets=3, subset_size=20, test=tiny_features(2))
    assert result and all(key in FIGURES for key in result)
    assert all(torch.isfinite(torch.tensor(value)) for value in result.values())
    module = importlib.import_module(METRICS.get(name).__module__)
    assert "et al." in module.__doc__  # each metric module cites its paper


def test_classifier_metrics_refuse_features_without_probabilities():
    plain = Features(torch.randn(10, 3))
    for name in METRICS.names():
        if needs_probs(name):
            with pytest.raises(ConfigError, match="class probabilities"):
                compute_metrics([name], plain, plain)


def test_metric_names_are_checked():
    assert parse_metric_names("fid, pr,fid") == ["fid", "pr"]
    with pytest.raises(ConfigError, match="unknown metric 'fdi'; choose from: classes, dc, fid"):
        parse_metric_names("fdi")
