"""Scoring restorations: hand-computed PSNR/SSIM/class figures, FID/KID as the metrics compute them, the table (pytest run)."""

import math

import pytest
import torch

from gankit.data import load_dataset
from gankit.errors import ConfigError
from gankit.evaluation.restore_eval import (
    AUTO_FID_MIN,
    format_restore_table,
    resolve_feature_metric,
    restore_floors,
    score_restorations,
)
from gankit.metrics import Features
from gankit.metrics.fid import fid
from gankit.metrics.kid import kid
from gankit.metrics.stats_cache import real_subset
from tests.metrics.helpers import train_tiny_squares_evaluator

C1 = (0.01 * 255) ** 2


class BrightnessExtractor:
    """Hand-made features: (mean, top-left pixel) of each image; class 1 when the mean is above 127."""

    id = "brightness"

    def __call__(self, images: torch.Tensor) -> Features:
        x = images.double()
        mean = x.flatten(1).mean(dim=1)
        features = torch.stack([mean, x[:, 0, 0, 0]], dim=1)  # (N, 2)
        bright = (mean > 127).double()
        return Features(features, torch.stack([1 - bright, bright], dim=1))


def constant(values, size=12):
    return torch.tensor(values, dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, size, size).contiguous()


def test_psnr_ssim_and_masked_psnr_match_hand_computed_values():
    clean = constant([100, 200])
    outputs = {"plus ten": constant([110, 210]), "exact": clean.clone()}
    scores = score_restorations(clean, outputs)
    assert list(scores) == ["plus ten", "exact"]
    assert set(scores["plus ten"]) == {"psnr", "ssim"}  # no dataset, no mask, no labels
    assert scores["plus ten"]["psnr"] == pytest.approx(10 * math.log10(255**2 / 100), abs=1e-12)  # 28.13 dB for both images
    ssim_0 = (2 * 100 * 110 + C1) / (100**2 + 110**2 + C1)  # constant images: only the luminance term remains
    ssim_1 = (2 * 200 * 210 + C1) / (200**2 + 210**2 + C1)
    assert scores["plus ten"]["ssim"] == pytest.approx((ssim_0 + ssim_1) / 2, abs=1e-9)  # E[x^2] - E[x]^2 cancels to ~1e-12
    assert scores["exact"] == {"psnr": 100.0, "ssim": pytest.approx(1.0, abs=1e-12)}  # +inf counted as the 100 dB cap

    mask = torch.zeros(1, 1, 12, 12, dtype=torch.bool)
    mask[..., 3:9, 3:9] = True
    hole_only = clean.clone()
    hole_only[:, :, 3:9, 3:9] += 20  # wrong by 20 inside the hole, exact outside
    scores = score_restorations(clean, {"fill": hole_only}, mask=mask)
    assert scores["fill"]["masked_psnr"] == pytest.approx(10 * math.log10(255**2 / 400), abs=1e-12)
    assert scores["fill"]["psnr"] == pytest.approx(10 * math.log10(255**2 / (400 * 36 / 144)), abs=1e-12)
    float_mask = score_restorations(clean, {"fill": hole_only}, mask=mask.float())
    assert float_mask["fill"]["masked_psnr"] == scores["fill"]["masked_psnr"]


