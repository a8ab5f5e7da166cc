"""PSNR against hand-computed values and SSIM against scikit-image (pytest run)."""

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from gankit.errors import ConfigError
from gankit.metrics.restoration import PSNR_CAP_DB, gaussian_window, mean_psnr, psnr, ssim


def skimage_ssim(a: torch.Tensor, b: torch.Tensor) -> list[float]:
    """scikit-image's SSIM of each image pair, in the convention of Wang et al. 2004."""
    return [structural_similarity(x.numpy(), y.numpy(), gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                  data_range=255, channel_axis=0) for x, y in zip(a, b)]


def structured(n: int, c: int, size: int, gen: torch.Generator) -> torch.Tensor:
    """Smooth ramps and discs with a little noise: images with structure, unlike uniform noise."""
    yy, xx = torch.meshgrid(torch.arange(size, dtype=torch.float64), torch.arange(size, dtype=torch.float64), indexing="ij")
    images = []
    for _ in range(n):
        channels = []
        for _ in range(c):
            cx, cy, r = (torch.rand(3, generator=gen, dtype=torch.float64) * torch.tensor([size, size, size / 2])).tolist()
            disc = ((xx - cx) ** 2 + (yy - cy) ** 2 < (r + 2) ** 2).double() * 150
            ramp = (xx * float(torch.rand((), generator=gen)) + yy * float(torch.rand((), generator=gen))) * 60 / size
            noise = torch.randn(size, size, generator=gen, dtype=torch.float64) * 8
            channels.append(disc + ramp + noise + 20)
        images.append(torch.stack(channels))
    return torch.stack(images).round().clamp(0, 255).to(torch.uint8)


# --- PSNR ------------------------------------------------------------------


def test_psnr_matches_a_hand_computed_value():
    reference = torch.zeros(1, 1, 2, 2, dtype=torch.uint8)
    restored = torch.tensor([[[[0, 10], [20, 0]]]], dtype=torch.uint8)
    mse = (10**2 + 20**2) / 4  # 125
    expected = 10 * math.log10(255**2 / mse)  # 10 log10(520.2) = 27.1617... dB
    assert expected == pytest.approx(27.16170, abs=1e-5)
    values = psnr(restored, reference)
    assert values.dtype == torch.float64 and values.shape == (1,)
    assert float(values[0]) == pytest.approx(expected, abs=1e-12)


def test_psnr_averages_all_channels_of_each_image_and_keeps_images_apart():
    reference = torch.full((2, 3, 4, 4), 100, dtype=torch.uint8)
    restored = reference.clone()
    restored[0, 2] += 3  # one channel of image 0 is off by 3: MSE = 9 / 3 = 3
    restored[1] -= 1  # image 1 is off by 1 everywhere: MSE = 1
    expected = torch.tensor([10 * math.log10(255**2 / 3), 10 * math.log10(255**2)], dtype=torch.float64)
    torch.testing.assert_close(psnr(restored, reference), expected, rtol=0, atol=1e-12)


def test_psnr_does_not_wrap_around_uint8():
    reference = torch.zeros(1, 1, 1, 1, dtype=torch.uint8)
    restored = torch.full((1, 1, 1, 1), 255, dtype=torch.uint8)
    assert float(psnr(restored, reference)[0]) == pytest.approx(0.0, abs=1e-12)  # MSE = 255^2
    assert float(psnr(reference, restored)[0]) == pytest.approx(0.0, abs=1e-12)


def test_identical_images_give_inf_and_the_mean_caps_them():
    gen = torch.Generator().manual_seed(0)
    reference = torch.randint(0, 256, (2, 1, 8, 8), generator=gen, dtype=torch.uint8)
    restored = reference.clone()
    restored[1, 0, 0, 0] ^= 1  # one value one level off: MSE = 1/64
    values = psnr(restored, reference)
    assert math.isinf(float(values[0])) and float(values[0]) > 0
    finite = 10 * math.log10(255**2 * 64)
    assert float(values[1]) == pytest.approx(finite, abs=1e-12)
    assert mean_psnr(values) == pytest.approx((PSNR_CAP_DB + finite) / 2, abs=1e-12)
    assert mean_psnr(values, cap=60.0) == pytest.approx(60.0, abs=1e-12)  # both capped


