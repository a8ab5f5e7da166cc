"""MedMNIST from files the tests write in the official .npz layout (random arrays, not medical images) (pytest run)."""

import hashlib
import io

import numpy as np
import pytest
import torch

from gankit.data import DATASETS, load_dataset
from gankit.data import medmnist as med
from gankit.errors import ConfigError, DataError

COUNTS = {"train": 12, "val": 3, "test": 5}


def official_layout(channels: int, classes: int, size: int = 28, seed: int = 0, label_columns: int = 1) -> dict[str, np.ndarray]:
    """Arrays with MedMNIST's keys, dtypes and shapes: uint8 (N, S, S[, 3]) images, (N, 1) labels."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in COUNTS.items():
        shape = (n, size, size) if channels == 1 else (n, size, size, 3)
        arrays[f"{split}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, classes, (n, label_columns), dtype=np.uint8)
    return arrays


def write(root, name: str, arrays: dict[str, np.ndarray]):
    path = root / "medmnist" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return path


@pytest.fixture(autouse=True)
def no_medmnist_home(tmp_path, monkeypatch):
    """Neither ~/.medmnist nor the network is consulted unless a test says so."""
    monkeypatch.setattr(med, "MEDMNIST_HOME", tmp_path / "no-home")
    monkeypatch.setenv("GANKIT_OFFLINE", "1")


def test_a_gray_set_reads_every_split_with_its_labels_and_class_names(tmp_path):
    arrays = official_layout(channels=1, classes=2)
    path = write(tmp_path, "pneumoniamnist.npz", arrays)
    for split, n in COUNTS.items():
        data = med.load_medmnist("pneumoniamnist", split, tmp_path)
        assert data.images.dtype == torch.uint8 and data.images.shape == (n, 1, 28, 28)
        np.testing.assert_array_equal(data.images[:, 0].numpy(), arrays[f"{split}_images"])
        np.testing.assert_array_equal(data.labels.numpy(), arrays[f"{split}_labels"][:, 0].astype(np.int64))
        assert data.labels.dtype == torch.int64
        assert data.num_classes == 2 and data.class_names == ("normal", "pneumonia")
        assert str(path) in data.source


def test_a_colour_set_becomes_channels_first(tmp_path):
    arrays = official_layout(channels=3, classes=8, seed=1)
    write(tmp_path, "bloodmnist.npz", arrays)
    data = load_dataset("medmnist", "test", tmp_path, flag="bloodmnist")
    assert data.images.shape == (5, 3, 28, 28)
    original = arrays["test_images"]  # (N, H, W, 3)
    assert int(data.images[2, 1, 5, 7]) == int(original[2, 5, 7, 1])
    np.testing.assert_array_equal(data.images.permute(0, 2, 3, 1).numpy(), original)
    assert data.num_classes == 8


def test_each_flag_is_also_a_dataset_of_its_own(tmp_path):
    write(tmp_path, "bloodmnist.npz", official_layout(channels=3, classes=8, seed=2))
    assert set(med.MEDMNIST) <= set(DATASETS.names())
    by_name = load_dataset("bloodmnist", "train", tmp_path)
    by_flag = load_dataset("medmnist", "train", tmp_path, flag="bloodmnist")
    assert torch.equal(by_name.images, by_flag.images) and torch.equal(by_name.labels, by_flag.labels)


def test_size_64_reads_the_64_pixel_file(tmp_path):
    write(tmp_path, "breastmnist_64.npz", official_layout(channels=1, classes=2, size=64, seed=3))
    data = load_dataset("medmnist", "train", tmp_path, flag="breastmnist", size=64)
    assert data.images.shape == (12, 1, 64, 64)


def test_chestmnist_multi_label_findings_load_unlabelled(tmp_path):
    write(tmp_path, "chestmnist.npz", official_layout(channels=1, classes=2, label_columns=14, seed=4))
    data = med.load_medmnist("chestmnist", "train", tmp_path)
    assert data.labels is None and data.num_classes == 0
    assert "14 findings" in data.source


def test_the_medmnist_package_folder_is_read_when_the_data_root_has_no_file(tmp_path, monkeypatch):
    home = tmp_path / "home-medmnist"
    home.mkdir()
    np.savez_compressed(home / "retinamnist.npz", **official_layout(channels=3, classes=5, seed=5))
    monkeypatch.setattr(med, "MEDMNIST_HOME", home)
    assert med.load_medmnist("retinamnist", "val", tmp_path / "root").images.shape == (3, 3, 28, 28)


def test_offline_without_the_file_says_where_to_put_it(tmp_path):
    with pytest.raises(DataError) as caught:
        med.load_medmnist("dermamnist", "train", tmp_path)
    message = str(caught.value)
    assert "https://zenodo.org/records/10519652/files/dermamnist.npz?download=1" in message
    assert str(tmp_path / "medmnist" / "dermamnist.npz") in message
    assert med.MEDMNIST["dermamnist"].md5[28] in message
    assert not (tmp_path / "medmnist").exists()  # nothing half-made


class FakeResponse(io.BytesIO):
    def __enter__(self):
        return self


def serve(monkeypatch, payload: bytes, seen: list):
    monkeypatch.setattr(med, "_network_allows", lambda url: True)

    def urlopen(url, timeout):
        seen.append(url)
        return FakeResponse(payload)

    monkeypatch.setattr(med.urllib.request, "urlopen", urlopen)


def npz_bytes(arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def test_a_download_is_checked_against_the_md5_and_kept(tmp_path, monkeypatch):
    payload = npz_bytes(official_layout(channels=1, classes=11, seed=6))
    seen: list[str] = []
    serve(monkeypatch, payload, seen)
    info = med.MEDMNIST["organsmnist"]
    monkeypatch.setitem(med.MEDMNIST, "organsmnist", med.MedMNISTInfo(
        info.channels, info.classes, {28: hashlib.md5(payload).hexdigest(), 64: info.md5[64]}, info.counts))
    data = med.load_medmnist("organsmnist", "test", tmp_path)
    assert seen == ["https://zenodo.org/records/10519652/files/organsmnist.npz?download=1"]
    assert data.images.shape == (5, 1, 28, 28) and data.num_classes == 11
    assert (tmp_path / "medmnist" / "organsmnist.npz").read_bytes() == payload
    assert [p.name for p in (tmp_path / "medmnist").iterdir()] == ["organsmnist.npz"]


def test_a_download_with_the_wrong_md5_leaves_nothing(tmp_path, monkeypatch):
    serve(monkeypatch, npz_bytes(official_layout(channels=1, classes=11, seed=7)), [])
    with pytest.raises(DataError, match="MD5 .* is not MedMNIST's 9ab87b696fb54e2a387ebe992d6ed5f1"):
        med.load_medmnist("organsmnist", "test", tmp_path)
    assert list((tmp_path / "medmnist").iterdir()) == []


def test_unknown_flags_sizes_and_splits_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="not one of the 2D sets: pathmnist, chestmnist"):
        med.load_medmnist("organmnist3d", "train", tmp_path)
    with pytest.raises(ConfigError, match="choose one of: 28, 64"):
        med.load_medmnist("pathmnist", "train", tmp_path, size=32)
    with pytest.raises(ConfigError, match="choose one of: train, val, test"):
        med.load_medmnist("pathmnist", "all", tmp_path)


def test_files_that_are_not_official_medmnist_files_are_refused(tmp_path):
    arrays = official_layout(channels=1, classes=2)
    write(tmp_path, "pneumoniamnist.npz", {k: v for k, v in arrays.items() if k != "test_labels"})
    with pytest.raises(DataError, match="no test_labels in the file"):
        med.load_medmnist("pneumoniamnist", "test", tmp_path)

    write(tmp_path, "pneumoniamnist.npz", {**arrays, "train_images": arrays["train_images"].astype(np.float32)})
    with pytest.raises(DataError, match=r"train_images must be uint8 \(N, 28, 28\), got float32"):
        med.load_medmnist("pneumoniamnist", "train", tmp_path)

    write(tmp_path, "pneumoniamnist.npz", {**arrays, "train_labels": np.full((12, 1), 2, dtype=np.uint8)})
    with pytest.raises(DataError, match="outside 0..1"):
        med.load_medmnist("pneumoniamnist", "train", tmp_path)

    objects = np.empty(12, dtype=object)
    objects[:] = [{"x": 1}] * 12
    write(tmp_path, "pneumoniamnist.npz", {**arrays, "train_images": objects})
    with pytest.raises(DataError, match="cannot read it as a MedMNIST .npz"):  # allow_pickle=False: never unpickled
        med.load_medmnist("pneumoniamnist", "train", tmp_path)

    (tmp_path / "medmnist" / "pneumoniamnist.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="cannot read it"):
        med.load_medmnist("pneumoniamnist", "train", tmp_path)
