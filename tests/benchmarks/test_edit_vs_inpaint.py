"""benchmarks/edit_vs_inpaint.py's comparison at tiny size, its figures checked against values computed here by hand
(NumPy PSNR, scikit-image SSIM, fills whose completions are known in advance): pytest tests/benchmarks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity
from torch import nn

from gankit.data import ImageDataset
from gankit.edit import GeneratorRun, ProjectorConfig
from gankit.metrics import Features
from gankit.models import create_model

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from edit_vs_inpaint import Inverter, compare, comparison_figure, main  # noqa: E402

SIDE, N, TOP, HOLE = 16, 6, 4, 8  # 16x16 images; the centre quarter is rows and columns 4..11
FAST = ProjectorConfig(steps=3, prior_weight=0.01)


def _dataset(side: int = SIDE) -> ImageDataset:
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (N, 1, side, side), generator=gen, dtype=torch.uint8)
    return ImageDataset("toy", images, labels=torch.tensor([0, 1, 0, 1, 1, 0]), num_classes=2)


def _hole(side: int = SIDE) -> np.ndarray:
    """The centre square of side ``side / 2``."""
    mask = np.zeros((side, side), dtype=bool)
    top = side // 4
    mask[top:top + side // 2, top:top + side // 2] = True
    return mask


def _psnr(restored: np.ndarray, clean: np.ndarray, where: np.ndarray | None = None) -> float:
    """Mean over images of 10 log10(255^2 / MSE), over the pixels ``where`` (H, W) is True (default: all)."""
    diff = (restored.astype(np.float64) - clean.astype(np.float64))[:, 0] ** 2  # (N, H, W)
    mse = diff.reshape(len(diff), -1).mean(1) if where is None else diff[:, where].mean(1)
    return float(np.mean(10 * np.log10(255.0**2 / mse)))


def _ssim(restored: np.ndarray, clean: np.ndarray) -> float:
    return float(np.mean([structural_similarity(r[0], c[0], gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                                data_range=255) for r, c in zip(restored, clean)]))


class KeepInput(nn.Module):
    """A restorer that returns the degraded image as it is: the hole stays mid-gray (0 in [-1, 1], 128 as uint8)."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs[:, :1]


class ConstantGenerator(nn.Module):
    """G(z) = the same image for every z (class k: ``images[k]``); z enters with weight 0 so that it has a gradient."""

    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.images = nn.Parameter(images.float() / 127.5 - 1)  # (K, 1, H, W), exact uint8 levels
        self.latent_dim = 4

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        picked = self.images[labels] if labels is not None else self.images[:1].expand(len(z), -1, -1, -1)
        return picked + 0.0 * z.sum(1).view(-1, 1, 1, 1)


