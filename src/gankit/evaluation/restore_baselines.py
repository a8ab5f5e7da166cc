"""Classical restorations that a learned model has to beat, one registry per task.

``@register_baseline(name, task)`` registers a function on uint8 (N, C, H, W) images that
returns uint8 images; :func:`baselines_for` lists a task's baselines in registration order.
Every baseline of a task is called the same way, ``baseline(degraded, **task_inputs)``:

================== =============================== ================================================
task               task_inputs                     baselines
================== =============================== ================================================
super_resolution   ``scale`` (int, e.g. 2 or 4)    ``bicubic``
denoise            none                            ``median`` (3x3), ``gaussian_blur`` (sigma 0.5)
inpaint            ``mask`` (True = missing)       ``mean_fill``, ``neighbour_fill``
================== =============================== ================================================

The arithmetic is float64 and the result is rounded to the nearest integer (halves to even)
and clipped to 0..255. Borders are handled as scipy.ndimage's ``mode="reflect"`` (the edge
pixel repeated: ``c b a | a b c``) by the filters, and by clamping indices (torch's convention)
in bicubic upscaling.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch.nn import functional as F

from gankit.errors import ConfigError
from gankit.registry import Registry

TASKS = ("super_resolution", "denoise", "inpaint")

BaselineFn = Callable[..., torch.Tensor]


@dataclass(frozen=True)
class Baseline:
    """A registered baseline: its name, its task and the function."""

    name: str
    task: str
    fn: BaselineFn


BASELINES: Registry[Baseline] = Registry("baseline")
_BY_TASK: dict[str, list[str]] = {task: [] for task in TASKS}


def register_baseline(name: str, task: str) -> Callable[[BaselineFn], BaselineFn]:
    """Register ``fn(degraded uint8 (N, C, H, W), **task_inputs) -> uint8 images`` as a baseline of ``task``."""
    if task not in TASKS:
        raise ConfigError(f"baseline {name!r}: task {task!r} is not allowed; choose one of: {', '.join(TASKS)}")

    def decorator(fn: BaselineFn) -> BaselineFn:
        BASELINES.register(name)(Baseline(name, task, fn))
        _BY_TASK[task].append(name)
        return fn

    return decorator


def baselines_for(task: str) -> dict[str, BaselineFn]:
    """``{name: function}`` of the baselines of ``task``, in registration order."""
    if task not in TASKS:
        raise ConfigError(f"task {task!r} is not allowed; choose one of: {', '.join(TASKS)}")
    return {name: BASELINES.get(name).fn for name in _BY_TASK[task]}


# --- helpers ---------------------------------------------------------------


def _check_images(images: torch.Tensor) -> None:
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise ConfigError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")


def _to_uint8(values: torch.Tensor) -> torch.Tensor:
    return values.round().clamp_(0, 255).to(torch.uint8)


def _check_mask(mask: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """A (N or 1, 1, H, W) mask (bool, or 0/1 numbers), True = missing, as bool (N, 1, H, W)."""
    n, _, h, w = images.shape
    if mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[2:] != (h, w) or mask.shape[0] not in (1, n):
        raise ConfigError(f"mask must be ({n} or 1, 1, {h}, {w}) with True (or 1) on the missing pixels, got {tuple(mask.shape)}")
    if mask.dtype != torch.bool:
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ConfigError("a numeric mask must hold only 0 (known) and 1 (missing)")
        mask = mask == 1
    return mask.expand(n, 1, h, w)


def _reflect_indices(size: int, pad: int) -> torch.Tensor:
    """Indices of ``range(-pad, size + pad)`` reflected about the edges, edge repeated (scipy's ``reflect``)."""
    i = torch.arange(-pad, size + pad) % (2 * size)
    return torch.where(i >= size, 2 * size - 1 - i, i)


def _reflect_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, H + 2 pad, W + 2 pad), any ``pad`` (also wider than the image)."""
    h, w = x.shape[-2:]
    return x[..., _reflect_indices(h, pad), :][..., _reflect_indices(w, pad)]


# --- super-resolution ----------------------------------------------------------


@register_baseline("bicubic", "super_resolution")
def bicubic_upscale(images: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic upscaling by an integer ``scale``: cubic convolution with ``a = -0.75`` (Keys 1981; torch's and
    OpenCV's convention), ``align_corners=False`` (pixel centres at ``(i + 0.5) / scale - 0.5``), indices clamped
    at the borders.

    Args:
        images: uint8 (N, C, h, w).
        scale: the integer factor, at least 1.

    Returns:
        uint8 (N, C, h * scale, w * scale).
    """
    _check_images(images)
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ConfigError(f"scale must be an integer of at least 1, got {scale!r}")
    h, w = images.shape[-2:]
    upscaled = F.interpolate(images.double(), size=(h * scale, w * scale), mode="bicubic", align_corners=False)
    return _to_uint8(upscaled)


