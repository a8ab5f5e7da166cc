"""MedMNIST: twelve 2D biomedical image sets at 28x28 (or 64x64), read from their official ``.npz`` files.

Yang et al., "MedMNIST v2 - A large-scale lightweight benchmark for 2D and 3D biomedical image
classification", Scientific Data 2023. The files are the ones MedMNIST publishes on Zenodo
(record 10519652, MedMNIST v3): ``{flag}.npz`` (28x28) and ``{flag}_64.npz`` (64x64), each holding
``train_images``, ``train_labels``, ``val_images``, ``val_labels``, ``test_images`` and ``test_labels``:
uint8 images (N, S, S) for gray sets or (N, S, S, 3) for colour ones, labels (N, 1) (ChestMNIST:
(N, 14), one 0/1 column per finding).

gankit looks for the file in ``<data root>/medmnist/``, then in ``~/.medmnist/`` (where the
``medmnist`` package keeps it); when neither has it, it downloads it from Zenodo (checking the MD5
MedMNIST lists) or, offline, says where to put it. The file is read with
``numpy.load(allow_pickle=False)``: an array of Python objects is refused, never unpickled.

Datasets: ``medmnist`` with the options ``flag`` (default ``pathmnist``) and ``size`` (28 or 64),
and each flag under its own name (``bloodmnist``, ...) at 28x28, which is how a training config
names one (``--set data.name=bloodmnist``). Splits ``train`` and ``test`` through
:func:`gankit.data.load_dataset`; :func:`load_medmnist` also reads ``val``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gankit.data.base import ImageDataset
from gankit.data.mnist import _network_allows
from gankit.data.registry import register_dataset
from gankit.errors import ConfigError, DataError

log = logging.getLogger("gankit")

ZENODO_RECORD = "https://zenodo.org/records/10519652/files"
MEDMNIST_HOME = Path.home() / ".medmnist"
"""Where the ``medmnist`` Python package downloads its files; read when the data root has none."""
MEDMNIST_SPLITS = ("train", "val", "test")
SIZES = (28, 64)
DOWNLOAD_TIMEOUT_S = 60

_ORGANS = ("bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right", "liver", "lung-left",
           "lung-right", "pancreas", "spleen")


@dataclass(frozen=True)
class MedMNISTInfo:
    """What MedMNIST's ``INFO`` table says about one 2D set.

    Attributes:
        channels: 1 (gray) or 3 (RGB).
        classes: the class names, index = label; for ChestMNIST the 14 findings of its multi-label task.
        multi_label: the labels are (N, 14) 0/1 findings rather than one class per image.
        md5: MD5 of the official file at 28 and at 64 pixels.
        counts: images in train / val / test.
        license: the data licence.
    """

    channels: int
    classes: tuple[str, ...]
    md5: dict[int, str]
    counts: tuple[int, int, int]
    license: str = "CC BY 4.0"
    multi_label: bool = False


MEDMNIST: dict[str, MedMNISTInfo] = {
    "pathmnist": MedMNISTInfo(3, ("adipose", "background", "debris", "lymphocytes", "mucus", "smooth muscle",
                                  "normal colon mucosa", "cancer-associated stroma", "colorectal adenocarcinoma epithelium"),
                              {28: "a8b06965200029087d5bd730944a56c1", 64: "55aa9c1e0525abe5a6b9d8343a507616"}, (89996, 10004, 7180)),
    "chestmnist": MedMNISTInfo(1, ("atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule", "pneumonia",
                                   "pneumothorax", "consolidation", "edema", "emphysema", "fibrosis", "pleural", "hernia"),
                               {28: "02c8a6516a18b556561a56cbdd36c4a8", 64: "9de6cd0b934ebb5b7426cfba5efbae16"}, (78468, 11219, 22433),
                               multi_label=True),
    "dermamnist": MedMNISTInfo(3, ("actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
                                   "benign keratosis-like lesions", "dermatofibroma", "melanoma", "melanocytic nevi", "vascular lesions"),
                               {28: "0744692d530f8e62ec473284d019b0c7", 64: "b70a2f5635c6199aeaa28c31d7202e1f"}, (7007, 1003, 2005),
                               license="CC BY-NC 4.0"),
    "octmnist": MedMNISTInfo(1, ("choroidal neovascularization", "diabetic macular edema", "drusen", "normal"),
                             {28: "c68d92d5b585d8d81f7112f81e2d0842", 64: "e229e9440236b774d9f0dfef9d07bdaf"}, (97477, 10832, 1000)),
    "pneumoniamnist": MedMNISTInfo(1, ("normal", "pneumonia"),
                                   {28: "28209eda62fecd6e6a2d98b1501bb15f", 64: "8f4eceb4ccffa70c672198ea285246c6"}, (4708, 524, 624)),
    "retinamnist": MedMNISTInfo(3, ("grade 0", "grade 1", "grade 2", "grade 3", "grade 4"),
                                {28: "bd4c0672f1bba3e3a89f0e4e876791e4", 64: "afda852cc34dcda56f86ad2b2457dbcc"}, (1080, 120, 400)),
    "breastmnist": MedMNISTInfo(1, ("malignant", "normal, benign"),
                                {28: "750601b1f35ba3300ea97c75c52ff8f6", 64: "742edef2a1fd1524b2efff4bd7ba9364"}, (546, 78, 156)),
    "bloodmnist": MedMNISTInfo(3, ("basophil", "eosinophil", "erythroblast", "immature granulocytes", "lymphocyte", "monocyte",
                                   "neutrophil", "platelet"),
                               {28: "7053d0359d879ad8a5505303e11de1dc", 64: "2b94928a2ae4916078ca51e05b6b800b"}, (11959, 1712, 3421)),
    "tissuemnist": MedMNISTInfo(1, ("collecting duct, connecting tubule", "distal convoluted tubule", "glomerular endothelial cells",
                                    "interstitial endothelial cells", "leukocytes", "podocytes", "proximal tubule segments",
                                    "thick ascending limb"),
                                {28: "ebe78ee8b05294063de985d821c1c34b", 64: "123ece2eba09d0aa5d698fda57103344"}, (165466, 23640, 47280)),
    "organamnist": MedMNISTInfo(1, _ORGANS, {28: "68e3f8846a6bd62f0c9bf841c0d9eacc", 64: "2dcccc29b88e6da5a01161ef20cda288"},
                                (34561, 6491, 17778)),
    "organcmnist": MedMNISTInfo(1, _ORGANS, {28: "b9ceb9546e10131b32923c5bbeaea2b1", 64: "3ce34a8724ea6f548e6db4744d03b6a9"},
                                (12975, 2392, 8216)),
    "organsmnist": MedMNISTInfo(1, _ORGANS, {28: "9ab87b696fb54e2a387ebe992d6ed5f1", 64: "53a6d115339d874c25e309a994ff46d3"},
                                (13932, 2452, 8827)),
}


def file_name(flag: str, size: int = 28) -> str:
    """``bloodmnist.npz`` at 28 pixels, ``bloodmnist_64.npz`` at 64."""
    return f"{flag}.npz" if size == 28 else f"{flag}_{size}.npz"


def download_url(flag: str, size: int = 28) -> str:
    return f"{ZENODO_RECORD}/{file_name(flag, size)}?download=1"


def _check_options(flag: str, size: int, split: str) -> MedMNISTInfo:
    if flag not in MEDMNIST:
        raise ConfigError(f"MedMNIST flag {flag!r} is not one of the 2D sets: {', '.join(MEDMNIST)}")
    if size not in SIZES:
        raise ConfigError(f"MedMNIST size {size!r} is not allowed; choose one of: {', '.join(map(str, SIZES))}")
    if split not in MEDMNIST_SPLITS:
        raise ConfigError(f"split {split!r} is not allowed; choose one of: {', '.join(MEDMNIST_SPLITS)}")
    return MEDMNIST[flag]


def find_file(flag: str, size: int, root: Path) -> Path | None:
    """The official file in ``<root>/medmnist/`` or ``~/.medmnist/``, else None."""
    for directory in (root / "medmnist", MEDMNIST_HOME):
        path = directory / file_name(flag, size)
        if path.is_file():
            return path
    return None


def fetch_medmnist(flag: str, size: int, root: Path) -> Path:
    """Download the official file into ``<root>/medmnist/``, checking its MD5; nothing is left behind on failure."""
    info = _check_options(flag, size, "train")
    url = download_url(flag, size)
    target = root / "medmnist" / file_name(flag, size)
    if not _network_allows(url):
        raise DataError(
            f"MedMNIST {file_name(flag, size)} is not in {target.parent} or {MEDMNIST_HOME}, and {url.split('/files')[0]} "
            f"cannot be reached (offline or GANKIT_OFFLINE set): download {url} (MD5 {info.md5[size]}) where there is "
            f"network and copy it to {target}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    digest = hashlib.md5()
    log.info("downloading MedMNIST %s from %s", file_name(flag, size), url)
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != info.md5[size]:
            raise DataError(f"{url}: MD5 {digest.hexdigest()} is not MedMNIST's {info.md5[size]}; the download is corrupt, try again")
        os.replace(partial, target)
    except OSError as exc:
        raise DataError(f"cannot download {url} ({exc.__class__.__name__}: {exc}); copy the file to {target} by hand") from None
    finally:
        partial.unlink(missing_ok=True)
    return target


def _read_split(path: Path, split: str, info: MedMNISTInfo, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) of ``split`` from an official file, checked against MedMNIST's layout."""
    keys = (f"{split}_images", f"{split}_labels")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in keys if key not in archive.files]
            if missing:
                raise DataError(f"{path}: no {', '.join(missing)} in the file (it has {', '.join(archive.files) or 'nothing'}); "
                                f"not an official MedMNIST file")
            images, labels = archive[keys[0]], archive[keys[1]]
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:  # truncated, not a zip, or object arrays
        raise DataError(f"{path}: cannot read it as a MedMNIST .npz ({exc.__class__.__name__}: {exc})") from None
    shape = (size, size) if info.channels == 1 else (size, size, 3)
    if images.dtype != np.uint8 or images.shape[1:] != shape:
        raise DataError(f"{path}: {split}_images must be uint8 (N, {', '.join(map(str, shape))}), got {images.dtype} {images.shape}")
    columns = len(info.classes) if info.multi_label else 1
    if labels.ndim != 2 or labels.shape != (len(images), columns) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: {split}_labels must be integer ({len(images)}, {columns}), got {labels.dtype} {labels.shape}")
    top = 1 if info.multi_label else len(info.classes) - 1
    if labels.size and (labels.min() < 0 or labels.max() > top):
        raise DataError(f"{path}: {split}_labels holds values outside 0..{top}; the file is corrupt")
    return images, labels


