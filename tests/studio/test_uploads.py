"""Uploaded images: size and pixel limits, decompression bombs (pytest tests/studio/test_uploads.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from gankit.studio.uploads import UploadError, decode_image


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def test_an_image_decodes_to_the_same_pixels():
    pixels = np.random.default_rng(0).integers(0, 256, (12, 9, 3), dtype=np.uint8)
    image = decode_image(png_bytes(Image.fromarray(pixels)))
    assert image.mode == "RGB" and np.array_equal(np.asarray(image), pixels)


def test_a_decompression_bomb_is_refused_from_its_header():
    bomb = png_bytes(Image.new("1", (5000, 5000)))  # 25 million pixels in a few kilobytes
    assert len(bomb) < 20_000
    with pytest.raises(UploadError, match="more than the limit of 1,000,000 pixels"):
        decode_image(bomb, max_pixels=1_000_000)


def test_pils_own_guard_is_turned_into_a_message(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(UploadError, match="decodes to more than"):
        decode_image(png_bytes(Image.new("L", (200, 200))), max_pixels=10**9)  # 40,000 > 2 x PIL's limit


@pytest.mark.parametrize("data, needle", [
    (b"", "empty"),
    (b"#!/bin/sh\nrm -rf /\n", "not a readable image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not a readable image"),
])
def test_non_images_get_one_line(data, needle):
    with pytest.raises(UploadError, match=needle):
        decode_image(data)


def test_too_many_bytes():
    with pytest.raises(UploadError, match="more than the limit of 100 bytes"):
        decode_image(png_bytes(Image.fromarray(np.random.default_rng(1).integers(0, 256, (30, 30, 3), dtype=np.uint8))), max_bytes=100)