class Brightness(nn.Module):
    """A discriminator for the prior term: the mean pixel value as the logit."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1).mean(1)


def _constant_run(images: torch.Tensor, conditional: bool) -> GeneratorRun:
    spec = {"img_shape": [1, SIDE, SIDE], "latent_dim": 4, "num_classes": len(images) if conditional else 0}
    return GeneratorRun(None, ConstantGenerator(images).eval(), spec)


@pytest.mark.parametrize("candidates", [1, 3])
def test_every_row_scores_what_its_fill_is_known_to_be(candidates):
    data = _dataset()
    clean = data.images.numpy()
    hole = _hole()
    shapes = torch.zeros(3, 1, SIDE, SIDE, dtype=torch.uint8)
    shapes[0] = 200  # the unconditional G's only image, and the conditional G's class 0
    shapes[1, :, :, :SIDE // 2] = 30  # class 1: dark left half, white right half
    shapes[1, :, :, SIDE // 2:] = 255
    shapes[2] = 90
    inverters = {"inversion (constant)": Inverter(_constant_run(shapes[:1], False), Brightness()),
                 "inversion (conditional)": Inverter(_constant_run(shapes, True), candidates=candidates)}
    result = compare(data, {"keep": KeepInput()}, inverters, cfg=FAST, search=5, feature_metric="none", classes=False)
    assert list(result.scores) == ["mean_fill", "neighbour_fill", "keep", "inversion (constant)", "inversion (conditional)"]

    known_mean = np.array([np.round(c[0][~hole].astype(np.float64).mean()) for c in clean])  # halves to even, as np.round
    expected = {"mean_fill": np.where(hole, known_mean[:, None, None], clean[:, 0])[:, None],
                "keep": np.where(hole, 128, clean[:, 0])[:, None],
                "inversion (constant)": np.where(hole, 200, clean[:, 0])[:, None]}
    fits = [[((c[0] - s[0].numpy().astype(np.float64))[~hole] ** 2).mean() for s in shapes] for c in clean.astype(np.float64)]
    kept = np.argmin(fits, axis=1)  # the class whose image fits the known pixels best
    expected["inversion (conditional)"] = np.where(hole, shapes.numpy()[kept, 0], clean[:, 0])[:, None]
    np.testing.assert_array_equal(result.chosen_classes["inversion (conditional)"].numpy(), kept)
    for name, images in expected.items():
        np.testing.assert_array_equal(result.images[name].numpy(), images.astype(np.uint8), err_msg=name)
        row = result.scores[name]
        assert row["psnr"] == pytest.approx(_psnr(images, clean), abs=1e-9), name
        assert row["masked_psnr"] == pytest.approx(_psnr(images, clean, hole), abs=1e-9), name
        assert row["ssim"] == pytest.approx(_ssim(images.astype(np.uint8), clean), abs=1e-9), name
    assert not np.array_equal(result.images["neighbour_fill"].numpy()[:, 0][:, hole], expected["mean_fill"][:, 0][:, hole])
    np.testing.assert_array_equal(result.images["input"].numpy()[:, 0][:, ~hole], clean[:, 0][:, ~hole])


class Threshold:
    """An extractor that reads class 1 when the centre quarter is brighter than the rest of the image."""

    id = "threshold"

    def __call__(self, images: torch.Tensor) -> Features:
        x = images.double()[:, 0]
        centre = x[:, TOP:TOP + HOLE, TOP:TOP + HOLE].mean((1, 2))
        one = (centre > x.mean((1, 2))).long()
        return Features(x.flatten(1), torch.nn.functional.one_hot(one, 2).double())


def test_class_match_reads_each_completion_against_its_own_label():
    data = _dataset()
    images = torch.full((1, 1, SIDE, SIDE), 255, dtype=torch.uint8)  # a white completion: read as class 1 when the rest is darker
    inverters = {"inversion": Inverter(_constant_run(images, False))}
    result = compare(data, {}, inverters, cfg=FAST, search=2, extractor=Threshold(), feature_metric="none")
    labels = data.labels.numpy()
    for name in ("mean_fill", "inversion"):
        x = result.images[name].numpy().astype(np.float64)[:, 0]
        read = (x[:, TOP:TOP + HOLE, TOP:TOP + HOLE].mean((1, 2)) > x.mean((1, 2))).astype(int)
        assert result.scores[name]["class_match"] == pytest.approx(float((read == labels).mean())), name
    assert result.scores["inversion"]["class_match"] == pytest.approx(float((labels == 1).mean()))  # every image reads 1


def test_real_models_at_tiny_size_keep_the_known_pixels(tmp_path):
    """A tiny pix2pix and a tiny DCGAN (with its D as the prior): every completion holds the input's known pixels."""
    side = 28  # the DCGAN's smallest size
    data = _dataset(side)
    torch.manual_seed(0)
    restorer = create_model("pix2pix", (1, side, side), 8, g_width=4, d_width=4, mask_input=True).generator
    pair = create_model("dcgan", (1, side, side), 8, g_width=4, d_width=4, g_dense=16, d_dense=16)
    run = GeneratorRun(None, pair.generator.eval(), {"img_shape": [1, side, side], "latent_dim": 8, "num_classes": 0})
    result = compare(data, {"GAN": restorer}, {"inversion": Inverter(run, pair.discriminator)}, num=4, cfg=FAST, search=3,
                     feature_metric="none", classes=False)
    hole, clean = _hole(side), data.images[:4].numpy()
    for name in ("GAN", "inversion"):
        out = result.images[name].numpy()
        np.testing.assert_array_equal(out[:, 0][:, ~hole], clean[:, 0][:, ~hole], err_msg=name)
        assert result.scores[name]["masked_psnr"] == pytest.approx(_psnr(out, clean, hole), abs=1e-9)
    assert set(result.cpu_s) == {"baselines", "GAN", "inversion"}
    from PIL import Image

    png = comparison_figure(result.images, ["input", "GAN", "inversion", "clean"], tmp_path / "f.png", rows=3, zoom=2)
    with Image.open(png) as image:  # 3 rows x 4 columns of 28 px tiles, 2 px apart and around, doubled
        assert image.size == (2 * (4 * 30 + 2), 2 * (3 * 30 + 2))
        tile = np.asarray(image)[2 * 2:2 * 30, 2 * 2:2 * 30:2][::2]  # row 0, column "input", undoubled
    np.testing.assert_array_equal(tile, result.images["input"][0, 0].numpy())


def test_a_missing_run_is_one_line(tmp_path, capsys):
    code = main(["--restore-l1", str(tmp_path / "nope"), "--restore-gan", str(tmp_path / "nope2"), "--num", "2"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1