def load_medmnist(flag: str, split: str, root: Path, size: int = 28) -> ImageDataset:
    """One split (``train``, ``val`` or ``test``) of a MedMNIST 2D set, fetched when missing.

    Returns:
        images (N, C, S, S) uint8 (C = 1 or 3, S = ``size``), labels (N,) int64; ChestMNIST has no
        single class per image (its labels are 14 findings) and is returned unlabelled.
    """
    info = _check_options(flag, size, split)
    path = find_file(flag, size, root) or fetch_medmnist(flag, size, root)
    images, labels = _read_split(path, split, info, size)
    tensor = torch.from_numpy(images)
    tensor = tensor.unsqueeze(1) if info.channels == 1 else tensor.permute(0, 3, 1, 2)  # (N, C, S, S)
    source = f"MedMNIST {flag} {size}x{size} {split} ({info.license}) from {path}"
    if info.multi_label:
        return ImageDataset(f"medmnist-{flag}", tensor.contiguous(), source=source + "; unlabelled: its labels are 14 findings")
    return ImageDataset(f"medmnist-{flag}", tensor.contiguous(), torch.from_numpy(labels[:, 0].astype(np.int64)),
                        num_classes=len(info.classes), source=source, class_names=info.classes)


@register_dataset("medmnist")
def medmnist(split: str, root: Path, *, flag: str = "pathmnist", size: int = 28) -> ImageDataset:
    """A MedMNIST 2D set (``flag``: pathmnist, bloodmnist, ...) at ``size`` 28 or 64, from its official ``.npz``."""
    return load_medmnist(flag, split, root, size)


def _register_flag(flag: str) -> None:
    def dataset(split: str, root: Path) -> ImageDataset:
        return load_medmnist(flag, split, root)

    dataset.__doc__ = f"MedMNIST {flag} (28x28), from its official {flag}.npz."
    register_dataset(flag)(dataset)


for _flag in MEDMNIST:
    _register_flag(_flag)