def test_feature_distances_are_the_metrics_own_on_the_same_features():
    gen = torch.Generator().manual_seed(0)
    clean = torch.randint(0, 256, (40, 1, 12, 12), generator=gen, dtype=torch.uint8)
    restored = (clean.int() // 2 + 60).to(torch.uint8)
    extractor = BrightnessExtractor()
    real, fake = extractor(clean), extractor(restored)
    for metric, expected in (("fid", fid(real, fake)["fid"]), ("kid", kid(real, fake, seed=3)["kid"])):
        scores = score_restorations(clean, {"half": restored, "exact": clean}, extractor=extractor, feature_metric=metric, seed=3)
        assert scores["half"][metric] == pytest.approx(expected, rel=1e-12)
        assert expected > 0
    assert score_restorations(clean, {"exact": clean}, extractor=extractor, feature_metric="fid")["exact"]["fid"] == pytest.approx(0, abs=1e-8)
    assert "fid" not in score_restorations(clean, {"exact": clean}, extractor=extractor, feature_metric="none")["exact"]


def test_class_match_is_the_share_read_as_the_original_label():
    clean = constant([10, 20, 200, 250])
    labels = torch.tensor([0, 0, 1, 1])
    outputs = {"darkened": constant([10, 20, 100, 250]), "brightened": constant([200, 200, 200, 250])}
    scores = score_restorations(clean, outputs, labels=labels, extractor=BrightnessExtractor(), feature_metric="none")
    assert scores["darkened"]["class_match"] == pytest.approx(3 / 4)  # image 2 now reads as class 0
    assert scores["brightened"]["class_match"] == pytest.approx(2 / 4)  # images 0 and 1 now read as class 1


def test_auto_takes_fid_for_large_sets_and_kid_for_small_ones():
    assert resolve_feature_metric("auto", AUTO_FID_MIN) == "fid"
    assert resolve_feature_metric("auto", AUTO_FID_MIN - 1) == "kid"
    assert resolve_feature_metric("kid", 10_000) == "kid"
    with pytest.raises(ConfigError, match="choose one of: auto, fid, kid, none"):
        resolve_feature_metric("lpips", 10)


def test_bad_input_is_refused_with_a_clear_message():
    clean = constant([1, 2])
    with pytest.raises(ConfigError, match="restoration 'x' must be uint8 \\(2, 1, 12, 12\\)"):
        score_restorations(clean, {"x": constant([1])})
    with pytest.raises(ConfigError, match="no restorations"):
        score_restorations(clean, {})
    with pytest.raises(ConfigError, match="labels were given, but there is no classifier"):
        score_restorations(clean, {"x": clean}, labels=torch.tensor([0, 1]))
    with pytest.raises(ConfigError, match="labels must be integer \\(2,\\)"):
        score_restorations(clean, {"x": clean}, labels=torch.tensor([0.0, 1.0]), extractor=BrightnessExtractor())


@pytest.fixture(scope="module")
def squares_evaluator(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        yield train_tiny_squares_evaluator(mp, tmp_path_factory.mktemp("cache"))


def test_a_dataset_is_scored_with_its_domain_evaluator_and_its_floor(squares_evaluator):
    clean = real_subset("squares", "test", 64)
    test = load_dataset("squares", "test")
    order = torch.randperm(len(test), generator=torch.Generator().manual_seed(0))[:64]
    assert torch.equal(test.images[order], clean)  # real_subset's seeded order, so the labels below are clean's
    labels = test.labels[order]
    blank = torch.zeros_like(clean)
    scores = score_restorations(clean, {"exact": clean, "blank": blank}, labels=labels, dataset="squares", feature_metric="fid")
    accuracy = float((squares_evaluator(clean).probs.argmax(dim=1) == labels).double().mean())
    assert scores["exact"]["fid"] == pytest.approx(0, abs=1e-6)
    assert scores["exact"]["class_match"] == pytest.approx(accuracy)
    assert scores["blank"]["fid"] > 1e-3 and scores["blank"]["class_match"] < accuracy
    floors = restore_floors(clean, dataset="squares", labels=labels, feature_metric="fid")
    others = real_subset("squares", "train", 64)
    assert floors["fid"] == pytest.approx(fid(squares_evaluator(clean), squares_evaluator(others))["fid"], rel=1e-12)
    assert floors["class_match"] == pytest.approx(accuracy)
    auto = score_restorations(clean, {"blank": blank}, dataset="squares")  # 64 images: KID
    assert set(auto["blank"]) == {"psnr", "ssim", "kid"}


def test_the_table_has_one_row_per_method_and_names_its_floor_and_evaluator():
    scores = {
        "input": {"psnr": 21.8049, "ssim": 0.51234, "fid": 35.012},
        "median": {"psnr": 24.5, "ssim": 0.7, "fid": 20.0},
        "GAN": {"psnr": 30.0, "ssim": 0.91, "fid": 2.5, "class_match": 0.9876},
    }
    table = format_restore_table("denoise", scores, {"fid": 0.731, "class_match": 0.99}, evaluator="evaluator-abc", num=100)
    lines = table.splitlines()
    assert lines[0] == "denoising, 100 test images"
    assert lines[2] == "| method            | PSNR (dB) ↑ | SSIM ↑ | FID ↓ | class match ↑ |"
    assert lines[3] == "| ----------------- | ----------: | -----: | ----: | ------------: |"
    assert lines[4] == "| input             |       21.80 | 0.5123 | 35.01 |             - |"
    assert lines[6] == "| GAN               |       30.00 | 0.9100 |  2.50 |         98.8% |"
    assert lines[7] == "| real data (floor) |           - |      - |  0.73 |         99.0% |"
    assert any("features: evaluator-abc" in line for line in lines)
    with pytest.raises(ConfigError, match="unknown figure"):
        format_restore_table("denoise", {"x": {"lpips": 0.1}})
    with pytest.raises(ConfigError, match="task 'deblur' is not allowed"):
        format_restore_table("deblur", scores)
