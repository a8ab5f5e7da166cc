"""PNG strips and GIF animations (pytest run), read back with Pillow."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

from gankit.edit.media import check_picture_path, strip, write_picture
from gankit.errors import ConfigError


def _frames(n: int, c: int = 1) -> torch.Tensor:
    return torch.stack([torch.full((c, 4, 5), 40 * i, dtype=torch.uint8) for i in range(n)])


def test_strip_places_images_row_by_row():
    images = _frames(3)
    canvas = strip(images, rows=2, gap=1)
    assert canvas.shape == (1, 9, 11)
    assert int(canvas[0, 0, 0]) == 0 and int(canvas[0, 0, 6]) == 40 and int(canvas[0, 5, 0]) == 80
    assert int(canvas[0, 4, 0]) == 0 and int(canvas[0, 5, 10]) == 0  # the gap and the empty cell


def test_gif_holds_one_frame_per_image_at_its_scale(tmp_path):
    out = write_picture(tmp_path / "walk.gif", _frames(4), scale=3, frame_ms=50)
    with Image.open(out) as gif:
        frames = [np.asarray(f.convert("L")) for f in ImageSequence.Iterator(gif)]
        assert gif.info["duration"] == 50
    assert len(frames) == 4 and frames[0].shape == (12, 15)
    assert [int(f[0, 0]) for f in frames] == [0, 40, 80, 120]


def test_png_strip_of_colour_images(tmp_path):
    images = _frames(2, c=3)
    images[1, 0] = 255
    out = write_picture(tmp_path / "strip.png", images)
    with Image.open(out) as png:
        array = np.asarray(png)
    assert array.shape == (4, 10, 3) and array[0, 5].tolist() == [255, 40, 40]


def test_output_paths_are_checked_before_work(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown file type '.jpg'; use one of: .png, .gif"):
        check_picture_path(tmp_path / "a.jpg")
    with pytest.raises(ConfigError, match="does not exist"):
        check_picture_path(tmp_path / "missing" / "a.gif")
