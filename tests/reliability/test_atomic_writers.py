"""Every file gankit keeps outside a run's checkpoints is written through gankit.run.files.atomic_path.

Each writer is run twice: once normally, then with the disk failing at the fsync that comes
before the rename. The second write must raise, leave the first file byte for byte as it was,
and leave no temporary file behind.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.metrics import Features
from gankit.run import files as run_files


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def _fail_fsync(monkeypatch) -> None:
    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(run_files.os, "fsync", full_disk)


def _second_write_fails_and_keeps_the_first(monkeypatch, directory: Path, write) -> dict[str, bytes]:
    write(0)
    before = _snapshot(directory)
    assert before and not any(".tmp" in name for name in before)
    with monkeypatch.context() as patch:
        _fail_fsync(patch)
        with pytest.raises(OSError) as caught:
            write(1)
    assert caught.value.errno == errno.ENOSPC
    assert _snapshot(directory) == before  # the old files intact, no temporary file left
    return before


def test_write_idx(tmp_path, monkeypatch):
    from gankit.data.idx import read_idx, write_idx

    arrays = [np.arange(24, dtype=np.uint8).reshape(2, 3, 4), np.full((5, 3, 4), 7, dtype=np.uint8)]
    path = tmp_path / "images-idx3-ubyte"
    before = _second_write_fails_and_keeps_the_first(monkeypatch, tmp_path, lambda i: write_idx(arrays[i], path))
    # The IDX layout by hand: two zero bytes, type 0x08 (uint8), the rank, each size as 4 big-endian bytes, the data.
    header = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + (4).to_bytes(4, "big")
    assert before == {path.name: header + bytes(range(24))}
    np.testing.assert_array_equal(read_idx(path), arrays[0])


def test_image_folder_cache(tmp_path, monkeypatch):
    from gankit.data.folder import ImageOptions, load_image_folder

    folder, cache = tmp_path / "pictures", tmp_path / "cache"
    folder.mkdir()
    for index in range(12):
        Image.new("RGB", (32, 32), (20 * index, 0, 0)).save(folder / f"{index:02d}.png")

    def decode(attempt):
        (folder / "extra.png").unlink(missing_ok=True)
        if attempt:  # a changed folder: the cache is decoded again
            Image.new("RGB", (32, 32), (0, 0, 255)).save(folder / "extra.png")
        return load_image_folder(folder, ImageOptions(size=32, channels=3), cache_root=cache)

    dataset = decode(0)
    before = _snapshot(cache)
    (entry,) = {name.split("/")[0] for name in before}
    assert sorted(before) == [f"{entry}/images.u8", f"{entry}/manifest.json"]
    manifest = json.loads(before[f"{entry}/manifest.json"])
    assert manifest["num_images"] == 12 and len(before[f"{entry}/images.u8"]) == 12 * 3 * 32 * 32
    # images.u8 holds the train split, then the test split, each image as its pixels (C, H, W).
    order = manifest["kept"]
    expected = b"".join(bytes([20 * int(name[:2])] * 1024 + [0] * 2048) for name in order)
    assert before[f"{entry}/images.u8"] == expected and len(dataset) == manifest["num_train"]
    del dataset
    with monkeypatch.context() as patch:
        _fail_fsync(patch)
        with pytest.raises(OSError):
            decode(1)
    after = _snapshot(cache)
    assert after[f"{entry}/images.u8"] == before[f"{entry}/images.u8"]  # the old images, no temporary files
    assert sorted(after) == [f"{entry}/images.u8"]  # the manifest is removed first: the entry is decoded again next time


def test_evaluator_files(tmp_path, monkeypatch):
    from gankit.metrics.evaluator import DomainEvaluator, EvaluatorNet, load_evaluator_dir, save_evaluator

    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    torch.manual_seed(0)
    nets = [EvaluatorNet((1, 8, 8), 3, (4, 8), 8, 0.0) for _ in range(2)]
    meta = {"dataset": "squares", "key": "ab" * 32, "config": {"channels": [4, 8], "feature_dim": 8, "dropout": 0.0},
            "img_shape": [1, 8, 8], "num_classes": 3}
    written = []
    _second_write_fails_and_keeps_the_first(
        monkeypatch, tmp_path, lambda i: written.append(save_evaluator(DomainEvaluator(nets[i], {**meta, "attempt": i}))))
    assert json.loads((written[0] / "evaluator.json").read_text())["attempt"] == 0
    loaded = load_evaluator_dir(written[0]).net.state_dict()
    for name, value in nets[0].state_dict().items():
        torch.testing.assert_close(loaded[name], value, rtol=0, atol=0)


class _Mean:
    """A feature extractor that is not the identity (whose features are never cached)."""

    id = "mean-test"

    def __call__(self, images: torch.Tensor) -> Features:
        return Features(images.double().mean(dim=(2, 3)))


def test_real_statistics_cache(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from gankit.metrics.stats_cache import real_features

    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    nums = [64, 32]
    _second_write_fails_and_keeps_the_first(monkeypatch, tmp_path, lambda i: real_features("squares", "train", _Mean(), nums[i]))
    (path,) = (tmp_path / "stats").iterdir()
    stored = load_file(str(path))
    assert stored["features"].shape == (64, 1) and stored["mean"].shape == (1,)


def test_best_fid(tmp_path, monkeypatch):
    from gankit.evaluation.monitor import FIDMonitor
    from gankit.run import RunDir

    monitor = FIDMonitor("squares", None, 10, tmp_path)
    checkpoints = ["checkpoints/ckpt-000000010.ckpt", "checkpoints/ckpt-000000020.ckpt"]
    _second_write_fails_and_keeps_the_first(monkeypatch, tmp_path, lambda i: monitor.is_best(4.0 - i, 10 * (i + 1), checkpoints[i]))
    assert (tmp_path / "best.json").read_text() == '{"step": 10, "fid": 4.0, "checkpoint": "checkpoints/ckpt-000000010.ckpt"}\n'
    assert RunDir(tmp_path).read_best() == {"step": 10, "fid": 4.0, "checkpoint": checkpoints[0]}


def test_training_curves(tmp_path, monkeypatch):
    from gankit.training.plots import plot_training_curves

    metrics, out = tmp_path / "metrics.jsonl", tmp_path / "plots" / "loss_curve.png"
    out.parent.mkdir()
    keys = ("d_loss", "g_loss", "d_real", "d_fake", "grad_norm_d", "grad_norm_g")
    metrics.write_text("".join(json.dumps({"step": s, **{k: 0.5 + s for k in keys}}) + "\n" for s in range(1, 4)))
    _second_write_fails_and_keeps_the_first(monkeypatch, out.parent, lambda i: plot_training_curves(metrics, out))
    with Image.open(out) as picture:
        assert picture.format == "PNG"
