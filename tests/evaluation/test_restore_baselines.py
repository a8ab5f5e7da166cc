"""Restoration baselines against scipy.ndimage, a hand-written cubic convolution and closed forms (pytest run)."""

import math

import numpy as np
import pytest
import scipy.ndimage
import torch

from gankit.errors import ConfigError
from gankit.evaluation.restore_baselines import (
    BASELINES,
    DENOISE_BLUR_SIGMA,
    TASKS,
    _harmonic,
    _known_mean,
    _sweeps,
    baselines_for,
    bicubic_upscale,
    gaussian_blur,
    mean_fill,
    median_filter,
    neighbour_fill,
    register_baseline,
)


def random_images(shape, seed):
    return torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def per_plane(images: torch.Tensor, fn) -> np.ndarray:
    """Apply a 2D numpy function to every (image, channel) plane."""
    x = images.numpy()
    return np.stack([np.stack([fn(plane) for plane in image]) for image in x])


def assert_equal_but_ties(actual: torch.Tensor, reference: np.ndarray) -> None:
    """uint8 ``actual`` equals ``reference`` (float) rounded and clipped, except where the reference sits on a half."""
    expected = np.clip(np.round(reference), 0, 255)
    tie = np.abs(reference - np.floor(reference) - 0.5) < 1e-9
    differs = actual.numpy().astype(np.float64) != expected
    assert not (differs & ~tie).any(), f"{int((differs & ~tie).sum())} values differ"


# --- the registry ---------------------------------------------------------------


def test_each_task_lists_its_baselines():
    assert list(baselines_for("super_resolution")) == ["bicubic"]
    assert list(baselines_for("denoise")) == ["median", "gaussian_blur"]
    assert list(baselines_for("inpaint")) == ["mean_fill", "neighbour_fill"]
    assert baselines_for("denoise")["median"] is median_filter
    noisy = random_images((2, 3, 12, 12), 5)
    torch.testing.assert_close(baselines_for("denoise")["gaussian_blur"](noisy), gaussian_blur(noisy, DENOISE_BLUR_SIGMA), rtol=0, atol=0)
    assert DENOISE_BLUR_SIGMA == 0.5


def test_unknown_tasks_and_names_are_refused():
    with pytest.raises(ConfigError, match="choose one of: super_resolution, denoise, inpaint"):
        baselines_for("colourise")
    with pytest.raises(ConfigError, match="task 'colourise' is not allowed"):
        register_baseline("x", "colourise")
    with pytest.raises(ValueError, match="registered twice"):
        register_baseline("median", "denoise")(lambda images: images)


TASK_INPUTS = {"super_resolution": {"scale": 2}, "denoise": {}, "inpaint": {"mask": torch.zeros(1, 1, 12, 12, dtype=torch.bool)}}


@pytest.mark.parametrize("name", list(BASELINES))
def test_every_baseline_takes_uint8_and_its_task_inputs_and_returns_uint8(name):
    baseline = BASELINES.get(name)
    assert baseline.task in TASKS
    inputs = dict(TASK_INPUTS[baseline.task])
    if baseline.task == "inpaint":
        inputs["mask"] = inputs["mask"].clone()
        inputs["mask"][..., 4:8, 4:8] = True
    images = random_images((2, 3, 12, 12), 0)
    out = baseline.fn(images, **inputs)
    scale = inputs.get("scale", 1)
    assert out.dtype == torch.uint8 and out.shape == (2, 3, 12 * scale, 12 * scale)
    with pytest.raises(ConfigError, match="uint8"):
        baseline.fn(images.float(), **inputs)


# --- bicubic ----------------------------------------------------------------------


def cubic_weight(x: float, a: float = -0.75) -> float:
    """Keys' cubic convolution kernel."""
    x = abs(x)
    if x <= 1:
        return (a + 2) * x**3 - (a + 3) * x**2 + 1
    if x < 2:
        return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return 0.0


