"""Sample files: uint8 images as a PNG grid, 2D points as a scatter plot over the data, either as ``.npz``."""

from __future__ import annotations

import io
import math
from pathlib import Path

import torch

from gankit.errors import ConfigError
from gankit.run.files import atomic_path, atomic_write


def is_points(samples: torch.Tensor) -> bool:
    """True for vector data, float (N, D); False for uint8 images (N, C, H, W)."""
    return samples.ndim == 2


def write_samples_file(out: str | Path, samples: torch.Tensor, labels: torch.Tensor | None = None,
                       reference: torch.Tensor | None = None, title: str = "") -> Path:
    """Write samples to ``out``: ``.npz`` arrays, or a ``.png`` picture.

    Images, uint8 (N, C, H, W), go into the archive under ``images`` and into the picture as a
    square grid; 2D points, float (N, 2), go under ``points`` (float32) and into the picture as a
    scatter plot over ``reference`` (M, 2), the real data. ``labels`` (N,) go under ``labels``.
    """
    out = Path(out)
    points = is_points(samples)
    if out.suffix.lower() == ".npz":
        import numpy as np

        arrays = {"points": samples.float().numpy()} if points else {"images": samples.numpy()}
        if labels is not None:
            arrays["labels"] = labels.numpy().astype(np.int64)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return atomic_write(out, buffer.getvalue())
    if points:
        from gankit.training.plots import plot_points

        if reference is None:
            raise ConfigError(f"{out}: a scatter plot of 2D points needs the real data to draw them over")
        with atomic_path(out) as tmp:
            plot_points(samples.float(), reference, tmp, title=title)
        return out
    return atomic_write(out, _grid_png(samples))


def _grid_png(images: torch.Tensor) -> bytes:
    """A PNG of uint8 images (N, C, H, W) in a square grid with 2 px of black between them."""
    from PIL import Image
    from torchvision.utils import make_grid

    grid = make_grid(images, nrow=int(math.ceil(math.sqrt(len(images)))), padding=2)  # (C, H', W') uint8
    array = grid.permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(buffer, format="PNG")
    return buffer.getvalue()
