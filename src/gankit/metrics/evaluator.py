"""The domain evaluator: a small CNN classifier of the dataset's labelled images, and its cache.

Its penultimate layer gives the features for FID, KID, precision/recall and
density/coverage, its softmax the class probabilities for the Inception-style
score and the class histogram. Unlike ImageNet's Inception-V3 it fits the
domain (28x28 digits, clothes, ...), needs no download, and reports its own
held-out accuracy so a user can see that its features mean something.

:mod:`gankit.evaluation.evaluator_training` trains it (deterministically, on one thread); this
module holds the network, the recipe that keys it, and the cache. The weights are saved as
``evaluator.safetensors`` + ``evaluator.json`` under ``$GANKIT_CACHE/evaluators/<dataset>-<key>/``
(default ``~/.cache/gankit``), where ``key`` hashes the training data, the architecture and the
recipe; loading never unpickles.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F

from gankit.data import DatasetSpec, ImageDataset, to_unit_range
from gankit.errors import ConfigError, GankitError, first_line
from gankit.metrics import Features
from gankit.run.files import atomic_path, atomic_write

ARCH_VERSION = 1


class EvaluatorMissingError(GankitError):
    """No trained domain evaluator is cached for a dataset."""


def cache_root() -> Path:
    """``$GANKIT_CACHE``, else ``~/.cache/gankit``."""
    return Path(os.environ.get("GANKIT_CACHE") or Path.home() / ".cache" / "gankit").expanduser()


@dataclass(frozen=True)
class EvaluatorConfig:
    """Architecture and training recipe; every field is part of the cache key."""

    channels: tuple[int, int] = (32, 64)
    feature_dim: int = 128
    dropout: float = 0.3
    epochs: int | None = None
    """Passes over the training split; None: enough for about 160,000 images (8 to 30 epochs)."""
    label_smoothing: float = 0.0
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    shift: int = 2
    """Random translation of up to ``shift`` pixels (zero padding) as augmentation."""
    seed: int = 0


class EvaluatorNet(nn.Module):
    """images (B, C, H, W) in [-1, 1] -> logits (B, K); ``features`` gives the (B, feature_dim) penultimate layer.

    Two 3x3 conv-BN-ReLU layers, each followed by 2x2 max pooling, then a fully
    connected ReLU layer (the features), dropout and the linear classifier.
    """

    def __init__(self, img_shape: tuple[int, int, int], num_classes: int, channels: tuple[int, int] = (32, 64),
                 feature_dim: int = 128, dropout: float = 0.3) -> None:
        super().__init__()
        self.img_shape = tuple(img_shape)
        c_in, height, width = self.img_shape
        c1, c2 = channels

        def block(a: int, b: int) -> list[nn.Module]:
            return [nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True)]

        self.conv = nn.Sequential(*block(c_in, c1), nn.MaxPool2d(2), *block(c1, c2), nn.MaxPool2d(2))  # (B, c2, H/4, W/4)
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(c2 * (height // 4) * (width // 4), feature_dim), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(feature_dim, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        assert tuple(images.shape[1:]) == self.img_shape, f"expected images (B, {self.img_shape}), got {tuple(images.shape)}"
        return self.embed(self.conv(images))  # (B, feature_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.features(images)))  # (B, K)


def data_digest(dataset: ImageDataset) -> str:
    """SHA-256 of a dataset's images and labels (what the evaluator learns from)."""
    digest = hashlib.sha256()
    digest.update(dataset.images.contiguous().numpy().tobytes())
    if dataset.labels is not None:
        digest.update(dataset.labels.contiguous().numpy().tobytes())
    return digest.hexdigest()


def evaluator_key(train: ImageDataset, cfg: EvaluatorConfig) -> str:
    """A hash of the training data, the architecture and the recipe (with the epochs resolved)."""
    if cfg.epochs is None:
        cfg = dataclasses.replace(cfg, epochs=auto_epochs(len(train)))
    payload = {
        "arch_version": ARCH_VERSION,
        "dataset": train.name,
        "data": data_digest(train),
        "img_shape": list(train.img_shape),
        "num_classes": train.num_classes,
        "config": dataclasses.asdict(cfg),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class DomainEvaluator:
    """A trained :class:`EvaluatorNet` plus what it was trained on; called like a feature extractor."""

    def __init__(self, net: EvaluatorNet, meta: dict[str, Any]) -> None:
        self.net = net.eval()
        self.meta = meta
        self.id = f"evaluator-{meta['key'][:16]}"

    @property
    def accuracy(self) -> float:
        return float(self.meta["test_accuracy"])

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, batch_size: int = 1000) -> Features:
        """uint8 (N, C, H, W) images -> features (N, F) and class probabilities (N, K)."""
        if images.dtype != torch.uint8 or tuple(images.shape[1:]) != self.net.img_shape:
            raise ConfigError(
                f"the {self.meta['dataset']} evaluator takes uint8 images (N, {', '.join(map(str, self.net.img_shape))}), "
                f"got {images.dtype} {tuple(images.shape)}"
            )
        feats, probs = [], []
        for start in range(0, len(images), batch_size):
            x = to_unit_range(images[start:start + batch_size])
            h = self.net.features(x)
            feats.append(h)
            probs.append(F.softmax(self.net.classifier(h), dim=1))
        return Features(torch.cat(feats).double(), torch.cat(probs).double())

    @torch.no_grad()
    def accuracy_on(self, dataset: ImageDataset) -> float:
        predicted = self(dataset.images).probs.argmax(dim=1)
        return float((predicted == dataset.labels).double().mean())


