"""A hostile image folder: truncated files, wrong extensions, 16-bit and palette modes, an empty
file, text posing as an image, a FIFO and a decompression bomb (a small PNG whose header
declares 144 megapixels). Usable images are loaded, the rest is skipped with one counted
warning, a folder with nothing usable is one clear error; the bomb is refused from its header.
"""

from __future__ import annotations

import io
import os
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from gankit.data.folder import MAX_PIXELS, ImageOptions, load_image_folder
from gankit.errors import DataError

pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")

BOMB_SIDE = 12_000  # 144 Mpx: over gankit's limit, under Pillow's own DecompressionBombError threshold


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _bomb_png(side: int) -> bytes:
    """A valid 8-bit gray PNG of side x side black pixels: ~140 kB on disk, side**2 bytes decoded."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = bytes(side + 1)  # filter byte 0, then black pixels
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")


def _encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile-images")
    rng = np.random.default_rng(0)
    rgb = [Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)) for _ in range(3)]
    usable = {
        "good-0.png": _encoded(rgb[0], "PNG"),
        "good-1.jpg": _encoded(rgb[1], "JPEG", quality=90),
        "png-named.jpg": _encoded(rgb[2], "PNG"),  # wrong extension: the content decides
        "gray16.png": _encoded(Image.fromarray((np.arange(40 * 40, dtype=np.uint16).reshape(40, 40) * 40)), "PNG"),
        "palette.png": _encoded(rgb[0].convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG", transparency=0),
    }
    broken = {
        "truncated.png": _encoded(rgb[1], "PNG")[:300],
        "truncated.jpg": _encoded(rgb[2], "JPEG")[:200],
        "text.png": b"this is not an image\n" * 10,
        "empty.webp": b"",
        "bomb.png": _bomb_png(BOMB_SIDE),
    }
    for name, data in {**usable, **broken}.items():
        (folder / name).write_bytes(data)
    os.mkfifo(folder / "fifo.png")  # not a regular file: never opened (opening would block)
    return folder, usable, broken


def test_usable_images_load_and_the_rest_is_counted_once(tmp_path, hostile_folder, gankit_log):
    folder, usable, broken = hostile_folder
    assert BOMB_SIDE**2 > MAX_PIXELS
    start = time.perf_counter()
    dataset = load_image_folder(folder, ImageOptions(size=32, channels=3), cache_root=tmp_path / "cache", split="all", workers=2)
    seconds = time.perf_counter() - start

    assert dataset.images.shape == (len(usable), 3, 32, 32)
    warnings = [m for m in gankit_log if "skipped" in m]
    assert len(warnings) == 1 and "\n" not in warnings[0], warnings
    assert f"skipped {len(broken)} of {len(usable) + len(broken)}" in warnings[0]
    assert "decompression-bomb" in warnings[0]
    assert seconds < 20, f"{seconds:.1f} s: the bomb must be refused from its header, not decoded"


def test_nothing_usable_is_one_clear_error(tmp_path, hostile_folder):
    folder, _, broken = hostile_folder
    only_broken = tmp_path / "broken"
    only_broken.mkdir()
    for name, data in broken.items():
        (only_broken / name).write_bytes(data)
    with pytest.raises(DataError) as caught:
        load_image_folder(only_broken, ImageOptions(size=32), cache_root=tmp_path / "cache")
    assert "\n" not in str(caught.value) and str(only_broken) in str(caught.value)
