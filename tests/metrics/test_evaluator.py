"""The domain evaluator: learns, round-trips through safetensors + JSON, says when missing."""

import json

import pytest
import torch

from gankit.data import load_dataset
from gankit.metrics.evaluator import (
    EvaluatorMissingError,
    EvaluatorNet,
    evaluator_dir,
    load_evaluator,
    load_evaluator_dir,
)
from tests.metrics.helpers import TINY, train_tiny_squares_evaluator


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        cache = tmp_path_factory.mktemp("cache")
        yield train_tiny_squares_evaluator(mp, cache), cache


def test_learns_far_above_chance_and_reports_its_accuracy(trained):
    evaluator, _ = trained
    test = load_dataset("squares", "test")
    assert evaluator.accuracy > 0.3  # 10 classes: chance is 0.1
    assert evaluator.accuracy == pytest.approx(evaluator.accuracy_on(test))


def test_features_and_probabilities_have_the_documented_shapes(trained):
    evaluator, _ = trained
    images = load_dataset("squares", "test").images[:7]
    out = evaluator(images)
    assert out.features.shape == (7, TINY.feature_dim)
    assert out.probs.shape == (7, 10)
    torch.testing.assert_close(out.probs.sum(dim=1), torch.ones(7, dtype=torch.float64))


def test_round_trip_through_the_cache(trained, monkeypatch):
    evaluator, cache = trained
    monkeypatch.setenv("GANKIT_CACHE", str(cache))
    directory = evaluator_dir("squares", evaluator.meta["key"])
    assert sorted(p.name for p in directory.iterdir()) == ["evaluator.json", "evaluator.safetensors"]
    assert json.loads((directory / "evaluator.json").read_text())["test_accuracy"] == evaluator.accuracy
    loaded = load_evaluator("squares")
    images = load_dataset("squares", "train").images[:16]
    torch.testing.assert_close(loaded(images).features, evaluator(images).features)
    assert load_evaluator_dir(directory).id == evaluator.id


def test_missing_evaluator_says_how_to_train_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    with pytest.raises(EvaluatorMissingError, match="gankit evaluator train --dataset squares"):
        load_evaluator("squares")


def test_corrupt_weights_are_one_clear_error(trained, tmp_path):
    import shutil

    evaluator, cache = trained
    broken = tmp_path / "broken"
    source = cache / "evaluators"
    shutil.copytree(source, broken)
    folder = next(broken.iterdir())
    (folder / "evaluator.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(EvaluatorMissingError, match="cannot load the evaluator"):
        load_evaluator_dir(folder)


def test_network_shapes():
    net = EvaluatorNet((3, 28, 28), 7, (4, 8), 12)
    x = torch.zeros(2, 3, 28, 28)
    assert net.features(x).shape == (2, 12)
    assert net(x).shape == (2, 7)
