"""The domain evaluator's feature loss (restore.feature_weight): a closed form on an identity feature net, weight 0
leaves G's loss as it was, and gankit eval scores such a run with an evaluator of another seed than the one it was
trained against. pytest tests/restore/test_feature_loss.py."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

from gankit.cli import main
from gankit.data import ImageDataset
from gankit.errors import ConfigError
from gankit.evaluation import evaluator_training
from gankit.metrics.evaluator import EvaluatorConfig, evaluator_key
from gankit.restore.evaluate import evaluate_restoration
from gankit.restore.feature_loss import EvaluatorFeatureLoss
from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer
from tests.metrics.helpers import TINY

IMAGES = torch.randint(0, 256, (24, 1, 28, 28), generator=torch.Generator().manual_seed(4), dtype=torch.uint8)


class Flatten(nn.Module):
    """An evaluator-shaped net whose features are the pixels themselves, plus a weight that must stay untouched."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.dropout = nn.Dropout(0.5)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.scale * images.flatten(1))  # (B, C*H*W)


def _loss() -> EvaluatorFeatureLoss:
    from gankit.edit.features import EvaluatorFeatures

    return EvaluatorFeatureLoss(EvaluatorFeatures(Flatten()))


def test_on_identity_features_the_loss_is_the_mean_absolute_pixel_difference_and_the_net_stays_frozen():
    loss = _loss()
    loss.train()  # the objective's modules may be set to train mode; the evaluator keeps its dropout off
    restored = torch.tensor([[[[0.0, 0.5], [-1.0, 1.0]]], [[[0.25, 0.25], [0.25, 0.25]]]], requires_grad=True)  # (2, 1, 2, 2)
    clean = torch.tensor([[[[1.0, 0.5], [-0.5, 1.0]]], [[[0.0, 0.0], [0.0, 0.0]]]])
    value = loss(restored, clean)
    # |0-1| + 0 + |-1+0.5| + 0 + 4 x 0.25 = 2.5 over 8 values
    assert float(value.detach()) == pytest.approx(2.5 / 8, abs=1e-7)
    value.backward()
    # d/dx mean|x - c| = sign(x - c) / 8
    expected = torch.tensor([[[[-1.0, 0.0], [-1.0, 0.0]]], [[[1.0, 1.0], [1.0, 1.0]]]]) / 8
    torch.testing.assert_close(restored.grad, expected)
    assert loss.features.net.scale.grad is None and not loss.features.net.training


def _config(**restore):
    return config_from_dict({
        "data": {"name": "squares"}, "model": {"name": "srresnet", "options": {"g_width": 4, "d_width": 4, "scale": 2}},
        "train": {"batch_size": 4, "log_every": 1}, "restore": {"degradation": "downscale_x2", "adv_weight": 0, **restore}})


def _trainer(tmp_path, **restore):
    return Trainer(_config(**restore), tmp_path, dataset=ImageDataset("tiny", IMAGES, None))


def test_weight_zero_leaves_gs_loss_at_l1_alone_and_identity_features_add_weight_times_l1(tmp_path):
    plain = _trainer(tmp_path / "plain")
    stats = plain.train_step(*plain.next_batch(), with_stats=True)
    assert plain.objective.feature_loss is None and "evaluator_features" not in stats
    assert stats["g_loss"] == float(100 * torch.tensor(stats["l1"]))  # exactly (float32): the term is not added at all
    # With features = pixels the feature loss equals the L1 distance: G's loss is (100 + W) x L1.
    weighted = _trainer(tmp_path / "weighted")
    weighted.cfg.restore.feature_weight = 7.0
    weighted.objective.feature_loss = _loss()
    stats = weighted.train_step(*weighted.next_batch(), with_stats=True)
    assert stats["evaluator_features"] == pytest.approx(stats["l1"], rel=1e-6)
    assert stats["g_loss"] == pytest.approx(107 * stats["l1"], rel=1e-6)


def test_the_config_fields_default_to_off_and_a_bad_value_is_one_line():
    cfg = config_from_dict({"restore": {"degradation": "mask_centre"}})  # an old run's config has neither field
    assert (cfg.restore.feature_weight, cfg.restore.feature_evaluator_seed) == (0.0, 0)
    with pytest.raises(ConfigError, match="restore.feature_weight"):
        config_from_dict({"restore": {"feature_weight": -1}})
    with pytest.raises(ConfigError, match="restore.feature_evaluator_seed"):
        config_from_dict({"restore": {"feature_evaluator_seed": -2}})


