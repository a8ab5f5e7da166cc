"""Image folders: decoding against images of known content made with PIL, the cache, broken files, labels, splits."""

from __future__ import annotations

import logging
import os
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data import folder as folder_module
from gankit.data import load_data
from gankit.data.folder import ImageOptions, is_held_out, load_image_folder, parse_color
from gankit.errors import ConfigError, DataError
from gankit.training.config import config_from_dict

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 160, 0)


@contextmanager
def gankit_warnings():
    """Records of the ``gankit`` logger (whatever its propagation, which the CLI turns off)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("gankit")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def load(path: Path, tmp_path: Path, **options) -> folder_module.FolderDataset:
    return load_image_folder(path, ImageOptions(**options), cache_root=tmp_path / "cache")


def pixels(dataset, index: int = 0) -> np.ndarray:
    """Image ``index`` as (H, W, C) uint8."""
    return dataset.images[index].numpy().transpose(1, 2, 0)


def halves(width: int, height: int, left=RED, right=BLUE) -> Image.Image:
    array = np.zeros((height, width, 3), np.uint8)
    array[:, : width // 2] = left
    array[:, width // 2:] = right
    return Image.fromarray(array, "RGB")


# ------------------------------------------------------------------ decoding
def test_an_image_of_the_target_size_is_kept_exactly(tmp_path):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    (tmp_path / "img").mkdir()
    Image.fromarray(array).save(tmp_path / "img" / "a.png")
    dataset = load(tmp_path / "img", tmp_path, size=32)
    assert dataset.images.shape == (1, 3, 32, 32) and dataset.images.dtype == torch.uint8
    np.testing.assert_array_equal(pixels(dataset), array)


def test_centre_crop_of_a_wide_image(tmp_path):
    # 64x32, left half red, right half blue: the shorter side is already 32, so no resampling;
    # the centre 32 columns are 16..47, i.e. 16 red columns then 16 blue ones.
    (tmp_path / "img").mkdir()
    halves(64, 32).save(tmp_path / "img" / "wide.png")
    out = pixels(load(tmp_path / "img", tmp_path, size=32, fit="crop"))
    assert out.shape == (32, 32, 3)
    assert (out[:, :16] == RED).all() and (out[:, 16:] == BLUE).all()


def test_pad_of_a_wide_image_uses_the_background(tmp_path):
    # 64x32 green, padded to 32: scaled to 32x16 and centred, rows 0-7 and 24-31 are background.
    (tmp_path / "img").mkdir()
    Image.new("RGB", (64, 32), GREEN).save(tmp_path / "img" / "wide.png")
    background = (10, 20, 30)
    out = pixels(load(tmp_path / "img", tmp_path, size=32, fit="pad", background=background))
    assert (out[:8] == background).all() and (out[24:] == background).all()
    assert (out[8:24] == GREEN).all()


def test_downscale_keeps_a_constant_colour_and_the_crop_geometry(tmp_path):
    # 200x100: shorter side 100 -> 32 (factor 0.32), width 64, centre crop of columns 16..47.
    (tmp_path / "img").mkdir()
    halves(200, 100).save(tmp_path / "img" / "big.png")
    out = pixels(load(tmp_path / "img", tmp_path, size=32)).astype(int)
    # Away from the red/blue boundary (column 32 of the 64-wide resized image = column 16 of the crop)
    np.testing.assert_allclose(out[:, :12], np.broadcast_to(RED, (32, 12, 3)), atol=2)
    np.testing.assert_allclose(out[:, 20:], np.broadcast_to(BLUE, (32, 12, 3)), atol=2)


def test_rgba_is_composited_on_the_background(tmp_path):
    colour, alphas, background = np.array([200, 100, 50]), np.array([0, 64, 128, 255]), np.array([0, 255, 0])
    array = np.zeros((32, 32, 4), np.uint8)
    array[..., :3] = colour
    array[..., 3] = np.repeat(alphas, 8)[None, :]  # four vertical bands of alpha
    (tmp_path / "img").mkdir()
    Image.fromarray(array, "RGBA").save(tmp_path / "img" / "a.png")
    out = pixels(load(tmp_path / "img", tmp_path, size=32, background=tuple(map(int, background)))).astype(int)
    for band, alpha in enumerate(alphas):
        expected = np.rint(colour * alpha / 255 + background * (1 - alpha / 255))
        np.testing.assert_allclose(out[:, band * 8:(band + 1) * 8], np.broadcast_to(expected, (32, 8, 3)), atol=1)


def test_palette_transparency_is_composited(tmp_path):
    image = Image.new("P", (32, 32), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    image.paste(1, (16, 0, 32, 32))  # right half: palette entry 1 (blue)
    (tmp_path / "img").mkdir()
    image.save(tmp_path / "img" / "p.png", transparency=0)  # entry 0 (red) is transparent
    out = pixels(load(tmp_path / "img", tmp_path, size=32, background=(255, 255, 255)))
    assert (out[:, :16] == 255).all() and (out[:, 16:] == BLUE).all()


def test_sixteen_bit_gray_is_scaled_not_clipped(tmp_path):
    values = np.array([0, 257 * 100, 257 * 200, 65535], dtype=np.uint16)
    array = np.repeat(values, 8)[None, :].repeat(32, axis=0)  # (32, 32)
    (tmp_path / "img").mkdir()
    Image.fromarray(array).save(tmp_path / "img" / "deep.png")
    with Image.open(tmp_path / "img" / "deep.png") as check:
        assert check.mode.startswith("I")  # really a 16-bit file
    out = pixels(load(tmp_path / "img", tmp_path, size=32, channels=1))
    assert out.shape == (32, 32, 1)
    np.testing.assert_array_equal(out[0, ::8, 0], [0, 100, 200, 255])


def test_channels_gray_to_rgb_and_rgb_to_gray(tmp_path):
    (tmp_path / "gray").mkdir()
    (tmp_path / "rgb").mkdir()
    Image.new("L", (32, 32), 77).save(tmp_path / "gray" / "g.png")
    Image.new("RGB", (32, 32), (200, 100, 50)).save(tmp_path / "rgb" / "c.png")
    assert (pixels(load(tmp_path / "gray", tmp_path, size=32, channels=3)) == 77).all()
    luma = 0.299 * 200 + 0.587 * 100 + 0.114 * 50  # ITU-R 601
    gray = pixels(load(tmp_path / "rgb", tmp_path, size=32, channels=1)).astype(float)
    assert gray.shape == (32, 32, 1) and np.abs(gray - luma).max() <= 1


@pytest.mark.parametrize("suffix,params,tolerance", [
    (".png", {}, 0), (".bmp", {}, 0), (".tiff", {}, 0), (".tif", {"compression": "tiff_lzw"}, 0),
    (".webp", {"lossless": True}, 0), (".jpg", {"quality": 95}, 12), (".JPEG", {"quality": 95}, 12),
])
def test_every_supported_format_decodes(tmp_path, suffix, params, tolerance):
    (tmp_path / "img").mkdir()
    halves(32, 32).save(tmp_path / "img" / f"x{suffix}", **params)
    out = pixels(load(tmp_path / "img", tmp_path, size=32)).astype(int)
    # Compare away from the colour edge, where JPEG rings.
    np.testing.assert_allclose(out[:, :12], np.broadcast_to(RED, (32, 12, 3)), atol=tolerance)
    np.testing.assert_allclose(out[:, 20:], np.broadcast_to(BLUE, (32, 12, 3)), atol=tolerance)


# ---------------------------------------------------------- labels and splits
def _make_tree(root: Path, counts: dict[str, int], size: int = 32) -> None:
    for sub, count in counts.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.new("RGB", (size, size), (i, 10 * len(sub), 0)).save(root / sub / f"{i:03d}.png")


def test_labels_come_from_top_level_sub_folders(tmp_path):
    _make_tree(tmp_path / "img", {"dogs": 3, "cats": 2, "cats/kittens": 1})
    dataset = load(tmp_path / "img", tmp_path, size=32)
    assert dataset.class_names == ("cats", "dogs") and dataset.num_classes == 2
    expected = {"cats/000.png": 0, "cats/001.png": 0, "cats/kittens/000.png": 0, "dogs/000.png": 1, "dogs/001.png": 1, "dogs/002.png": 1}
    assert dict(zip(dataset.files, dataset.labels.tolist())) == expected


def test_a_file_at_the_top_means_no_labels(tmp_path):
    _make_tree(tmp_path / "img", {"dogs": 2})
    Image.new("RGB", (32, 32)).save(tmp_path / "img" / "loose.png")
    dataset = load(tmp_path / "img", tmp_path, size=32)
    assert dataset.labels is None and dataset.num_classes == 0


def test_hidden_and_non_image_files_are_ignored(tmp_path):
    _make_tree(tmp_path / "img", {"a": 2, ".thumbnails": 3})
    (tmp_path / "img" / "a" / "notes.txt").write_text("hello")
    (tmp_path / "img" / "a" / ".hidden.png").write_bytes(b"junk")
    assert load(tmp_path / "img", tmp_path, size=32).files == ("a/000.png", "a/001.png")


def test_splits_partition_the_folder_by_a_stable_hash(tmp_path):
    _make_tree(tmp_path / "img", {"a": 40, "b": 40})
    options = ImageOptions(size=32)
    parts = {s: load_image_folder(tmp_path / "img", options, cache_root=tmp_path / "c", split=s) for s in ("all", "train", "test")}
    assert set(parts["train"].files) | set(parts["test"].files) == set(parts["all"].files)
    assert not set(parts["train"].files) & set(parts["test"].files)
    assert all(is_held_out(f) for f in parts["test"].files) and not any(is_held_out(f) for f in parts["train"].files)
    assert 0 < len(parts["test"]) < len(parts["train"])
    # Each split's images and labels are those of its files in the whole set.
    position = {f: i for i, f in enumerate(parts["all"].files)}
    for split in ("train", "test"):
        rows = torch.tensor([position[f] for f in parts[split].files])
        assert torch.equal(parts[split].images, parts["all"].images[rows])
        assert torch.equal(parts[split].labels, parts["all"].labels[rows])


# ------------------------------------------------------------------ the cache
def test_cache_is_reused_and_a_changed_folder_is_noticed(tmp_path, monkeypatch):
    _make_tree(tmp_path / "img", {"a": 3})
    first = load(tmp_path / "img", tmp_path, size=32)
    cache_file = first.cache_dir / "images.u8"
    assert cache_file.stat().st_size == 3 * 3 * 32 * 32

    calls = []
    real_decode = folder_module.decode_image
    monkeypatch.setattr(folder_module, "decode_image", lambda *a: calls.append(a) or real_decode(*a))
    again = load(tmp_path / "img", tmp_path, size=32)
    assert calls == [] and torch.equal(again.images, first.images)  # mapped from disk, not decoded

    # A file rewritten with other content (new size/mtime) makes the next load decode again.
    target = tmp_path / "img" / "a" / "001.png"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(target)
    os.utime(target, ns=(1, 1))
    changed = load(tmp_path / "img", tmp_path, size=32)
    assert len(calls) == 3 and (pixels(changed, 1) == (1, 2, 3)).all()

    calls.clear()
    Image.new("RGB", (32, 32), (9, 9, 9)).save(tmp_path / "img" / "a" / "new.png")
    assert len(load(tmp_path / "img", tmp_path, size=32)) == 4 and len(calls) == 4
    calls.clear()
    (tmp_path / "img" / "a" / "000.png").unlink()
    assert len(load(tmp_path / "img", tmp_path, size=32)) == 3 and len(calls) == 3


def test_other_options_get_their_own_cache_entry(tmp_path):
    _make_tree(tmp_path / "img", {"a": 2}, size=64)
    small = load(tmp_path / "img", tmp_path, size=32)
    large = load(tmp_path / "img", tmp_path, size=64, channels=1)
    assert small.cache_dir != large.cache_dir
    assert small.images.shape == (2, 3, 32, 32) and large.images.shape == (2, 1, 64, 64)


def test_a_damaged_cache_is_rebuilt(tmp_path):
    _make_tree(tmp_path / "img", {"a": 2})
    dataset = load(tmp_path / "img", tmp_path, size=32)
    expected = dataset.images.clone()
    (dataset.cache_dir / "images.u8").write_bytes(b"short")
    assert torch.equal(load(tmp_path / "img", tmp_path, size=32).images, expected)
    (dataset.cache_dir / "manifest.json").write_text("{not json")
    assert torch.equal(load(tmp_path / "img", tmp_path, size=32).images, expected)


# --------------------------------------------------------------- bad input
def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header announces width x height pixels (no image data follows)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IEND", b"")


def test_broken_files_are_skipped_with_one_counted_warning(tmp_path):
    _make_tree(tmp_path / "img", {"ok": 3})
    good = (tmp_path / "img" / "ok" / "000.png").read_bytes()
    bad = tmp_path / "img" / "bad"
    bad.mkdir()
    (bad / "empty.png").write_bytes(b"")
    (bad / "text.jpg").write_text("this is not a JPEG")
    (bad / "truncated.png").write_bytes(good[: len(good) // 2])
    (bad / "bomb.png").write_bytes(_png_header_only(9000, 9000))  # 81 Mpx: over the guard, under Pillow's own limit
    (bad / "huge.png").write_bytes(_png_header_only(100_000, 100_000))
    with gankit_warnings() as records:
        dataset = load(tmp_path / "img", tmp_path, size=32)
    assert len(dataset) == 3 and all(f.startswith("ok/") for f in dataset.files)
    skipped = dict(dataset.skipped)
    assert set(skipped) == {"bad/bomb.png", "bad/empty.png", "bad/huge.png", "bad/text.jpg", "bad/truncated.png"}
    assert "decompression-bomb" in skipped["bad/bomb.png"]
    warnings = [r.getMessage() for r in records]
    assert len(warnings) == 1 and "skipped 5 of 8 image files" in warnings[0]
    assert "bad/bomb.png" in warnings[0] and "bad/truncated.png" in warnings[0]
    # The cached load reports the same skips (the manifest remembers them) without decoding.
    with gankit_warnings() as records:
        assert len(load(tmp_path / "img", tmp_path, size=32)) == 3
    assert len(records) == 1 and "skipped 5 of 8" in records[0].getMessage()


def test_the_warning_names_the_first_few_and_counts_the_rest(tmp_path):
    (tmp_path / "img").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "img" / "good.png")
    for i in range(8):
        (tmp_path / "img" / f"broken{i}.png").write_bytes(b"nope")
    with gankit_warnings() as records:
        load(tmp_path / "img", tmp_path, size=32)
    message = records[0].getMessage()
    assert "skipped 8 of 9" in message and "broken4.png" in message and "broken5.png" not in message and "and 3 more" in message


@pytest.mark.skipif(os.name != "posix", reason="byte file names")
def test_odd_file_names_are_loaded_and_printed_safely(tmp_path):
    folder = tmp_path / "img"
    folder.mkdir()
    Image.new("RGB", (32, 32), RED).save(os.path.join(os.fsencode(folder), b"caf\xe9 ok.png"))  # not UTF-8
    (folder / "line\nbreak.png").write_bytes(b"broken")
    with gankit_warnings() as records:
        dataset = load(folder, tmp_path, size=32)
    assert len(dataset) == 1 and (pixels(dataset) == RED).all()
    message = records[0].getMessage()
    assert "\n" not in message and "line\\nbreak.png" in message
    assert len(load(folder, tmp_path, size=32)) == 1  # the manifest round-trips the names


def test_no_usable_image_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files"):
        load(tmp_path / "empty", tmp_path)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "a.png").write_bytes(b"x")
    with pytest.raises(DataError, match="none of the 1 image files could be decoded.*a.png"):
        load(tmp_path / "broken", tmp_path)
    with pytest.raises(DataError, match="not found"):
        load(tmp_path / "missing", tmp_path)


@pytest.mark.parametrize("options,match", [
    ({"size": 16}, "image_size"), ({"size": 300}, "image_size"), ({"channels": 2}, "channels"),
    ({"fit": "stretch"}, "fit"), ({"background": (0, 0, 300)}, "background"),
])
def test_bad_options_name_the_key(options, match):
    with pytest.raises(ConfigError, match=match):
        ImageOptions(**options)


def test_colours():
    assert parse_color("white") == (255, 255, 255)
    assert parse_color("#102030") == (16, 32, 48)
    assert parse_color([1, 2, 3]) == (1, 2, 3)
    with pytest.raises(ConfigError, match="not a colour"):
        parse_color("blurple-ish")


# ------------------------------------------------------------ from a config
def test_load_data_reads_the_data_section(tmp_path):
    _make_tree(tmp_path / "img", {"a": 12, "b": 12}, size=48)
    cfg = config_from_dict({"data": {"name": "folder", "folder": str(tmp_path / "img"), "dir": str(tmp_path / "root"),
                                     "image_size": 32, "channels": 1, "fit": "pad"}})
    train = load_data(cfg.data, "train")
    assert train.img_shape == (1, 32, 32) and train.class_names == ("a", "b")
    assert (tmp_path / "root" / "cache" / "folders").is_dir()  # the cache lives under the data root


def test_image_options_are_refused_for_fixed_datasets():
    cfg = config_from_dict({"data": {"name": "squares", "image_size": 64}})
    with pytest.raises(ConfigError, match="data.image_size"):
        load_data(cfg.data)
    cfg = config_from_dict({"data": {"name": "folder"}})
    with pytest.raises(ConfigError, match="data.folder"):
        load_data(cfg.data)


def test_train_cli_on_a_folder(tmp_path, capsys):
    from gankit.cli import main

    _make_tree(tmp_path / "img", {"a": 20, "b": 20})
    args = ["train", "--set", "data.name=folder", "--set", f"data.folder={tmp_path / 'img'}", "--set", "data.image_size=32",
            "--set", "model.options={g_hidden: [16], d_hidden: [16]}", "--set", "train.batch_size=8",
            "--data-dir", str(tmp_path / "root"), "--max-steps", "2", "--no-progress"]
    config = tmp_path / "c.yaml"
    config.write_text("model: {name: mlp, latent_dim: 8}\n")
    assert main([args[0], str(config), "--run-dir", str(tmp_path / "run"), *args[1:]]) == 0
    assert (tmp_path / "run" / "samples" / "final.png").is_file()
    bad = ["train", str(config), "--run-dir", str(tmp_path / "run2"), "--set", "data.name=folder",
           "--set", f"data.folder={tmp_path / 'nowhere'}", "--data-dir", str(tmp_path / "root"), "--no-progress"]
    capsys.readouterr()
    assert main(bad) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gankit: error:") and "not found" in err[0]
