"""Datasets held in memory as uint8 tensors, and where they come from."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

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
def _load(name: str, split: str, root: Path, options: tuple = ()) -> ImageDataset:
    return DATASETS.get(name)(split, root, **dict(options))


def dataset_options(name: str) -> tuple[str, ...]:
    """The keyword options a registered dataset takes (e.g. ``folder``, ``image`` for image folders)."""
    import inspect

    parameters = inspect.signature(DATASETS.get(name)).parameters.values()
    return tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY)


def load_dataset(name: str, split: str = "train", data_dir: str | os.PathLike | None = None, **options) -> ImageDataset:
    """Load a registered dataset split into memory (cached per process).

    ``options`` go to datasets that take them (see :func:`dataset_options`); None means the default.
    """
    if split not in SPLITS:
        raise ConfigError(f"split {split!r} is not allowed; choose one of: {', '.join(SPLITS)}")
    allowed = dataset_options(name)
    given = {key: value for key, value in options.items() if value is not None}
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ConfigError(f"dataset {name!r} takes no option(s) {', '.join(unknown)}; it takes: {', '.join(allowed) or 'none'}")
    return _load(name, split, data_root(data_dir).resolve(), tuple(sorted(given.items())))


def load_data(data, split: str = "train") -> ImageDataset:
    """The dataset a ``DataConfig`` describes: its name, root and, for image folders, the image options."""
    return load_dataset(data.name, split, data.dir, **data_load_options(data))


def data_load_options(data) -> dict:
    """The :func:`load_dataset` options of a ``DataConfig`` (the folder and image options of image folders)."""
    from gankit.data.folder import ImageOptions, parse_color

    allowed = dataset_options(data.name)
    options = {}
    if "image" in allowed:
        options["image"] = ImageOptions(
            size=data.image_size or ImageOptions.size,
            channels=data.channels or ImageOptions.channels,
            background=parse_color(data.background),
            fit=data.fit,
        )
    else:
        for key in ("image_size", "channels"):
            if getattr(data, key) is not None:
                raise ConfigError(f"data.{key}: applies to image folders (folder, emoji); dataset {data.name!r} has a fixed shape")
    if data.folder is not None:
        if "folder" not in allowed:
            raise ConfigError(f"data.folder: is read only when data.name is 'folder' (here {data.name!r})")
        options["folder"] = data.folder
    return options


@dataclass(frozen=True)
class DatasetSpec:
    """Which data a metric, the domain evaluator or a feature cache reads.

    The trainer's ``DataConfig`` names the same thing; a spec is what travels below it, so
    that an image-folder run is scored against its own folder, size and colours.

    Attributes:
        name: a registered dataset (see ``DATASETS``).
        data_dir: the data root; None means ``$GANKIT_DATA``, else ``~/.cache/gankit/data``.
        options: the dataset's load options as sorted ``(key, value)`` pairs (image folders:
            ``folder`` and ``image``), so that a spec is hashable.
    """

    name: str
    data_dir: str | None = None
    options: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, dataset: "DatasetSpec | str", data_dir: str | os.PathLike | None = None) -> "DatasetSpec":
        """A spec from a spec or a bare dataset name; ``data_dir``, when given, sets the data root."""
        root = None if data_dir is None else str(data_dir)
        if isinstance(dataset, DatasetSpec):
            return dataset if root is None else replace(dataset, data_dir=root)
        return cls(dataset, root)

    @classmethod
    def from_config(cls, data) -> "DatasetSpec":
        """The spec of a ``DataConfig``: its name, root and, for image folders, the image options."""
        return cls(data.name, None if data.dir is None else str(data.dir), tuple(sorted(data_load_options(data).items())))

    def load(self, split: str = "train") -> ImageDataset:
        """The split this spec names, through :func:`load_dataset` (cached per process)."""
        return load_dataset(self.name, split, self.data_dir, **dict(self.options))


from gankit.data import mnist, synthetic  # noqa: E402,F401
from gankit.data import stacked, toy2d  # noqa: E402,F401
from gankit.data import emoji, folder  # noqa: E402,F401
from gankit.data import medmnist  # noqa: E402,F401

__all__ = ["DATASETS", "DatasetSpec", "EpochSampler", "ImageDataset", "data_root", "load_data", "load_dataset", "register_dataset", "to_uint8", "to_unit_range"]
