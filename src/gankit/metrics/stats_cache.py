"""Real-data features and their statistics, cached per dataset, split, extractor and count.

Like stylegan2-ada's metric cache: extracting features of the real images is the
slow part of every evaluation, and it never changes for a given dataset and
extractor. A cache file ``$GANKIT_CACHE/stats/<dataset>-<split>-<extractor>-<num>-<hash>.safetensors``
holds the features, class probabilities, mean and covariance of a fixed random
subset of ``num`` images; the hash covers the data itself, so changed data is
never served stale statistics.
"""

from __future__ import annotations

import hashlib
import json
import os

import torch
from safetensors.torch import load_file, save_file

from gankit.data import DatasetSpec
from gankit.metrics import Features
from gankit.metrics.evaluator import cache_root, data_digest
from gankit.metrics.extractors import FeatureExtractor
from gankit.metrics.fid import mean_and_covariance
from gankit.run.files import atomic_path


def real_subset(dataset: DatasetSpec | str, split: str, num: int, data_dir: str | os.PathLike | None = None,
                seed: int = 0) -> torch.Tensor:
    """The first ``num`` items of a fixed (seeded) permutation of a split, as the dataset holds them."""
    data = DatasetSpec.of(dataset, data_dir).load(split)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    return data.images[order[:min(num, len(data))]]


def real_features(dataset: DatasetSpec | str, split: str, extractor: FeatureExtractor, num: int,
                  data_dir: str | os.PathLike | None = None, seed: int = 0) -> Features:
    """Features of ``num`` real images of ``split`` (all of them when fewer), from the cache when there.

    The cache file is named by the dataset's name and keyed by a digest of the images themselves,
    so two image folders under the one name never share statistics.
    """
    spec = DatasetSpec.of(dataset, data_dir)
    data = spec.load(split)
    num = min(num, len(data))
    if extractor.id == "identity":  # raw vectors: nothing to save
        return extractor(real_subset(spec, split, num, seed=seed))
    key = hashlib.sha256(json.dumps([spec.name, split, extractor.id, num, seed, data_digest(data)]).encode()).hexdigest()[:16]
    path = cache_root() / "stats" / f"{spec.name}-{split}-{extractor.id}-{num}-{key}.safetensors"
    if path.is_file():
        try:
            stored = load_file(str(path))
            return Features(stored["features"], stored.get("probs"))
        except (OSError, KeyError, ValueError, RuntimeError):
            pass  # a broken cache file is recomputed below
    features = extractor(real_subset(spec, split, num, seed=seed))
    mean, cov = mean_and_covariance(features.features) if num > 1 else (features.features[0], torch.zeros(0))
    tensors = {"features": features.features.contiguous(), "mean": mean.contiguous(), "cov": cov.contiguous()}
    if features.probs is not None:
        tensors["probs"] = features.probs.contiguous()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp))
    return features