def cubic_upscale_1d(values: np.ndarray, scale: int) -> np.ndarray:
    """Upscale along the last axis: output i samples the input at (i + 0.5) / scale - 0.5, indices clamped."""
    n = values.shape[-1]
    out = np.zeros(values.shape[:-1] + (n * scale,))
    for i in range(n * scale):
        source = (i + 0.5) / scale - 0.5
        left = math.floor(source)
        t = source - left
        for k in range(-1, 3):
            out[..., i] += cubic_weight(k - t) * values[..., min(max(left + k, 0), n - 1)]
    return out


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_matches_a_hand_written_cubic_convolution(scale):
    images = random_images((2, 3, 7, 9), scale)
    rows = cubic_upscale_1d(images.numpy().astype(np.float64).swapaxes(2, 3), scale).swapaxes(2, 3)  # along H
    reference = cubic_upscale_1d(rows, scale)  # along W
    out = bicubic_upscale(images, scale)
    assert out.shape == (2, 3, 7 * scale, 9 * scale)
    assert_equal_but_ties(out, reference)
    assert (reference < -0.5).any() or (reference > 255.5).any()  # the overshoot that clipping removes is exercised


def test_bicubic_keeps_a_constant_image_and_refuses_a_bad_scale():
    images = torch.full((1, 1, 5, 5), 77, dtype=torch.uint8)
    assert bool((bicubic_upscale(images, 4) == 77).all())
    for scale in (0, 1.5, True):
        with pytest.raises(ConfigError, match="scale must be an integer"):
            bicubic_upscale(images, scale)


# --- median and Gaussian filters --------------------------------------------------------


@pytest.mark.parametrize("size", [1, 3, 5])
@pytest.mark.parametrize("shape", [(2, 1, 28, 28), (1, 3, 9, 13)])
def test_median_filter_matches_scipy_reflect(size, shape):
    images = random_images(shape, size)
    expected = per_plane(images, lambda p: scipy.ndimage.median_filter(p, size=size, mode="reflect"))
    np.testing.assert_array_equal(median_filter(images, size).numpy(), expected)


def test_median_filter_window_wider_than_the_image_matches_scipy():
    images = random_images((1, 1, 3, 4), 7)
    expected = per_plane(images, lambda p: scipy.ndimage.median_filter(p, size=9, mode="reflect"))
    np.testing.assert_array_equal(median_filter(images, 9).numpy(), expected)


def test_median_filter_removes_an_isolated_impulse_and_refuses_even_sizes():
    images = torch.full((1, 1, 6, 6), 40, dtype=torch.uint8)
    images[0, 0, 2, 3] = 255
    assert bool((median_filter(images) == 40).all())
    with pytest.raises(ConfigError, match="odd integer"):
        median_filter(images, 4)


@pytest.mark.parametrize("sigma", [0.7, 1.0, 2.0])
def test_gaussian_blur_matches_scipy_reflect(sigma):
    images = random_images((2, 3, 28, 28), int(sigma * 10))
    reference = per_plane(images, lambda p: scipy.ndimage.gaussian_filter(p.astype(np.float64), sigma, mode="reflect", truncate=4.0))
    assert_equal_but_ties(gaussian_blur(images, sigma), reference)


def test_gaussian_blur_refuses_a_non_positive_sigma():
    with pytest.raises(ConfigError, match="sigma must be positive"):
        gaussian_blur(random_images((1, 1, 4, 4), 0), 0.0)


# --- inpainting -----------------------------------------------------------------------


def test_mean_fill_uses_the_known_pixels_of_each_image_and_channel():
    images = torch.tensor([
        [[[10, 20], [30, 0]], [[1, 2], [4, 200]]],
        [[[100, 0], [50, 60]], [[9, 9], [9, 9]]],
    ], dtype=torch.uint8)  # (2, 2, 2, 2)
    mask = torch.tensor([[[[False, False], [False, True]]], [[[False, True], [False, False]]]])
    out = mean_fill(images, mask)
    # image 0: channel 0 (10 + 20 + 30) / 3 = 20; channel 1 (1 + 2 + 4) / 3 = 2.33 -> 2
    # image 1: channel 0 (100 + 50 + 60) / 3 = 70; channel 1 9
    expected = torch.tensor([
        [[[10, 20], [30, 20]], [[1, 2], [4, 2]]],
        [[[100, 70], [50, 60]], [[9, 9], [9, 9]]],
    ], dtype=torch.uint8)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    torch.testing.assert_close(mean_fill(images, mask.to(torch.uint8)), expected, rtol=0, atol=0)  # 0/1 masks too


def test_mean_fill_refuses_a_full_mask_and_a_mask_of_the_wrong_size():
    images = random_images((2, 1, 4, 4), 0)
    full = torch.zeros(2, 1, 4, 4, dtype=torch.bool)
    full[1] = True
    with pytest.raises(ConfigError, match=r"hides every pixel of image\(s\) \[1\]"):
        mean_fill(images, full)
    with pytest.raises(ConfigError, match=r"mask must be \(2 or 1, 1, 4, 4\)"):
        mean_fill(images, torch.zeros(1, 1, 4, 5, dtype=torch.bool))
    with pytest.raises(ConfigError, match="only 0"):
        mean_fill(images, torch.full((1, 1, 4, 4), 0.5))


