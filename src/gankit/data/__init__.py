"""Datasets held in memory as uint8 tensors, and where they come from."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from gankit.data.base import EpochSampler, ImageDataset, to_uint8, to_unit_range
from gankit.data.registry import DATASETS, register_dataset
from gankit.errors import ConfigError

SPLITS = ("train", "test")


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir``, else ``$GANKIT_DATA``, else ``~/.cache/gankit/data``."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("GANKIT_DATA"):
        return Path(os.environ["GANKIT_DATA"]).expanduser()
    return Path.home() / ".cache" / "gankit" / "data"


@lru_cache(maxsize=8)
def _load(name: str, split: str, root: Path) -> ImageDataset:
    return DATASETS.get(name)(split, root)


def load_dataset(name: str, split: str = "train", data_dir: str | os.PathLike | None = None) -> ImageDataset:
    """Load a registered dataset split into memory (cached per process)."""
    if split not in SPLITS:
        raise ConfigError(f"split {split!r} is not allowed; choose one of: {', '.join(SPLITS)}")
    DATASETS.get(name)
    return _load(name, split, data_root(data_dir).resolve())


from gankit.data import mnist, synthetic  # noqa: E402,F401
from gankit.data import stacked, toy2d  # noqa: E402,F401

__all__ = ["DATASETS", "EpochSampler", "ImageDataset", "data_root", "load_dataset", "register_dataset", "to_uint8", "to_unit_range"]