# --- denoising ------------------------------------------------------------------


@register_baseline("median", "denoise")
def median_filter(images: torch.Tensor, size: int = 3) -> torch.Tensor:
    """The median of each ``size`` x ``size`` neighbourhood, per channel; borders reflected (scipy's ``reflect``).

    Equals ``scipy.ndimage.median_filter(image, size=size, mode="reflect")`` on each channel.

    Args:
        images: uint8 (N, C, H, W).
        size: an odd window width.
    """
    _check_images(images)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ConfigError(f"median filter size must be an odd integer of at least 1, got {size!r}")
    n, c, h, w = images.shape
    padded = _reflect_pad(images, size // 2)
    windows = padded.unfold(2, size, 1).unfold(3, size, 1)  # (N, C, H, W, size, size)
    return windows.reshape(n, c, h, w, size * size).median(dim=-1).values


def gaussian_blur(images: torch.Tensor, sigma: float = 1.0, truncate: float = 4.0) -> torch.Tensor:
    """A Gaussian low-pass filter of standard deviation ``sigma`` pixels, per channel.

    Equals ``scipy.ndimage.gaussian_filter(image, sigma, mode="reflect", truncate=truncate)`` on each channel
    (taps out to radius ``int(truncate * sigma + 0.5)``), computed in float64 and rounded.
    """
    _check_images(images)
    if not sigma > 0:
        raise ConfigError(f"gaussian blur sigma must be positive, got {sigma!r}")
    radius = int(truncate * sigma + 0.5)
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    taps = taps / taps.sum()
    n, c, h, w = images.shape
    planes = _reflect_pad(images.double().reshape(n * c, 1, h, w), radius)  # (N C, 1, H + 2r, W + 2r)
    planes = F.conv2d(planes, taps.view(1, 1, -1, 1))  # along H
    planes = F.conv2d(planes, taps.view(1, 1, 1, -1))  # along W -> (N C, 1, H, W)
    return _to_uint8(planes.reshape(n, c, h, w))


DENOISE_BLUR_SIGMA = 0.5
"""The blur of the registered denoising baseline. Of sigmas 0.4 to 1.0, on training images with Gaussian noise of
sigma 25/255, PSNR is highest at 0.5 on Fashion-MNIST (+0.9 dB over the noisy input), 0.4 on MNIST and 0.6 on emoji;
0.5 is within 0.7 dB of the best on all three, where sigma 1 falls 3 to 5 dB below the noisy input on the 28-pixel
sets (``python benchmarks/restore_baselines.py --blur-sweep``)."""


@register_baseline("gaussian_blur", "denoise")
def denoise_blur(images: torch.Tensor) -> torch.Tensor:
    """:func:`gaussian_blur` at :data:`DENOISE_BLUR_SIGMA`, the denoising baseline."""
    return gaussian_blur(images, DENOISE_BLUR_SIGMA)


# --- inpainting -----------------------------------------------------------------


def _known_mean(values: torch.Tensor, missing: torch.Tensor) -> torch.Tensor:
    """(N, C, 1, 1) mean of the known pixels of each image and channel."""
    known = (~missing).double()  # (N, 1, H, W)
    counts = known.sum(dim=(2, 3), keepdim=True)
    if bool((counts == 0).any()):
        raise ConfigError(f"the mask hides every pixel of image(s) {torch.nonzero(counts.flatten() == 0).flatten().tolist()[:5]}; nothing to fill from")
    return (values * known).sum(dim=(2, 3), keepdim=True) / counts


@register_baseline("mean_fill", "inpaint")
def mean_fill(images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Every missing pixel set to the mean of the known pixels of its image and channel.

    Args:
        images: uint8 (N, C, H, W); the values under the mask are ignored.
        mask: bool (N or 1, 1, H, W), True on the missing pixels.
    """
    _check_images(images)
    missing = _check_mask(mask, images)
    values = images.double()
    return _to_uint8(torch.where(missing, _known_mean(values, missing), values))


NEIGHBOURS = {
    4: torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=torch.float64),
    8: torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]], dtype=torch.float64),
}


def _offsets(connectivity: int) -> list[tuple[int, int]]:
    """(dy, dx) of the neighbours: the non-zero taps of ``NEIGHBOURS[connectivity]``."""
    return [(dy - 1, dx - 1) for dy, dx in NEIGHBOURS[connectivity].nonzero().tolist()]


def _sweeps(values: torch.Tensor, missing: torch.Tensor, connectivity: int, iterations: int) -> torch.Tensor:
    """``iterations`` Jacobi sweeps on (M, 1, H, W) float64 planes: each missing value becomes its neighbours' mean."""
    h, w = values.shape[-2:]
    kernel = NEIGHBOURS[connectivity].view(1, 1, 3, 3)
    counts = F.conv2d(torch.ones(1, 1, h, w, dtype=torch.float64), kernel, padding=1)  # neighbours inside the image
    for _ in range(iterations):
        values = torch.where(missing, F.conv2d(values, kernel, padding=1) / counts, values)
    return values


def _harmonic(values: torch.Tensor, missing: torch.Tensor, connectivity: int) -> torch.Tensor:
    """The fixed point of the sweeps, solved exactly: for every missing pixel p with neighbours N(p) inside the image,
    ``|N(p)| x_p - sum of x_q over missing q in N(p) = sum of the known v_q in N(p)``.

    The matrix is irreducibly diagonally dominant (every group of missing pixels borders a known one, since
    :func:`_known_mean` refuses a fully missing image), hence invertible; one sparse LU serves every image
    and channel that share a mask.

    Args:
        values: (N, C, H, W) float64; missing: (N, 1, H, W) bool.
    """
    import numpy as np
    from scipy.sparse import csc_matrix, csr_matrix
    from scipy.sparse.linalg import splu

    n, c, h, w = values.shape
    out = values.reshape(n, c, h * w).numpy().copy()
    masks, group = torch.unique(missing.reshape(n, h * w), dim=0, return_inverse=True)
    for g, mask in enumerate(masks.numpy()):
        members = (group == g).nonzero().flatten().numpy()
        holes = np.flatnonzero(mask)  # (m,) flat indices of the missing pixels
        m = len(holes)
        if m == 0:
            continue
        position = np.full(h * w, -1)
        position[holes] = np.arange(m)
        ys, xs = holes // w, holes % w
        degree = np.zeros(m)
        a_rows, a_cols, s_rows, s_cols = [], [], [], []
        for dy, dx in _offsets(connectivity):
            ny, nx = ys + dy, xs + dx
            inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
            degree += inside
            rows, neighbour = np.flatnonzero(inside), (ny * w + nx)[inside]
            hole = mask[neighbour]
            a_rows.append(rows[hole]), a_cols.append(position[neighbour[hole]])
            s_rows.append(rows[~hole]), s_cols.append(neighbour[~hole])
        a_rows, a_cols = np.concatenate(a_rows), np.concatenate(a_cols)
        system = csc_matrix((np.concatenate([degree, -np.ones(len(a_rows))]),
                             (np.concatenate([np.arange(m), a_rows]), np.concatenate([np.arange(m), a_cols]))), shape=(m, m))
        s_rows, s_cols = np.concatenate(s_rows), np.concatenate(s_cols)
        borders = csr_matrix((np.ones(len(s_rows)), (s_rows, s_cols)), shape=(m, h * w))  # sums the known neighbours
        planes = out[members].reshape(-1, h * w)  # (members * C, H * W)
        solved = splu(system).solve(np.ascontiguousarray((borders @ planes.T)))  # (m, members * C)
        planes[:, holes] = solved.T
        out[members] = planes.reshape(len(members), c, h * w)
    return torch.from_numpy(out).reshape(n, c, h, w)


@register_baseline("neighbour_fill", "inpaint")
def neighbour_fill(images: torch.Tensor, mask: torch.Tensor, iterations: int | None = None, connectivity: int = 4) -> torch.Tensor:
    """Harmonic fill: each missing pixel becomes the mean of its 4 (or 8) neighbours, repeated until it settles.

    With ``iterations``, that many sweeps (Jacobi iteration) from :func:`mean_fill`: every missing pixel becomes the
    mean of its neighbours inside the image, known pixels stay. Without, the sweeps' fixed point, solved exactly
    (:func:`_harmonic`): the discrete harmonic interpolation of the known pixels (the Laplace equation with the known
    pixels as boundary values and no flow across the image border), which reproduces a linear ramp exactly.

    Args:
        images: uint8 (N, C, H, W).
        mask: bool (N or 1, 1, H, W), True on the missing pixels.
        iterations: the number of sweeps; None: until convergence (the exact fixed point).
        connectivity: 4 or 8 neighbours.
    """
    _check_images(images)
    if connectivity not in NEIGHBOURS:
        raise ConfigError(f"neighbour fill connectivity must be 4 or 8, got {connectivity!r}")
    if iterations is not None and (isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0):
        raise ConfigError(f"neighbour fill iterations must be a non-negative integer or None, got {iterations!r}")
    missing = _check_mask(mask, images)
    n, c, h, w = images.shape
    values = images.double()
    values = torch.where(missing, _known_mean(values, missing), values)
    if iterations is None:
        return _to_uint8(_harmonic(values, missing, connectivity))
    planes = _sweeps(values.reshape(n * c, 1, h, w), missing.expand(n, c, h, w).reshape(n * c, 1, h, w), connectivity, iterations)
    return _to_uint8(planes.reshape(n, c, h, w))
