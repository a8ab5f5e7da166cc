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
