"""gankit eval and gankit restore on tiny restoration runs, figures checked against hand-computed values.
pytest tests/restore/test_evaluate.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.cli import main
from gankit.data import load_dataset
from gankit.inputs import write_image
from gankit.restore.evaluate import comparison_figure, evaluate_restoration, find_l1_run
from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer

MODELS = {"downscale_x2": ("srresnet", {"scale": 2}), "gaussian_noise": ("pix2pix", {}), "mask_centre": ("pix2pix", {"mask_input": True})}


def _run(path, degradation, adv_weight):
    """A run on the squares whose G's learned part is zeroed: G is the bicubic upscale, the identity, a mid-gray fill."""
    name, options = MODELS[degradation]
    cfg = config_from_dict({"data": {"name": "squares"}, "model": {"name": name, "options": {"g_width": 4, "d_width": 4, **options}},
                            "train": {"batch_size": 8}, "restore": {"degradation": degradation, "adv_weight": adv_weight}})
    trainer = Trainer(cfg, path)
    for p in trainer.generator.head.parameters():
        torch.nn.init.zeros_(p)
    trainer.run.write_config(cfg)
    trainer.export()
    return path


def _psnr(restored: np.ndarray, clean: np.ndarray) -> float:
    """Mean over images of 10 log10(255^2 / MSE), every channel and pixel."""
    mse = ((restored.astype(np.float64) - clean.astype(np.float64)) ** 2).reshape(len(clean), -1).mean(axis=1)
    return float(np.mean(10 * np.log10(255.0**2 / mse)))


CLEAN = load_dataset("squares", "test").images[:64].numpy()  # (64, 1, 28, 28) uint8, white squares on black


def _score(tmp_path, degradation):
    run = _run(tmp_path / "x_gan", degradation, 1.0)
    _run(tmp_path / "x_l1", degradation, 0.0)
    assert find_l1_run(run) == tmp_path / "x_l1"
    return evaluate_restoration(run, num=64, feature_metric="none", floor=False, classes=False)


def test_super_resolution_scores_the_bicubic_upscale_of_the_antialiased_downscale(tmp_path):
    evaluation = _score(tmp_path, "downscale_x2")
    assert list(evaluation.scores) == ["bicubic", "L1", "GAN"]
    low = np.stack([np.asarray(Image.fromarray(c[0].astype(np.float32), "F").resize((14, 14), Image.BICUBIC)) for c in CLEAN])
    low = torch.from_numpy(np.clip(np.round(low), 0, 255))[:, None] / 127.5 - 1
    up = torch.nn.functional.interpolate(low.float(), scale_factor=2, mode="bicubic", align_corners=False)
    up = ((up + 1) * 127.5).round().clamp(0, 255).numpy()
    # PIL and torch may round a downscaled value that falls on x.5 differently: a few pixels one level apart.
    assert evaluation.scores["GAN"]["psnr"] == pytest.approx(_psnr(up, CLEAN), abs=0.01)
    assert evaluation.scores["L1"]["psnr"] == evaluation.scores["GAN"]["psnr"]
    assert abs(evaluation.scores["bicubic"]["psnr"] - evaluation.scores["GAN"]["psnr"]) < 0.2  # a = -0.75 vs the model's float path


def test_denoising_by_the_identity_scores_the_noisy_input(tmp_path):
    evaluation = _score(tmp_path, "gaussian_noise")
    assert list(evaluation.scores)[:3] == ["noisy input", "median", "gaussian_blur"]
    noisy = evaluation.images["noisy input"].numpy()
    assert evaluation.scores["GAN"]["psnr"] == pytest.approx(_psnr(noisy, CLEAN), abs=1e-4)
    assert evaluation.scores["noisy input"]["psnr"] == pytest.approx(_psnr(noisy, CLEAN), abs=1e-4)
    # sigma 25/255 clipped at 0 and 255 on black and white squares: below the unclipped 20.17 dB error, above the clipped.
    assert 20.17 < evaluation.scores["GAN"]["psnr"] < 30


def test_inpainting_a_mid_gray_hole_scores_its_distance_to_the_missing_pixels(tmp_path):
    evaluation = _score(tmp_path, "mask_centre")
    assert list(evaluation.scores) == ["mean_fill", "neighbour_fill", "L1", "GAN"]
    hole = CLEAN[:, :, 7:21, 7:21].astype(np.float64)  # 0 or 255 each; the model fills 128
    expected = np.mean(10 * np.log10(255.0**2 / ((hole - 128) ** 2).reshape(64, -1).mean(axis=1)))
    assert evaluation.scores["GAN"]["masked_psnr"] == pytest.approx(expected, abs=1e-4)
    known = np.ones((28, 28), bool)
    known[7:21, 7:21] = False
    assert np.array_equal(evaluation.images["GAN"].numpy()[:, 0][:, known], CLEAN[:, 0][:, known])
    figure = comparison_figure(evaluation, tmp_path / "figure.png", rows=4, zoom=1)
    assert Image.open(figure).size == (5 * 28 + 6 * 2, 4 * 28 + 5 * 2)  # input | baseline | L1 | GAN | truth


def test_gankit_restore_writes_each_good_file_and_names_each_bad_one(tmp_path, capsys):
    run = _run(tmp_path / "sr_gan", "downscale_x2", 1.0)
    inputs = tmp_path / "in"
    inputs.mkdir()
    low = torch.randint(0, 256, (2, 1, 14, 14), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    write_image(inputs / "a.png", low[0])
    write_image(inputs / "b.png", low[1])
    write_image(inputs / "big.png", torch.zeros(1, 28, 28, dtype=torch.uint8))
    (inputs / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    assert main(["restore", str(run), "--input", str(inputs), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "big.png: 28x28 pixels; expected a 14x14 gray image" in err and "broken.png: not a readable image" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    expected = torch.nn.functional.interpolate(low.float() / 127.5 - 1, scale_factor=2, mode="bicubic", align_corners=False)
    expected = ((expected + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    assert np.array_equal(np.asarray(Image.open(out / "a.png")), expected[0, 0].numpy())
    assert main(["restore", str(run), "--input", str(inputs / "a.png"), "--out", str(out), "--mask", str(inputs / "a.png")]) == 2
    assert "takes no mask" in capsys.readouterr().err


def test_gankit_train_then_eval_on_a_tiny_inpainting_run(tmp_path, capsys):
    common = ["--max-steps", "2", "--no-progress", "--set", "data.name=squares", "--set", "train.batch_size=8",
              "--set", "model.options.g_width=4", "--set", "model.options.d_width=4"]
    for kind, adv in (("l1", 0), ("gan", 1)):
        assert main(["train", "mnist_inpaint", "--run-dir", str(tmp_path / f"sq_{kind}"), "--set", f"restore.adv_weight={adv}", *common]) == 0
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "sq_gan"), "--num", "20", "--figure", str(tmp_path / "f.txt")]) == 2
    assert "--figure" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "sq_gan"), "--metrics", "fid"]) == 2
    assert "do not apply" in capsys.readouterr().err


def test_gankit_sample_on_a_restoration_run_points_to_gankit_restore(tmp_path, capsys):
    run = _run(tmp_path / "dn_gan", "gaussian_noise", 1.0)
    assert main(["sample", str(run), "--num", "4", "--out", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "use gankit restore" in err and not (tmp_path / "s.png").exists()
