"""Full-reference image quality for restoration: PSNR and SSIM on uint8 images.

Both take the restored images and their clean references as uint8 (N, C, H, W)
tensors and return one float64 value per image; a table reports the mean of the
per-image values (:func:`mean_psnr` for PSNR, which caps identical pairs).

* PSNR, ``10 log10(255^2 / MSE)``, on the 0..255 values, all channels, no border
  cropped; with a mask, over the masked pixels only (inpainting's hole).
* SSIM, Wang et al., "Image Quality Assessment: From Error Visibility to
  Structural Similarity", IEEE TIP 2004: an 11x11 Gaussian window with sigma 1.5,
  ``K1 = 0.01``, ``K2 = 0.03``, ``L = 255``, population (not sample) variances,
  averaged over the positions where the window lies inside the image (a border of
  5 pixels is left out) and over the channels. This is exactly scikit-image's
  ``structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255, channel_axis=0)``, which reflects
  the image at its borders and then crops the same 5 pixels.
"""

from __future__ import annotations


import torch
from torch.nn import functional as F

from gankit.errors import ConfigError

PEAK = 255.0
PSNR_CAP_DB = 100.0
"""What :func:`mean_psnr` counts for an image restored exactly (PSNR +inf). The highest finite PSNR of an 8-bit
image, one level wrong on one value, is ``10 log10(255^2 C H W)``: 77.1 dB at 28x28 gray, 89.0 dB at 64x64 RGB, so
the cap sits above every finite value of the images gankit restores (up to 128x128 RGB, 95.0 dB)."""
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_K1, SSIM_K2 = 0.01, 0.03


def _check_pair(restored: torch.Tensor, reference: torch.Tensor) -> None:
    for name, images in (("restored", restored), ("reference", reference)):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ConfigError(f"{name} images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
    if restored.shape != reference.shape:
        raise ConfigError(f"restored images {tuple(restored.shape)} and references {tuple(reference.shape)} differ in shape")


def _check_mask(mask: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """A bool (N or 1, 1, H, W) mask, broadcast to (N, 1, H, W)."""
    n, _, h, w = images.shape
    if mask.dtype != torch.bool or mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[2:] != (h, w) or mask.shape[0] not in (1, n):
        raise ConfigError(f"mask must be bool ({n} or 1, 1, {h}, {w}) with True on the scored pixels, "
                          f"got {mask.dtype} {tuple(mask.shape)}")
    return mask.expand(n, 1, h, w)


def psnr(restored: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image, in dB.

    Args:
        restored: uint8 (N, C, H, W).
        reference: uint8 (N, C, H, W), the clean images.
        mask: optional bool (N, 1, H, W) or (1, 1, H, W); True marks the pixels scored (all channels of them).

    Returns:
        (N,) float64; +inf where an image (or its masked region) is restored exactly.

    Raises:
        ConfigError: wrong dtype or shape, or a mask that selects no pixel of some image.
    """
    _check_pair(restored, reference)
    squared = (restored.double() - reference.double()).square()  # (N, C, H, W)
    if mask is None:
        mse = squared.flatten(1).mean(dim=1)
    else:
        mask = _check_mask(mask, restored)
        counts = mask.flatten(1).sum(dim=1) * restored.shape[1]  # (N,) scored values per image
        if bool((counts == 0).any()):
            raise ConfigError(f"the mask selects no pixel of image(s) {torch.nonzero(counts == 0).flatten().tolist()[:5]}")
        mse = (squared * mask).flatten(1).sum(dim=1) / counts
    return 10.0 * torch.log10(PEAK**2 / mse)  # mse 0 -> +inf


def mean_psnr(values: torch.Tensor, cap: float = PSNR_CAP_DB) -> float:
    """The mean of per-image PSNRs, each capped at ``cap`` dB (so exactly restored images count as ``cap``, not +inf)."""
    if values.numel() == 0:
        raise ConfigError("mean_psnr: no images")
    return float(values.double().clamp(max=cap).mean())


def gaussian_window(sigma: float = SSIM_SIGMA, truncate: float = SSIM_TRUNCATE) -> torch.Tensor:
    """(2r + 1,) normalised float64 Gaussian taps, radius ``r = int(truncate * sigma + 0.5)`` as in scipy.ndimage (11 taps for sigma 1.5)."""
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    return taps / taps.sum()


def ssim(restored: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Mean structural similarity of each image (Wang et al. 2004), over the valid window positions and the channels.

    Args:
        restored: uint8 (N, C, H, W).
        reference: uint8 (N, C, H, W); H and W at least 11.

    Returns:
        (N,) float64 in [-1, 1]; 1 for identical images.
    """
    _check_pair(restored, reference)
    n, c, h, w = restored.shape
    taps = gaussian_window()
    size = len(taps)
    if h < size or w < size:
        raise ConfigError(f"SSIM needs images of at least {size}x{size} pixels, got {h}x{w}")
    x, y = restored.double(), reference.double()
    window = (taps[:, None] * taps[None, :]).expand(c, 1, size, size)  # (C, 1, 11, 11), one per channel

    def local_mean(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t, window, groups=c)  # (N, C, H - 10, W - 10): the valid positions only

    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x * mu_x
    var_y = local_mean(y * y) - mu_y * mu_y
    cov_xy = local_mean(x * y) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * PEAK) ** 2, (SSIM_K2 * PEAK) ** 2
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)
    denominator = (mu_x * mu_x + mu_y * mu_y + c1) * (var_x + var_y + c2)
    return (numerator / denominator).flatten(1).mean(dim=1)