def auto_epochs(num_images: int) -> int:
    """Epochs that show the network about 160,000 images, at least 8 and at most 30."""
    return max(8, min(30, math.ceil(160_000 / num_images)))


def evaluator_dir(dataset: str, key: str) -> Path:
    return cache_root() / "evaluators" / f"{dataset}-{key[:16]}"


def seeded_evaluator_dir(dataset: str, key: str) -> Path:
    """The cache folder of an evaluator trained from a seed other than the default recipe's, for scoring runs trained
    against the default evaluator's features: ``evaluators/seeds/``, where :func:`load_evaluator` (which takes the most
    accurate evaluator of ``evaluators/``) never picks it up."""
    return cache_root() / "evaluators" / "seeds" / f"{dataset}-{key[:16]}"


def save_evaluator(evaluator: DomainEvaluator, directory: str | os.PathLike | None = None) -> Path:
    """Write ``evaluator.safetensors`` and ``evaluator.json`` (atomically) into ``directory`` (default: the cache folder
    of its key, :func:`evaluator_dir`)."""
    directory = Path(directory) if directory is not None else evaluator_dir(evaluator.meta["dataset"], evaluator.meta["key"])
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in evaluator.net.state_dict().items()}
    with atomic_path(directory / "evaluator.safetensors") as tmp:
        save_file(state, str(tmp))
    atomic_write(directory / "evaluator.json", json.dumps(evaluator.meta, indent=2) + "\n")
    return directory


def load_evaluator_dir(directory: str | os.PathLike) -> DomainEvaluator:
    """Rebuild an evaluator from its cache folder (JSON + safetensors, no pickles)."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / "evaluator.json").read_text())
        cfg = EvaluatorConfig(**{**meta["config"], "channels": tuple(meta["config"]["channels"])})
        net = EvaluatorNet(tuple(meta["img_shape"]), meta["num_classes"], cfg.channels, cfg.feature_dim, cfg.dropout)
        net.load_state_dict(load_file(str(directory / "evaluator.safetensors")))
    except Exception as exc:  # safetensors, JSON and shape errors come in many types
        first = first_line(exc)
        raise EvaluatorMissingError(f"{directory}: cannot load the evaluator ({first}); delete the folder and train it again") from None
    return DomainEvaluator(net, meta)


_LOADED: dict[tuple[str, str, str], DomainEvaluator] = {}


def cached_evaluators(dataset: str, digest: str) -> list[Path]:
    """Cache folders of evaluators trained on exactly this data (any recipe), best test accuracy first."""
    found = []
    for meta_path in (cache_root() / "evaluators").glob(f"{dataset}-*/evaluator.json"):
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("data_digest") == digest and meta.get("arch_version") == ARCH_VERSION:
            found.append((-float(meta.get("test_accuracy", 0.0)), str(meta_path.parent)))
    return [Path(p) for _, p in sorted(found)]


def load_evaluator(dataset: DatasetSpec | str, data_dir: str | os.PathLike | None = None) -> DomainEvaluator:
    """The cached evaluator trained on the current training data of ``dataset`` (the most accurate one).

    Raises:
        EvaluatorMissingError: none is cached; the message says how to train one.
    """
    spec = DatasetSpec.of(dataset, data_dir)
    digest = data_digest(spec.load("train"))
    memo = (str(cache_root()), spec.name, digest)
    if memo in _LOADED:
        return _LOADED[memo]
    folders = cached_evaluators(spec.name, digest)
    if not folders:
        raise EvaluatorMissingError(
            f"no domain evaluator for dataset {spec.name!r} in {cache_root() / 'evaluators'} (GANKIT_CACHE sets the cache folder); "
            f"train it once with: gankit evaluator train --dataset {spec.name}"
            + (" (or, for a run on an image folder: gankit evaluator train --run RUN_DIR)" if spec.name in ("folder", "emoji") else "")
        )
    evaluator = load_evaluator_dir(folders[0])
    _LOADED[memo] = evaluator
    return evaluator
