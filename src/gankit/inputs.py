"""The user's own image files as inputs to a trained run (restore, project, edit).

One policy for every command that reads a person's images:

* a file must decode as an image (PNG, JPEG, WebP, BMP, TIFF, GIF's first frame) and be at most
  :data:`MAX_FILE_BYTES` bytes and :data:`MAX_INPUT_PIXELS` pixels by its header (a decompression
  bomb is refused before it is decoded);
* transparency is composited onto white and 16-bit images are scaled to 8 bits, as the image-folder
  loader does (:mod:`gankit.data.folder`);
* its size must be the size the run expects: inputs are never resized silently, since a restoration
  or an inversion of a resampled image is not the restoration of the user's image;
* its channels must match: a 1-channel run takes gray images (an RGB file whose three channels are
  equal counts as gray), a 3-channel run takes colour images (a gray file is refused, not tinted);
* a mask is an image of the same size whose white pixels (value > 127 after conversion to gray) mark
  the missing region.

A directory is read file by file: a file that breaks a rule is reported with one line naming it and
what was expected, and the others are still read (:class:`InputBatch` keeps both lists). Outputs are
written through :func:`gankit.run.files.atomic_write`, so no half-written file is left behind.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from gankit.data.folder import IMAGE_SUFFIXES, to_8bit
from gankit.errors import GankitError
from gankit.run.files import atomic_write

MAX_FILE_BYTES = 32 * 1024 * 1024
"""Largest input file read, in bytes."""
MAX_INPUT_PIXELS = 4096 * 4096
"""Largest input image by its header, in pixels (decompression-bomb guard)."""
INPUT_SUFFIXES = tuple(sorted(set(IMAGE_SUFFIXES) | {".gif"}))
_WHITE = (255, 255, 255)


class InputError(GankitError):
    """One input file cannot be used (the message names the file and what was expected)."""


@dataclass
class InputBatch:
    """Images read from the user's files.

    Attributes:
        images: uint8 tensor (N, C, H, W) of the files that passed, in sorted name order.
        names: the file name of each image (relative to the directory read, or the file's own name).
        failures: one line per file that did not pass, naming the file and the reason.
    """

    images: torch.Tensor
    names: list[str]
    failures: list[str] = field(default_factory=list)


def _describe(shape: tuple[int, int, int]) -> str:
    channels, height, width = shape
    kind = "gray" if channels == 1 else "RGB"
    return f"a {width}x{height} {kind} image"


def _open_checked(path: Path) -> Image.Image:
    """Open ``path`` after the byte and pixel limits, returning a loaded "L" or "RGB" image."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size > MAX_FILE_BYTES:
        raise InputError(f"{path}: {size} bytes is over the limit of {MAX_FILE_BYTES} bytes")
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width * height > MAX_INPUT_PIXELS:
                raise InputError(f"{path}: {width}x{height} pixels is over the limit of {MAX_INPUT_PIXELS} pixels")
            img.load()
            try:
                img = ImageOps.exif_transpose(img)
            except Exception:  # a malformed EXIF block: keep the pixels as stored
                pass
            return to_8bit(img, _WHITE)
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"{path}: not a readable image (allowed: {', '.join(INPUT_SUFFIXES)})") from None
    except Image.DecompressionBombError:
        raise InputError(f"{path}: too many pixels (over the limit of {MAX_INPUT_PIXELS} pixels)") from None
    except Exception as exc:  # Pillow's decoders raise many types for a broken file
        detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else exc.__class__.__name__
        raise InputError(f"{path}: corrupt image ({detail})") from None


def read_image(path: str | Path, shape: tuple[int, int, int]) -> torch.Tensor:
    """Read one image file that must be exactly ``shape``.

    Args:
        path: the image file.
        shape: (C, H, W) the run expects, C in {1, 3}.

    Returns:
        uint8 tensor (C, H, W).

    Raises:
        InputError: the file is missing, too large, not an image, or of another size or channel count.
    """
    path = Path(path)
    channels, height, width = shape
    img = _open_checked(path)
    if img.size != (width, height):
        raise InputError(f"{path}: {img.size[0]}x{img.size[1]} pixels; expected {_describe(shape)}")
    array = np.asarray(img, dtype=np.uint8)
    if array.ndim == 2:  # gray file
        if channels == 3:
            raise InputError(f"{path}: a gray image; expected {_describe(shape)}")
        return torch.from_numpy(array.copy())[None]  # (1, H, W)
    rgb = array.transpose(2, 0, 1)  # (H, W, 3) -> (3, H, W)
    if channels == 1:
        if not (np.array_equal(rgb[0], rgb[1]) and np.array_equal(rgb[0], rgb[2])):
            raise InputError(f"{path}: a colour image; expected {_describe(shape)}")
        return torch.from_numpy(rgb[:1].copy())  # (1, H, W)
    return torch.from_numpy(np.ascontiguousarray(rgb))


def read_mask(path: str | Path, size: tuple[int, int]) -> torch.Tensor:
    """Read a mask image: white (> 127 in gray) marks missing pixels.

    Args:
        path: the mask file.
        size: (H, W) the mask must have.

    Returns:
        bool tensor (1, H, W), True where pixels are missing.
    """
    path = Path(path)
    img = _open_checked(path).convert("L")
    height, width = size
    if img.size != (width, height):
        raise InputError(f"{path}: the mask is {img.size[0]}x{img.size[1]} pixels; expected {width}x{height}")
    return torch.from_numpy(np.asarray(img) > 127)[None]  # (1, H, W)


def input_files(path: str | Path) -> list[Path]:
    """The image files to read: ``path`` itself, or the image files directly inside a directory, sorted."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in INPUT_SUFFIXES)
        if not files:
            raise InputError(f"{path}: no image files in this directory (allowed: {', '.join(INPUT_SUFFIXES)})")
        return files
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    return [path]


def read_inputs(path: str | Path, shape: tuple[int, int, int]) -> InputBatch:
    """Read a file or every image file in a directory; files that fail are listed, not fatal.

    Raises:
        InputError: ``path`` does not exist, holds no image file, or no file passed (the message then
            holds the first failure).
    """
    files = input_files(path)
    images, names, failures = [], [], []
    for file in files:
        try:
            images.append(read_image(file, shape))
            names.append(file.name)
        except InputError as exc:
            failures.append(str(exc))
    if not images:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise InputError(failures[0] + more)
    return InputBatch(torch.stack(images), names, failures)  # (N, C, H, W)


def write_image(path: str | Path, image: torch.Tensor) -> Path:
    """Write one uint8 (C, H, W) image as PNG, atomically (no half-written file on failure)."""
    path = Path(path)
    array = image.cpu().numpy()
    pil = Image.fromarray(array[0], "L") if array.shape[0] == 1 else Image.fromarray(array.transpose(1, 2, 0), "RGB")
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG")
    try:
        atomic_write(path, buffer.getvalue())
    except OSError as exc:
        raise GankitError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return path
