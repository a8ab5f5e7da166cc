"""Degradations: what turns a clean image into the input a restoration model learns to undo.

Each degradation is registered by name (``@register_degradation``) and maps clean images (B, C, H, W) in
[-1, 1] to a :class:`Degraded` batch. Randomness comes only from a ``torch.Generator`` seeded from
``(seed, stream, step)`` (:func:`degradation_generator`), so training step ``s`` of seed ``k`` always sees the same
degraded batch, and a resumed run sees what an uninterrupted one would have. Every degraded image is rounded to
the uint8 grid (the levels an image file holds), so a model sees in training what ``gankit restore`` hands it.

Tasks:
    ``super_resolution``: ``downscale_x2``, ``downscale_x4``: bicubic with antialiasing, the convention of the
        super-resolution literature (MATLAB's ``imresize``; Dong et al. 2014, SRCNN; Ledig et al. 2017, SRGAN).
    ``denoise``: ``gaussian_noise`` (sigma in [0, 1] units, default 25/255 as in Zhang et al. 2017, DnCNN),
        ``salt_pepper`` (a share of pixels set to black or white).
    ``inpaint``: ``mask_centre`` (the centre square of a quarter of the area; Pathak et al. 2016, context encoders),
        ``mask_boxes`` (random rectangles), ``mask_strokes`` (random free-form brush strokes; Yu et al. 2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from gankit.errors import ConfigError
from gankit.registry import Registry

TASKS = ("super_resolution", "denoise", "inpaint")
TRAIN_STREAM, EVAL_STREAM, PREVIEW_STREAM = 0, 1, 2
"""Independent random streams: training batches, the evaluation test set, the progress grids."""
DEFAULT_SIGMA = 25 / 255


@dataclass
class Degraded:
    """A degraded batch.

    Attributes:
        images: the degraded images in [-1, 1] on the uint8 grid: (B, C, H / scale, W / scale) for super-resolution,
            (B, C, H, W) otherwise; in an inpainting batch the missing pixels are 0 (mid-gray).
        mask: (B, 1, H, W) float, 1 where pixels are missing (inpainting), else None.
    """

    images: torch.Tensor
    mask: torch.Tensor | None = None

    def model_input(self) -> torch.Tensor:
        """What a restoration generator takes: the images, and for inpainting the mask as one more channel."""
        return self.images if self.mask is None else torch.cat([self.images, self.mask], dim=1)  # (B, C [+ 1], h, w)


@dataclass(frozen=True)
class Degradation:
    """A registered degradation.

    Attributes:
        name: its registry name.
        task: one of :data:`TASKS`.
        scale: the downscaling factor (1 unless super-resolution).
        apply: ``(clean (B, C, H, W) in [-1, 1], generator, sigma, amount) -> Degraded``.
    """

    name: str
    task: str
    scale: int
    apply: Callable[..., Degraded]

    def __call__(self, clean: torch.Tensor, seed: int, step: int, stream: int = TRAIN_STREAM,
                 sigma: float = DEFAULT_SIGMA, amount: float = 0.1) -> Degraded:
        """Degrade ``clean`` (B, C, H, W) in [-1, 1], deterministically from ``(seed, stream, step)``."""
        if clean.ndim != 4:
            raise ValueError(f"expected images (B, C, H, W), got shape {tuple(clean.shape)}")
        if self.scale > 1 and (clean.shape[-1] % self.scale or clean.shape[-2] % self.scale):
            raise ConfigError(f"restore.degradation: {self.name} needs image sides divisible by {self.scale}, "
                              f"got {clean.shape[-2]}x{clean.shape[-1]}")
        gen = degradation_generator(seed, step, stream)
        return self.apply(clean.float(), gen, sigma=sigma, amount=amount)


DEGRADATIONS: Registry[Degradation] = Registry("degradation")


def register_degradation(name: str, task: str, scale: int = 1):
    """Register ``fn(clean, generator, sigma, amount) -> Degraded`` as degradation ``name`` of ``task``."""

    def decorator(fn: Callable[..., Degraded]) -> Callable[..., Degraded]:
        DEGRADATIONS.register(name)(Degradation(name, task, scale, fn))
        return fn

    return decorator


def create_degradation(name: str) -> Degradation:
    """The degradation registered as ``name``; ConfigError listing the registered ones otherwise."""
    if name not in DEGRADATIONS:
        raise ConfigError(f"restore.degradation: {name!r} is not allowed; choose one of: {', '.join(DEGRADATIONS.names())}")
    return DEGRADATIONS.get(name)


def degradation_generator(seed: int, step: int, stream: int = TRAIN_STREAM) -> torch.Generator:
    """A CPU generator seeded from ``(seed, stream, step)`` through NumPy's SeedSequence (well-mixed, no collisions
    between nearby seeds and steps)."""
    if min(seed, step, stream) < 0:
        raise ValueError(f"seed, step and stream must be >= 0, got {seed}, {step}, {stream}")
    state = np.random.SeedSequence([seed, stream, step]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state) & (2**63 - 1))


def quantize(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] images clamped and rounded to the 256 levels of a uint8 image (still floats in [-1, 1])."""
    return images.add(1.0).mul(127.5).round().clamp(0, 255).div(127.5).sub(1.0)


def downscale(images: torch.Tensor, scale: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H / scale, W / scale): bicubic (Keys' kernel, a = -0.5) with antialiasing (the kernel
    widened by ``scale``), as MATLAB's ``imresize`` and PIL's ``BICUBIC`` resize. Not clamped."""
    h, w = images.shape[-2:]
    return F.interpolate(images, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)


def upscale(images: torch.Tensor, scale: int) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, h * scale, w * scale), bicubic; the bicubic-upscaling baseline and the models' skip."""
    if scale == 1:
        return images
    return F.interpolate(images, scale_factor=scale, mode="bicubic", align_corners=False)


