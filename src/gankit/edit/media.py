"""Pictures of edits: a strip of images side by side (PNG) and an animation (GIF), written atomically.

Pillow writes both (an animated GIF is Pillow's ``save(..., save_all=True)``); no other package is needed.
Images are uint8 (N, C, H, W); ``scale`` enlarges each pixel to a ``scale`` x ``scale`` block (nearest).
"""

from __future__ import annotations

import io
from pathlib import Path

import torch
from PIL import Image

from gankit.errors import ConfigError, GankitError
from gankit.run.files import atomic_write

PICTURE_SUFFIXES = (".png", ".gif")


def _pil(image: torch.Tensor, scale: int) -> Image.Image:
    """One uint8 (C, H, W) image as a Pillow image, each pixel a ``scale`` x ``scale`` block."""
    array = image.permute(1, 2, 0).numpy()
    picture = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array, mode="L" if array.shape[2] == 1 else "RGB")
    return picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST) if scale > 1 else picture


def strip(images: torch.Tensor, rows: int = 1, gap: int = 0) -> torch.Tensor:
    """Images (N, C, H, W) as one uint8 picture (C, rows * H, cols * W), filled row by row (``gap`` black pixels between)."""
    n, c, h, w = images.shape
    cols = -(-n // rows)
    canvas = torch.zeros(c, rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, dtype=torch.uint8)
    for i in range(n):
        r, k = divmod(i, cols)
        canvas[:, r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = images[i]
    return canvas


def check_picture_path(out: str | Path, suffixes: tuple[str, ...] = PICTURE_SUFFIXES, flag: str = "--out") -> Path:
    """Refuse an output path with another suffix or a missing folder, before any work is done."""
    out = Path(out)
    if out.suffix.lower() not in suffixes:
        raise ConfigError(f"{flag} {out}: unknown file type {out.suffix!r}; use one of: {', '.join(suffixes)}")
    if not out.parent.is_dir():
        raise ConfigError(f"{flag} {out}: the folder {out.parent} does not exist")
    if out.is_dir():
        raise ConfigError(f"{flag} {out}: is a directory; give a file name")
    return out


def png_bytes(image: torch.Tensor, scale: int = 1) -> bytes:
    """One uint8 (C, H, W) image as PNG bytes."""
    buffer = io.BytesIO()
    _pil(image, scale).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(frames: torch.Tensor, scale: int = 1, frame_ms: int = 80, loop: bool = True) -> bytes:
    """Frames uint8 (T, C, H, W) as an animated GIF, ``frame_ms`` milliseconds each."""
    pictures = [_pil(f, scale) for f in frames]
    if pictures[0].mode == "RGB":  # one shared palette, so the colours do not flicker between frames
        pictures = [p.quantize(colors=256, method=Image.Quantize.MEDIANCUT) for p in pictures]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=frame_ms,
                     loop=0 if loop else 1, disposal=1, optimize=False)
    return buffer.getvalue()


def write_picture(out: str | Path, images: torch.Tensor, scale: int = 1, rows: int = 1, frame_ms: int = 80) -> Path:
    """``.png``: the images (N, C, H, W) as a strip (``rows`` rows); ``.gif``: as an animation, one frame each."""
    out = Path(out)
    data = gif_bytes(images, scale, frame_ms) if out.suffix.lower() == ".gif" else png_bytes(strip(images, rows), scale)
    try:
        return atomic_write(out, data)
    except OSError as exc:
        raise GankitError(f"{out}: cannot write ({exc.strerror or exc})") from None
