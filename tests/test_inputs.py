"""The user's image files as inputs: one policy for size, channels, masks and broken files.

Run: pytest tests/test_inputs.py
"""

import numpy as np
import pytest
import torch
from PIL import Image

from gankit import inputs
from gankit.data.base import to_uint8, to_unit_range
from gankit.inputs import InputError, read_image, read_inputs, read_mask, write_image


def _save(path, array, mode=None):
    Image.fromarray(np.asarray(array, dtype=np.uint8), mode).save(path)
    return path


def test_gray_image_reads_its_pixels(tmp_path):
    pixels = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    image = read_image(_save(tmp_path / "a.png", pixels), (1, 28, 28))
    assert image.dtype == torch.uint8 and image.shape == (1, 28, 28)
    assert torch.equal(image[0], torch.from_numpy(pixels))


def test_rgb_with_equal_channels_counts_as_gray(tmp_path):
    gray = np.full((28, 28), 77, dtype=np.uint8)
    image = read_image(_save(tmp_path / "a.png", np.stack([gray] * 3, -1)), (1, 28, 28))
    assert image.shape == (1, 28, 28) and int(image[0, 5, 5]) == 77


def test_colour_image_for_a_gray_run_is_refused(tmp_path):
    rgb = np.zeros((28, 28, 3), dtype=np.uint8)
    rgb[..., 0] = 200
    with pytest.raises(InputError, match=r"a\.png: a colour image; expected a 28x28 gray image"):
        read_image(_save(tmp_path / "a.png", rgb), (1, 28, 28))


def test_gray_image_for_a_colour_run_is_refused(tmp_path):
    with pytest.raises(InputError, match=r"a gray image; expected a 64x64 RGB image"):
        read_image(_save(tmp_path / "a.png", np.zeros((64, 64))), (3, 64, 64))


def test_wrong_size_names_both_sizes(tmp_path):
    with pytest.raises(InputError, match=r"30x20 pixels; expected a 28x28 gray image"):
        read_image(_save(tmp_path / "a.png", np.zeros((20, 30))), (1, 28, 28))


def test_rgb_layout_is_channels_first(tmp_path):
    rgb = np.zeros((4, 6, 3), dtype=np.uint8)
    rgb[1, 2] = (10, 20, 30)
    image = read_image(_save(tmp_path / "a.png", rgb), (3, 4, 6))
    assert image[:, 1, 2].tolist() == [10, 20, 30]


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((8, 8, 4), dtype=np.uint8)  # black, fully transparent
    rgba[0, 0] = (0, 0, 0, 255)  # one opaque black pixel
    image = read_image(_save(tmp_path / "a.png", rgba, "RGBA"), (3, 8, 8))
    assert image[:, 0, 0].tolist() == [0, 0, 0]
    assert image[:, 4, 4].tolist() == [255, 255, 255]


def test_corrupt_and_non_image_files_are_named(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(InputError, match=r"notes\.png: not a readable image"):
        read_image(tmp_path / "notes.png", (1, 28, 28))
    good = _save(tmp_path / "cut.png", np.random.default_rng(0).integers(0, 256, (28, 28)))
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.png: (corrupt image|not a readable image)"):
        read_image(tmp_path / "cut.png", (1, 28, 28))


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_inputs(tmp_path / "nothing.png", (1, 28, 28))


def test_oversized_file_is_refused_before_decoding(tmp_path, monkeypatch):
    path = _save(tmp_path / "a.png", np.random.default_rng(0).integers(0, 256, (28, 28)))
    monkeypatch.setattr(inputs, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(InputError, match=r"bytes is over the limit"):
        read_image(path, (1, 28, 28))


def test_decompression_bomb_is_refused_by_its_header(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (5000, 5000)).save(path)  # 25 million pixels in a few kilobytes
    assert path.stat().st_size < 100_000
    with pytest.raises(InputError, match=r"5000x5000 pixels is over the limit"):
        read_image(path, (1, 28, 28))


def test_directory_reads_the_good_files_and_lists_the_bad(tmp_path):
    _save(tmp_path / "b.png", np.full((28, 28), 2))
    _save(tmp_path / "a.png", np.full((28, 28), 1))
    _save(tmp_path / "c.png", np.zeros((14, 14)))
    (tmp_path / "readme.txt").write_text("ignored: not an image suffix")
    batch = read_inputs(tmp_path, (1, 28, 28))
    assert batch.names == ["a.png", "b.png"]
    assert batch.images.shape == (2, 1, 28, 28) and batch.images[:, 0, 0, 0].tolist() == [1, 2]
    assert len(batch.failures) == 1 and "c.png: 14x14 pixels; expected a 28x28 gray image" in batch.failures[0]


def test_directory_with_no_usable_file_is_one_error(tmp_path):
    _save(tmp_path / "a.png", np.zeros((14, 14)))
    _save(tmp_path / "b.png", np.zeros((14, 14)))
    with pytest.raises(InputError, match=r"a\.png: 14x14 pixels.*\(and 1 more\)"):
        read_inputs(tmp_path, (1, 28, 28))
    with pytest.raises(InputError, match="no image files"):
        read_inputs(tmp_path / "empty" if (tmp_path / "empty").mkdir() is None else None, (1, 28, 28))


def test_mask_white_marks_missing_pixels(tmp_path):
    mask = np.zeros((28, 28), dtype=np.uint8)
    mask[7:21, 7:21] = 255
    mask[0, 0] = 127  # not white enough
    mask[0, 1] = 128
    read = read_mask(_save(tmp_path / "m.png", mask), (28, 28))
    assert read.dtype == torch.bool and read.shape == (1, 28, 28)
    assert int(read.sum()) == 14 * 14 + 1 and not read[0, 0, 0] and read[0, 0, 1]
    with pytest.raises(InputError, match=r"the mask is 28x28 pixels; expected 64x64"):
        read_mask(tmp_path / "m.png", (64, 64))


def test_model_range_round_trip_by_hand():
    images = torch.tensor([0, 1, 127, 128, 254, 255], dtype=torch.uint8).view(1, 1, 1, 6)
    scaled = to_unit_range(images)
    expected = torch.tensor([-1.0, 1 / 127.5 - 1, 127 / 127.5 - 1, 128 / 127.5 - 1, 254 / 127.5 - 1, 1.0])
    torch.testing.assert_close(scaled.flatten(), expected, rtol=0, atol=1e-6)
    assert torch.equal(to_uint8(scaled), images)
    assert to_uint8(torch.tensor([-3.0, 3.0, 0.0])).tolist() == [0, 255, 128]  # clipped; 127.5 rounds to even 128


def test_write_image_round_trips_and_refuses_a_missing_folder(tmp_path):
    image = torch.randint(0, 256, (3, 5, 7), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    written = write_image(tmp_path / "out.png", image)
    assert torch.equal(read_image(written, (3, 5, 7)), image)
    with pytest.raises(Exception, match="cannot write"):
        write_image(tmp_path / "no" / "out.png", image)
    assert not list((tmp_path).glob("no*"))