@register_degradation("downscale_x2", "super_resolution", scale=2)
def _downscale_x2(clean: torch.Tensor, gen: torch.Generator, **_: float) -> Degraded:
    return Degraded(quantize(downscale(clean, 2)))


@register_degradation("downscale_x4", "super_resolution", scale=4)
def _downscale_x4(clean: torch.Tensor, gen: torch.Generator, **_: float) -> Degraded:
    return Degraded(quantize(downscale(clean, 4)))


@register_degradation("gaussian_noise", "denoise")
def gaussian_noise(clean: torch.Tensor, gen: torch.Generator, sigma: float = DEFAULT_SIGMA, **_: float) -> Degraded:
    """x + sigma * n, n ~ N(0, 1), in [0, 1] units (sigma 25/255: 2 * 25/255 in [-1, 1]), clipped to the valid range."""
    noise = torch.randn(clean.shape, generator=gen).to(clean.device)
    return Degraded(quantize(clean + 2.0 * sigma * noise))


@register_degradation("salt_pepper", "denoise")
def salt_pepper(clean: torch.Tensor, gen: torch.Generator, amount: float = 0.1, **_: float) -> Degraded:
    """A share ``amount`` of the pixels (all channels of a pixel together) set to black or white, half each."""
    b, c, h, w = clean.shape
    hit = torch.rand(b, 1, h, w, generator=gen) < amount
    white = torch.rand(b, 1, h, w, generator=gen) < 0.5
    value = torch.where(white, 1.0, -1.0).to(clean.device)
    return Degraded(torch.where(hit.to(clean.device), value, clean))


def _masked(clean: torch.Tensor, mask: torch.Tensor) -> Degraded:
    """The missing pixels (mask 1) set to 0, mid-gray; the rest kept."""
    mask = mask.to(clean.device, torch.float32)
    return Degraded(quantize(clean) * (1.0 - mask), mask)


def centre_mask(height: int, width: int) -> torch.Tensor:
    """(1, H, W) float: 1 on the centre square of side H/2 x W/2 (a quarter of the area for even sides)."""
    mask = torch.zeros(1, height, width)
    top, left = (height - height // 2) // 2, (width - width // 2) // 2
    mask[:, top:top + height // 2, left:left + width // 2] = 1.0
    return mask


@register_degradation("mask_centre", "inpaint")
def _mask_centre(clean: torch.Tensor, gen: torch.Generator, **_: float) -> Degraded:
    b, _, h, w = clean.shape
    return _masked(clean, centre_mask(h, w).expand(b, 1, h, w))


@register_degradation("mask_boxes", "inpaint")
def _mask_boxes(clean: torch.Tensor, gen: torch.Generator, **_: float) -> Degraded:
    """1 to 3 rectangles per image, each side between 1/8 and 1/2 of the image's, anywhere inside it."""
    b, _, h, w = clean.shape
    mask = torch.zeros(b, 1, h, w)
    count = torch.randint(1, 4, (b,), generator=gen)
    sides = torch.rand(b, 3, 2, generator=gen)  # (B, box, [height, width]) in [0, 1)
    corners = torch.rand(b, 3, 2, generator=gen)
    for i in range(b):
        for k in range(int(count[i])):
            bh = max(1, round(h * (0.125 + 0.375 * float(sides[i, k, 0]))))
            bw = max(1, round(w * (0.125 + 0.375 * float(sides[i, k, 1]))))
            top, left = int(float(corners[i, k, 0]) * (h - bh + 1)), int(float(corners[i, k, 1]) * (w - bw + 1))
            mask[i, 0, top:top + bh, left:left + bw] = 1.0
    return _masked(clean, mask)


@register_degradation("mask_strokes", "inpaint")
def _mask_strokes(clean: torch.Tensor, gen: torch.Generator, **_: float) -> Degraded:
    """1 to 3 free-form strokes per image: random walks of 2 to 5 straight segments drawn with a round brush of
    radius 1/16 to 1/8 of the side (the free-form masks of Yu et al., "Free-Form Image Inpainting with Gated
    Convolution", ICCV 2019, at small size)."""
    b, _, h, w = clean.shape
    side = min(h, w)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    pixels = torch.stack([ys.flatten(), xs.flatten()], dim=1)  # (H*W, 2)
    mask = torch.zeros(b, h * w, dtype=torch.bool)
    for i in range(b):
        for _stroke in range(int(torch.randint(1, 4, (1,), generator=gen))):
            radius = side * (1 / 16 + float(torch.rand(1, generator=gen)) / 16)
            point = torch.rand(2, generator=gen) * torch.tensor([h - 1.0, w - 1.0])
            points = [point]
            for _segment in range(int(torch.randint(2, 6, (1,), generator=gen))):
                angle = float(torch.rand(1, generator=gen)) * 2 * math.pi
                length = side * (0.15 + 0.25 * float(torch.rand(1, generator=gen)))
                point = (point + length * torch.tensor([math.sin(angle), math.cos(angle)])).clamp(
                    torch.zeros(2), torch.tensor([h - 1.0, w - 1.0]))
                points.append(point)
            for start, end in zip(points, points[1:]):
                t = torch.linspace(0, 1, 2 * side)[:, None]  # (T, 1): dense enough for a continuous stroke
                centres = start + t * (end - start)  # (T, 2)
                mask[i] |= (torch.cdist(pixels, centres) <= radius).any(dim=1)
    return _masked(clean, mask.float().view(b, 1, h, w))
