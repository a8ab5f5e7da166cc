"""Evaluation with the floor: real test data scores at the floor, noise and collapse far from it; the stats cache."""

import math

import pytest
import torch

from gankit.data import load_dataset
from gankit.data.toy2d import RING
from gankit.errors import ConfigError
from gankit.metrics import Features
from gankit.metrics.evaluate import default_metric_names, evaluate_samples, format_table
from gankit.metrics.stats_cache import real_features, real_subset
from tests.metrics.helpers import train_tiny_squares_evaluator


@pytest.fixture(scope="module")
def squares_evaluator(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        yield train_tiny_squares_evaluator(mp, tmp_path_factory.mktemp("cache"))


def test_real_test_images_score_exactly_at_the_floor(squares_evaluator):
    samples = real_subset("squares", "test", 300)
    result = evaluate_samples(samples, "squares", "fid,pr,classes", extractor=squares_evaluator)
    assert result.floor_num == 300
    assert result.metrics == result.floor


def test_by_class_real_test_images_score_their_floor_in_every_class(squares_evaluator):
    samples = real_subset("squares", "test", 300)
    result = evaluate_samples(samples, "squares", "pr", extractor=squares_evaluator, by_class=True)
    assert len(result.by_class) == 10
    for row in result.by_class:
        assert row["precision"] == row["floor_precision"] and row["recall"] == row["floor_recall"]
    table = format_table(result)
    assert "by the classifier's class:" in table and "recall (floor)" in table
    assert [row["class"] for row in result.to_dict()["by_class"]] == [str(c) for c in range(10)]  # squares has no class names
    without_floor = evaluate_samples(samples, "squares", "pr", extractor=squares_evaluator, by_class=True, floor=False)
    assert "floor" not in format_table(without_floor) and "floor_recall" not in without_floor.by_class[0]
    with pytest.raises(ConfigError, match="scored on raw vectors"):
        evaluate_samples(RING.sample(50, 0)[0], "ring", "pr", by_class=True)


def test_noise_scores_far_from_the_floor(squares_evaluator):
    noise = torch.randint(0, 256, (300, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    result = evaluate_samples(noise, "squares", "fid,pr,dc", extractor=squares_evaluator)
    assert result.metrics["fid"] > 10 * result.floor["fid"]
    assert result.metrics["precision"] < 0.5 * result.floor["precision"]
    table = format_table(result)
    assert "floor (300 test)" in table and "fid" in table


def test_ring_samples_are_scored_with_modes_beside_the_floor():
    exact, _ = RING.sample(2500, seed=5)
    result = evaluate_samples(exact, "ring", "fid,pr")
    assert result.modes.modes == 8 and result.modes_floor.modes == 8
    assert result.metrics["precision"] == pytest.approx(result.floor["precision"], abs=0.03)
    assert default_metric_names(None, "ring") == ["fid", "kid", "pr", "dc"]  # no classifier for raw vectors
    collapsed = evaluate_samples(RING.means[:1].float().expand(2500, 2).contiguous(), "ring", "fid")
    assert collapsed.modes.modes == 1
    assert collapsed.metrics["fid"] > 100 * collapsed.floor["fid"]
    assert "modes" in format_table(collapsed)


def test_samples_of_the_wrong_shape_are_one_clear_error():
    with pytest.raises(ConfigError, match=r"must be uint8 \(N, 1, 28, 28\) images"):
        evaluate_samples(torch.zeros(20, 3, 28, 28, dtype=torch.uint8), "squares", "fid", extractor=object())
    with pytest.raises(ConfigError, match=r"needs a classifier"):
        evaluate_samples(RING.sample(50, 0)[0], "ring", "classes")


class CountingExtractor:
    id = "counting"

    def __init__(self):
        self.calls = 0

    def __call__(self, images):
        self.calls += 1
        flat = images.reshape(len(images), -1).double()
        return Features(flat[:, :4], torch.softmax(flat[:, :3], dim=1))


def test_real_features_are_cached_per_count(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    extractor = CountingExtractor()
    first = real_features("squares", "train", extractor, 100)
    again = real_features("squares", "train", extractor, 100)
    assert extractor.calls == 1
    torch.testing.assert_close(first.features, again.features)
    torch.testing.assert_close(first.probs, again.probs)
    real_features("squares", "train", extractor, 50)
    assert extractor.calls == 2
    assert len(list((tmp_path / "stats").glob("squares-train-counting-*.safetensors"))) == 2
    # The subset is a fixed function of the seed, drawn from the split.
    subset = real_subset("squares", "train", 100)
    torch.testing.assert_close(first.features, subset.reshape(100, -1).double()[:, :4])
    assert len(real_subset("squares", "test", 10_000)) == len(load_dataset("squares", "test"))


def test_stacked_table_shows_each_channels_kl_beside_the_floor():
    from gankit.metrics.evaluate import EvalResult
    from gankit.metrics.modes import score_stacked

    all_modes = torch.tensor([[a, b, c] for a in range(10) for b in range(10) for c in range(10)])
    skewed = all_modes.clone()
    skewed[:, 2] = 3  # channel 2 always reads 3: KL ln 10 = 2.303
    result = EvalResult("stacked-mnist", "mnist evaluator", 1000, {"fid": 1.0}, {"fid": 0.5}, 1000,
                        modes=score_stacked(skewed), modes_floor=score_stacked(all_modes))
    line = next(row for row in format_table(result).splitlines() if row.startswith("channel_kl"))
    assert "0.000 / 0.000 / 2.303" in line and "0.000 / 0.000 / 0.000" in line
    assert result.to_dict()["modes"]["channel_kl"] == pytest.approx([0.0, 0.0, math.log(10)], abs=1e-12)


def test_memorisation_flags_ring_training_points_as_samples_and_not_fresh_draws(monkeypatch):
    monkeypatch.setattr("gankit.metrics.evaluate.MEMORISATION_TRAIN", 5000)  # the nearest of 5,000 training points: fast
    copied = evaluate_samples(real_subset("ring", "train", 2500), "ring", "fid", memorisation=True)
    assert copied.metrics["nn_ratio"] == 0.0 and copied.metrics["copy_share"] == 1.0 and copied.metrics["z_u"] < -30
    assert "nn_ratio_pixels" not in copied.metrics  # vectors: features and pixels are one space
    fresh = evaluate_samples(RING.sample(2500, seed=5)[0], "ring", "fid,memorisation")
    assert fresh.metrics["nn_ratio"] == pytest.approx(1.0, abs=0.1) and abs(fresh.metrics["z_u"]) < 3
    assert fresh.metrics["copy_share"] < 0.03
    assert fresh.floor["nn_ratio"] == 1.0 and fresh.floor["z_u"] == 0.0 and fresh.floor["fid_test"] == pytest.approx(fresh.floor["fid"])
    # The copied points are the training reference itself: FID 0, below its floor, while fid_test reads the floor.
    assert copied.metrics["fid"] < 1e-9 and copied.metrics["fid_test"] == pytest.approx(copied.floor["fid"])
    assert "searched among 5000 of the 50000" in " ".join(fresh.notes)
    table = format_table(fresh)
    assert all(name in table for name in ("fid_test", "nn_ratio", "copy_share", "z_u", "authenticity"))


def test_memorisation_flags_copied_training_images_in_features_and_pixels(squares_evaluator):
    copied = evaluate_samples(real_subset("squares", "train", 300, seed=3), "squares", "pr", extractor=squares_evaluator,
                              memorisation=True)
    for suffix in ("", "_pixels"):
        # a copy's nearest training item is itself: distance 0 up to float rounding between batch sizes
        assert copied.metrics[f"nn_ratio{suffix}"] < 1e-3 and copied.metrics[f"z_u{suffix}"] < -5
        assert copied.floor[f"nn_ratio{suffix}"] == 1.0
    # exact copies read 0 in tests/metrics/test_memorisation.py; through the evaluator a copy's features differ from
    # its training item's by rounding (batch-size-dependent kernels on some CPUs), which clears the zero radius of the
    # squares that have an exact duplicate in the training set
    assert copied.metrics["authenticity"] < 0.5 and "authenticity_pixels" not in copied.metrics
    assert copied.to_dict()["metrics"]["z_u_pixels"] == copied.metrics["z_u_pixels"]


def test_by_class_floor_recall_spread_over_draws(squares_evaluator):
    import statistics

    from gankit.metrics.precision_recall import precision_recall_by_class

    samples = real_subset("squares", "test", 200)
    result = evaluate_samples(samples, "squares", "pr", extractor=squares_evaluator, by_class=True, floor_draws=3)
    draws = [precision_recall_by_class(real_features("squares", "train", squares_evaluator, 200, seed=s),
                                       real_features("squares", "test", squares_evaluator, 200, seed=s)) for s in range(3)]
    for c, row in enumerate(result.by_class):
        recalls = [d[c]["recall"] for d in draws if d[c]["recall"] is not None]
        if not recalls:  # no test item of this class in any draw
            assert row["floor_recall_min"] is None and row["floor_recall"] is None
            continue
        assert row["floor_recall_min"] == min(recalls) and row["floor_recall_max"] == max(recalls)
        assert row["floor_recall_std"] == pytest.approx(statistics.stdev(recalls))
        assert row["floor_recall_min"] <= row["floor_recall"] <= row["floor_recall_max"]
    assert "floor recall over draws" in format_table(result) and "over 3 draws" in " ".join(result.notes)
    with pytest.raises(ConfigError, match="--floor-draws"):
        evaluate_samples(samples, "squares", "pr", extractor=squares_evaluator, by_class=True, floor_draws=0)
