"""Training the domain evaluator: deterministic on any thread count, and trained once on first use."""

import logging

import pytest
import torch

from gankit.data import DatasetSpec
from gankit.errors import ConfigError
from gankit.evaluation import evaluator_training
from gankit.evaluation.evaluator_training import ensure_evaluator
from gankit.metrics.extractors import evaluator_dataset
from gankit.metrics.evaluator import auto_epochs, load_evaluator
from tests.metrics.helpers import TINY, train_tiny


def test_same_seed_gives_the_same_weights():
    evaluator, again = train_tiny(), train_tiny()
    for (name, a), b in zip(evaluator.net.state_dict().items(), again.net.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_thread_count_does_not_change_the_weights():
    """Two threads sum floats in another order; the evaluator trains on one whatever torch is set to."""
    threads = torch.get_num_threads()
    trained_on = {}
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            trained_on[n] = train_tiny()
            assert torch.get_num_threads() == n  # the caller's setting comes back
    finally:
        torch.set_num_threads(threads)
    for (name, a), b in zip(trained_on[1].net.state_dict().items(), trained_on[2].net.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


@pytest.fixture
def gankit_log(monkeypatch):
    """The messages of the ``gankit`` logger at INFO, and only here (not in a handler the CLI left behind)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    logger = logging.getLogger("gankit")
    monkeypatch.setattr(logger, "handlers", [handler])
    monkeypatch.setattr(logger, "propagate", False)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield records
    logger.setLevel(level)


def test_first_use_trains_and_caches_it_and_the_next_use_reuses_it(tmp_path, monkeypatch, gankit_log):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    first = ensure_evaluator("squares", cfg=TINY)
    lines = [r.getMessage() for r in gankit_log]
    assert lines[0] == "no domain evaluator for dataset 'squares' yet: training it once (3 epochs on 2048 images, cached for later runs)"
    assert [line.split(",")[0] for line in lines[1:4]] == [f"evaluator squares: epoch {e}/3" for e in (1, 2, 3)]
    assert lines[4].startswith("saved ") and "test accuracy" in lines[4]
    assert load_evaluator("squares").id == first.id

    def no_training(*args, **kwargs):
        raise AssertionError("the cached evaluator must be reused")

    monkeypatch.setattr(evaluator_training, "train_evaluator", no_training)
    gankit_log.clear()
    again = ensure_evaluator(DatasetSpec("squares"), cfg=TINY)
    assert again.id == first.id and not gankit_log
    torch.testing.assert_close(again.net.state_dict()["classifier.weight"], first.net.state_dict()["classifier.weight"], rtol=0, atol=0)


def test_stacked_mnist_is_scored_by_the_mnist_evaluator_and_epochs_follow_the_data_size():
    assert evaluator_dataset(DatasetSpec("stacked-mnist", "/data")) == DatasetSpec("mnist", "/data")
    assert evaluator_dataset(DatasetSpec("squares")) == DatasetSpec("squares")
    assert [auto_epochs(n) for n in (60_000, 20_000, 2_048, 70)] == [8, 8, 30, 30]  # ceil(160000 / n), within 8..30
    with pytest.raises(ConfigError, match="a domain evaluator needs labelled images"):
        evaluator_training.train_evaluator("ring", cfg=TINY)


def test_fit_evaluator_net_feeds_the_network_through_the_transform():
    """A transform that blanks every batch gives the first convolution zero gradients, so Adam never moves it and only
    AdamW's decoupled weight decay scales it: it stays parallel to its seeded initialisation. Without the transform it
    turns away from it."""
    from gankit.evaluation.evaluator_training import fit_evaluator_net
    from gankit.metrics.evaluator import EvaluatorNet
    train = DatasetSpec.of("squares").load("train")
    torch.manual_seed(TINY.seed)
    init = EvaluatorNet(train.img_shape, train.num_classes, TINY.channels, TINY.feature_dim, TINY.dropout).conv[0].weight.detach().flatten()

    def cosine(net):
        return torch.nn.functional.cosine_similarity(net.conv[0].weight.detach().flatten(), init, dim=0).item()

    blank = fit_evaluator_net(train, TINY, transform=torch.zeros_like)
    assert blank.conv[0].weight.norm() < init.norm()  # the decay did act
    assert cosine(blank) == pytest.approx(1.0, abs=1e-6)
    assert cosine(fit_evaluator_net(train, TINY)) < 0.99