def test_a_dataset_without_labels_has_no_evaluator_for_the_feature_loss(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ConfigError, match="restore.feature_weight: the domain evaluator's feature loss needs a labelled dataset"):
        _trainer(tmp_path / "run", feature_weight=1.0)


@pytest.fixture
def tiny_recipe(tmp_path, monkeypatch):
    """Evaluators of any seed trained with the tiny recipe, in a cache of this test's own."""
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(evaluator_training, "SEEDED_RECIPE", TINY)
    from gankit.data import load_dataset

    return lambda seed: evaluator_key(load_dataset("squares", "train"), dataclasses.replace(TINY, seed=seed))


def _feature_run(path, adv_weight, feature_weight, evaluator_seed=0):
    cfg = config_from_dict({"data": {"name": "squares"}, "model": {"name": "pix2pix", "options": {"g_width": 4, "d_width": 4}},
                            "train": {"batch_size": 8}, "restore": {"degradation": "gaussian_noise", "adv_weight": adv_weight,
                                                                      "feature_weight": feature_weight,
                                                                      "feature_evaluator_seed": evaluator_seed}})
    trainer = Trainer(cfg, path)
    trainer.train_step(*trainer.next_batch())
    trainer.run.write_config(cfg)
    trainer.export()
    return trainer


def test_a_run_trained_against_one_evaluator_is_scored_by_one_of_another_seed(tmp_path, tiny_recipe):
    trainer = _feature_run(tmp_path / "x_feat", 1.0, 0.5)
    assert trainer.objective.feature_loss.evaluator_id == f"evaluator-{tiny_recipe(0)[:16]}"  # trained against seed 0
    _feature_run(tmp_path / "x_gan", 1.0, 0.0)
    _feature_run(tmp_path / "x_l1", 0.0, 0.0)
    evaluation = evaluate_restoration(tmp_path / "x_feat", num=64, feature_metric="kid", floor=False)
    assert list(evaluation.scores)[-3:] == ["L1", "GAN", "GAN + evaluator features"]
    record = evaluation.record
    trained_against = f"evaluator-{tiny_recipe(0)[:16]}"
    assert record["evaluator_seed"] == 1 and record["feature_loss"] == {
        "GAN + evaluator features": {"weight": 0.5, "evaluator_seed": 0, "evaluator": trained_against}}
    assert record["evaluator"].startswith(f"evaluator-{tiny_recipe(1)[:16]} ") and tiny_recipe(1) != tiny_recipe(0)
    assert "trained from seed 1" in record["evaluator"] and f"against {trained_against} (seed 0)" in evaluation.table
    assert (tmp_path / "cache" / "evaluators" / "seeds" / f"squares-{tiny_recipe(1)[:16]}" / "evaluator.json").is_file()
    assert json.loads((tmp_path / "cache" / "evaluators" / "seeds" / f"squares-{tiny_recipe(1)[:16]}" / "evaluator.json")
                      .read_text())["config"]["seed"] == 1


def test_scoring_with_the_evaluator_trained_against_is_refused(tmp_path, tiny_recipe, capsys):
    _feature_run(tmp_path / "y_feat", 1.0, 0.5, evaluator_seed=3)
    code = main(["eval", str(tmp_path / "y_feat"), "--num", "64", "--evaluator-seed", "3", "--no-floor"])
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert code != 0 and "--evaluator-seed 3" in last and "default 4" in last
    assert not (tmp_path / "y_feat" / "restore_eval.json").exists()
    code = main(["eval", str(tmp_path / "y_feat"), "--num", "64", "--gan-run", str(tmp_path / "y_feat"), "--no-floor"])
    assert code != 0 and "--gan-run" in capsys.readouterr().err


def test_the_default_evaluator_stays_the_one_load_evaluator_picks(tmp_path, tiny_recipe):
    from gankit.evaluation.evaluator_training import evaluator_with_seed
    from gankit.metrics.evaluator import cached_evaluators, data_digest
    from gankit.data import load_dataset

    evaluator_with_seed("squares", 5)
    assert cached_evaluators("squares", data_digest(load_dataset("squares", "train"))) == []  # kept under evaluators/seeds/
    assert evaluator_with_seed("squares", 5, train=False).meta["config"]["seed"] == 5
    assert EvaluatorConfig().seed == 0