def test_masked_psnr_scores_the_masked_pixels_of_every_channel_only():
    reference = torch.zeros(2, 2, 4, 4, dtype=torch.uint8)
    restored = reference.clone()
    restored[:, :, :2, :] = 200  # top half wrong, outside the mask
    restored[0, 0, 3, 3] = 6  # inside the mask, image 0 channel 0
    mask = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    mask[..., 2:, 2:] = True  # 4 pixels x 2 channels = 8 values scored
    values = psnr(restored, reference, mask)
    assert float(values[0]) == pytest.approx(10 * math.log10(255**2 / (36 / 8)), abs=1e-12)
    assert math.isinf(float(values[1]))
    per_image = mask.expand(2, 1, 4, 4).clone()
    per_image[1, 0, 0, 0] = True  # image 1 now also scores a wrong pixel: (2 * 200^2) / 10
    values = psnr(restored, reference, per_image)
    assert float(values[1]) == pytest.approx(10 * math.log10(255**2 / (2 * 200**2 / 10)), abs=1e-12)


def test_psnr_refuses_bad_input_with_a_clear_message():
    a = torch.zeros(1, 1, 4, 4, dtype=torch.uint8)
    with pytest.raises(ConfigError, match="uint8"):
        psnr(a.float(), a)
    with pytest.raises(ConfigError, match="differ in shape"):
        psnr(a, torch.zeros(1, 1, 4, 5, dtype=torch.uint8))
    with pytest.raises(ConfigError, match="mask must be bool"):
        psnr(a, a, torch.ones(1, 1, 4, 4))
    with pytest.raises(ConfigError, match="selects no pixel"):
        psnr(a, a, torch.zeros(1, 1, 4, 4, dtype=torch.bool))


# --- SSIM ------------------------------------------------------------------


def test_gaussian_window_is_scipys_11_tap_kernel():
    from scipy.ndimage import gaussian_filter1d

    impulse = np.zeros(11)
    impulse[5] = 1.0
    expected = gaussian_filter1d(impulse, sigma=1.5, truncate=3.5, mode="constant")
    taps = gaussian_window()
    assert taps.shape == (11,)
    np.testing.assert_allclose(taps.numpy(), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [28, 64])
@pytest.mark.parametrize("kind", ["random", "structured"])
def test_ssim_matches_scikit_image(channels, size, kind):
    gen = torch.Generator().manual_seed(size * 10 + channels)
    if kind == "random":
        clean = torch.randint(0, 256, (3, channels, size, size), generator=gen, dtype=torch.uint8)
    else:
        clean = structured(3, channels, size, gen)
    noise = torch.randn(clean.shape, generator=gen) * torch.tensor([5.0, 25.0, 80.0]).view(3, 1, 1, 1)
    restored = (clean.float() + noise).round().clamp(0, 255).to(torch.uint8)
    values = ssim(restored, clean)
    assert values.dtype == torch.float64 and values.shape == (3,)
    torch.testing.assert_close(values, torch.tensor(skimage_ssim(restored, clean), dtype=torch.float64), rtol=0, atol=1e-6)
    assert float(values[0]) > float(values[1]) > float(values[2])  # more noise, less similar


def test_ssim_of_identical_images_is_one_and_is_symmetric():
    gen = torch.Generator().manual_seed(3)
    a = structured(2, 3, 28, gen)
    torch.testing.assert_close(ssim(a, a), torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-12)
    b = torch.flip(a, dims=[3])
    torch.testing.assert_close(ssim(a, b), ssim(b, a), rtol=0, atol=1e-12)


def test_ssim_of_constant_images_matches_the_closed_form():
    # Constant images: every local variance is 0, so SSIM = (2 a b + C1) / (a^2 + b^2 + C1) at every position.
    a = torch.full((1, 1, 16, 16), 100, dtype=torch.uint8)
    b = torch.full((1, 1, 16, 16), 120, dtype=torch.uint8)
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 120 + c1) / (100**2 + 120**2 + c1)
    assert float(ssim(a, b)[0]) == pytest.approx(expected, abs=1e-12)


def test_ssim_refuses_images_smaller_than_its_window():
    a = torch.zeros(1, 1, 10, 28, dtype=torch.uint8)
    with pytest.raises(ConfigError, match="at least 11x11"):
        ssim(a, a)