def test_neighbour_fill_interpolates_a_row_linearly():
    images = torch.tensor([[[[0, 0, 0, 90]]]], dtype=torch.uint8)  # (1, 1, 1, 4)
    mask = torch.tensor([[[[False, True, True, False]]]])
    assert neighbour_fill(images, mask).flatten().tolist() == [0, 30, 60, 90]


def ramp(height: int = 28, width: int = 28) -> torch.Tensor:
    y, x = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return (10 + 3 * x + 5 * y).to(torch.uint8).view(1, 1, height, width)  # 10..226


@pytest.mark.parametrize("connectivity", [4, 8])
def test_neighbour_fill_restores_a_linear_ramp_exactly(connectivity):
    # A linear function is the harmonic function with its own boundary values, for 4 and for 8 neighbours.
    clean = torch.cat([ramp(), 235 - ramp()], dim=1)  # (1, 2, 28, 28): two channels, two ramps
    mask = torch.zeros(1, 1, 28, 28, dtype=torch.bool)
    mask[..., 7:21, 5:19] = True
    damaged = clean.masked_fill(mask, 0)
    torch.testing.assert_close(neighbour_fill(damaged, mask, connectivity=connectivity), clean, rtol=0, atol=0)
    assert not torch.equal(mean_fill(damaged, mask), clean)


@pytest.mark.parametrize("connectivity", [4, 8])
def test_neighbour_fill_lets_nothing_flow_across_the_image_border(connectivity):
    # A ramp along x stays the fixed point when the hole touches the top border (only the neighbours inside count).
    y, x = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    clean = (20 + 7 * x).to(torch.uint8).view(1, 1, 16, 16)
    mask = torch.zeros(1, 1, 16, 16, dtype=torch.bool)
    mask[..., :9, 4:12] = True
    torch.testing.assert_close(neighbour_fill(clean.masked_fill(mask, 255), mask, connectivity=connectivity), clean, rtol=0, atol=0)


def test_neighbour_fill_sweeps_from_the_mean_fill():
    images = torch.tensor([[[[10, 20, 30], [40, 0, 60], [70, 80, 100]]]], dtype=torch.uint8)
    mask = torch.zeros(1, 1, 3, 3, dtype=torch.bool)
    mask[..., 1, 1] = True
    torch.testing.assert_close(neighbour_fill(images, mask, iterations=0), mean_fill(images, mask), rtol=0, atol=0)
    assert int(mean_fill(images, mask)[0, 0, 1, 1]) == 51  # (10 + 20 + 30 + 40 + 60 + 70 + 80 + 100) / 8 = 51.25
    assert int(neighbour_fill(images, mask, iterations=1)[0, 0, 1, 1]) == 50  # (20 + 40 + 60 + 80) / 4
    assert int(neighbour_fill(images, mask, iterations=1, connectivity=8)[0, 0, 1, 1]) == 51
    with pytest.raises(ConfigError, match="connectivity must be 4 or 8"):
        neighbour_fill(images, mask, connectivity=6)


@pytest.mark.parametrize("connectivity", [4, 8])
def test_the_converged_fill_is_the_fixed_point_of_the_sweeps(connectivity):
    # Each image has its own scattered mask (two share one); the exact solve must agree with many sweeps.
    gen = torch.Generator().manual_seed(connectivity)
    images = random_images((3, 2, 9, 11), connectivity)
    mask = torch.rand(3, 1, 9, 11, generator=gen) < 0.5
    mask[2] = mask[0]
    values = torch.where(mask, _known_mean(images.double(), mask), images.double())
    exact = _harmonic(values, mask, connectivity)
    swept = _sweeps(values.reshape(6, 1, 9, 11), mask.expand(3, 2, 9, 11).reshape(6, 1, 9, 11), connectivity, 3000).reshape(3, 2, 9, 11)
    torch.testing.assert_close(exact, swept, rtol=0, atol=1e-9)
    torch.testing.assert_close(exact[~mask.expand(3, 2, 9, 11)], images.double()[~mask.expand(3, 2, 9, 11)], rtol=0, atol=0)
    torch.testing.assert_close(neighbour_fill(images, mask, connectivity=connectivity), exact.round().to(torch.uint8), rtol=0, atol=0)
