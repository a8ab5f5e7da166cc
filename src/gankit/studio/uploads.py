"""Images uploaded from the browser, decoded only when they are small enough to be safe.

A decompression bomb (a small file that decodes to billions of pixels) is refused from its
header, before its pixels are decoded; PIL's own guard (``Image.MAX_IMAGE_PIXELS``) backs this up.
"""

from __future__ import annotations

import io
import warnings

from gankit.errors import GankitError

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")


class UploadError(GankitError):
    """An upload that is not a small enough image in a known format."""


def decode_image(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_UPLOAD_PIXELS):
    """The uploaded bytes as an RGB :class:`PIL.Image.Image`.

    Raises:
        UploadError: too many bytes, not an image of :data:`FORMATS`, more than ``max_pixels``
            pixels (checked from the header, before decoding), or damaged.
    """
    from PIL import Image

    if not data:
        raise UploadError("upload: the file is empty; choose an image (PNG, JPEG, BMP, GIF or WebP)")
    if len(data) > max_bytes:
        raise UploadError(f"upload: {len(data):,} bytes is more than the limit of {max_bytes:,} bytes")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            width, height = image.size
            if width * height > max_pixels:
                raise UploadError(f"upload: {width}x{height} pixels is more than the limit of {max_pixels:,} pixels")
            image.load()
            return image.convert("RGB")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UploadError(f"upload: the image decodes to more than the limit of {max_pixels:,} pixels") from None
        except UploadError:
            raise
        except (OSError, ValueError, SyntaxError, Image.UnidentifiedImageError):
            raise UploadError("upload: not a readable image; use PNG, JPEG, BMP, GIF or WebP") from None


MAX_NAME_CHARS = 80


def upload_bytes(item, what: str = "image") -> tuple[str, bytes]:
    """The file name and bytes of an upload sent as JSON: ``{"name": "digit.png", "data": "data:image/png;base64,..."}``."""
    from gankit.studio.web import decode_data_url

    if not isinstance(item, dict) or not isinstance(item.get("data"), str):
        raise UploadError(f"upload: send the {what} as {{\"name\": FILE_NAME, \"data\": BASE64}}")
    if len(item["data"]) > MAX_UPLOAD_BYTES * 4 // 3 + 1024:
        raise UploadError(f"upload: the {what} is more than the limit of {MAX_UPLOAD_BYTES:,} bytes")
    name = safe_name(item.get("name"), what)
    return name, decode_data_url(item["data"])


def safe_name(name, what: str = "image") -> str:
    """A file name from the browser reduced to a plain name (letters, digits, ``._-``) for messages and commands."""
    import re

    base = str(name or f"{what}.png").replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")[:MAX_NAME_CHARS]
    return base or f"{what}.png"


def _through_inputs(item, what: str, read):
    """Check the upload here (bytes, pixels, format), then read it with :mod:`gankit.inputs`' policy (size, channels)."""
    import tempfile
    from pathlib import Path

    from gankit.inputs import InputError

    name, data = upload_bytes(item, what)
    decode_image(data)  # size and pixel limits, and a known image format, before gankit.inputs sees the file
    with tempfile.TemporaryDirectory(prefix="gankit-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return name, read(path)
        except InputError as exc:
            raise UploadError(f"upload: {str(exc).replace(str(path), name)}") from None


def read_upload(item, shape: tuple[int, int, int]):
    """An uploaded image that must be ``shape`` (C, H, W), as :func:`gankit.inputs.read_image` reads a file.

    Returns:
        (file name, uint8 tensor (C, H, W)).

    Raises:
        UploadError: not base64, too large, not an image, or of another size or channel count.
    """
    from gankit.inputs import read_image

    return _through_inputs(item, "image", lambda path: read_image(path, shape))


def read_upload_mask(item, size: tuple[int, int]):
    """An uploaded mask of ``size`` (H, W), white where pixels are missing: bool (1, H, W) (:func:`gankit.inputs.read_mask`)."""
    from gankit.inputs import read_mask

    return _through_inputs(item, "mask", lambda path: read_mask(path, size))[1]
