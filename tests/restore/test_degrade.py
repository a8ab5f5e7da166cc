"""Degradations against hand-computed values and PIL: pytest tests/restore/test_degrade.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.errors import ConfigError
from gankit.restore.degrade import (
    DEGRADATIONS, EVAL_STREAM, TRAIN_STREAM, centre_mask, create_degradation, degradation_generator, downscale, quantize,
)


def _pil_bicubic(image: torch.Tensor, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image.numpy().astype(np.float32), "F").resize((size, size), Image.BICUBIC))


def test_the_antialiased_bicubic_of_a_constant_image_is_that_constant():
    out = downscale(torch.full((2, 3, 28, 28), 0.3125), 2)
    assert out.shape == (2, 3, 14, 14)
    torch.testing.assert_close(out, torch.full_like(out, 0.3125), rtol=0, atol=1e-6)


def test_x2_of_a_checkerboard_is_its_mean_away_from_the_border_and_matches_pil():
    # Keys' cubic (a = -0.5) widened x2 has 8 taps, symmetric about the output's centre; on a 1-px checkerboard their
    # signs alternate, so the weights cancel in pairs and only the mean 0.5 is left where no tap falls off the edge.
    i = torch.arange(32)
    board = ((i[:, None] + i[None, :]) % 2).float()
    out = downscale(board[None, None], 2)[0, 0]
    torch.testing.assert_close(out[2:-2, 2:-2], torch.full((12, 12), 0.5), rtol=0, atol=1e-6)
    assert abs(float(out[0, 0]) - 0.5) > 1e-3  # at the corner taps fall off and the rest are renormalised
    np.testing.assert_allclose(out.numpy(), _pil_bicubic(board, 16), atol=1e-6)


@pytest.mark.parametrize("scale", [2, 4])
def test_downscaling_matches_pil_bicubic_on_random_images(scale):
    image = torch.rand(32, 32, generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(downscale(image[None, None], scale)[0, 0].numpy(), _pil_bicubic(image, 32 // scale), atol=1e-6)


def test_super_resolution_inputs_are_quantised_downscales():
    clean = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    degraded = create_degradation("downscale_x2")(clean, seed=0, step=0)
    assert degraded.images.shape == (4, 1, 14, 14) and degraded.mask is None
    levels = (degraded.images + 1) * 127.5
    torch.testing.assert_close(levels, levels.round(), rtol=0, atol=1e-4)
    torch.testing.assert_close(degraded.images, downscale(clean, 2).clamp(-1, 1), rtol=0, atol=1 / 127.5)


def test_the_centre_mask_covers_exactly_a_quarter_in_the_middle():
    for side in (28, 64, 16):
        mask = centre_mask(side, side)
        assert float(mask.sum()) == side * side / 4
        rows = mask[0].sum(dim=1).nonzero().flatten()
        assert int(rows[0]) == side // 4 and int(rows[-1]) == side // 4 + side // 2 - 1
    clean = torch.ones(2, 1, 28, 28)
    degraded = create_degradation("mask_centre")(clean, 0, 0)
    assert float(degraded.mask.sum()) == 2 * 196
    assert float(degraded.images[0, 0, 14, 14]) == 0.0 and float(degraded.images[0, 0, 0, 0]) == 1.0
    assert degraded.model_input().shape == (2, 2, 28, 28)


def test_gaussian_noise_has_the_asked_sigma_and_stays_in_range():
    clean = torch.zeros(64, 1, 28, 28)  # mid-gray: the noise is almost never clipped at sigma 25/255
    noisy = create_degradation("gaussian_noise")(clean, seed=1, step=0, sigma=25 / 255).images
    residual = (noisy - clean) / 2  # in [0, 1] units
    assert abs(float(residual.mean())) < 0.002
    assert abs(float(residual.std()) - 25 / 255) < 0.002
    white = create_degradation("gaussian_noise")(torch.ones(8, 1, 28, 28), seed=1, step=0).images
    assert float(white.max()) <= 1.0 and float(white.min()) >= -1.0
    # Clipped at white: E[min(1, 1 + s n)] - 1 = -s / sqrt(2 pi) in [0, 1] units.
    assert abs(float((white - 1).mean() / 2) + (25 / 255) / math.sqrt(2 * math.pi)) < 0.003


def test_salt_and_pepper_hits_the_asked_share_with_black_and_white():
    clean = torch.zeros(32, 3, 28, 28)
    out = create_degradation("salt_pepper")(clean, seed=0, step=0, amount=0.2).images
    hit = (out != 0).all(dim=1)  # a pixel's channels are hit together
    assert abs(float(hit.float().mean()) - 0.2) < 0.01
    values = out.permute(1, 0, 2, 3)[:, hit]
    assert set(values.unique().tolist()) == {-1.0, 1.0}


@pytest.mark.parametrize("name", ["mask_boxes", "mask_strokes"])
def test_random_masks_are_binary_cover_a_part_and_vary(name):
    clean = torch.ones(16, 1, 28, 28)
    degraded = create_degradation(name)(clean, seed=0, step=0)
    mask = degraded.mask
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    share = mask.mean(dim=(1, 2, 3))
    assert bool((share > 0).all()) and bool((share < 0.9).all())
    assert len({tuple(m.flatten().tolist()) for m in mask}) > 8  # not one mask for all
    torch.testing.assert_close(degraded.images, clean * (1 - mask))


@pytest.mark.parametrize("name", sorted(DEGRADATIONS.names()))
def test_same_seed_and_step_give_the_same_batch_and_others_do_not(name):
    clean = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    degrade = create_degradation(name)
    first, again = degrade(clean, 5, 7), degrade(clean, 5, 7)
    assert torch.equal(first.images, again.images)
    if degrade.task == "super_resolution" or name == "mask_centre":
        return  # deterministic by nature
    for other in (degrade(clean, 5, 8), degrade(clean, 6, 7), degrade(clean, 5, 7, EVAL_STREAM)):
        assert not torch.equal(first.images, other.images)


def test_the_generator_is_a_function_of_seed_stream_and_step():
    draw = lambda *a: torch.rand(4, generator=degradation_generator(*a))  # noqa: E731
    assert torch.equal(draw(0, 3, TRAIN_STREAM), draw(0, 3, TRAIN_STREAM))
    assert not torch.equal(draw(0, 3), draw(3, 0)) and not torch.equal(draw(0, 1), draw(1, 0))


def test_quantize_rounds_to_uint8_levels():
    x = torch.tensor([-1.2, -1.0, 0.0, 0.5, 1.3])
    torch.testing.assert_close(quantize(x), torch.tensor([0, 0, 128, 191, 255]) / 127.5 - 1)


def test_an_unknown_degradation_lists_the_known_ones():
    with pytest.raises(ConfigError, match="choose one of: .*downscale_x2.*mask_centre"):
        create_degradation("blur")
