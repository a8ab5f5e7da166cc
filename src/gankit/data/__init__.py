"""Datasets held in memory as uint8 tensors, and where they come from."""

from __future__ import annotations

import os
from contextlib import contextmanager
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
def _load(name: str, split: str, root: Path, options: tuple = ()) -> ImageDataset:
    return DATASETS.get(name)(split, root, **dict(options))


def dataset_options(name: str) -> tuple[str, ...]:
    """The keyword options a registered dataset takes (e.g. ``folder``, ``image`` for image folders)."""
    import inspect

    parameters = inspect.signature(DATASETS.get(name)).parameters.values()
    return tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY)


_SCOPED_OPTIONS: dict[str, dict] = {}


@contextmanager
def dataset_defaults(name: str, **options):
    """Within the block, :func:`load_dataset` calls for ``name`` start from these options.

    ``gankit eval`` and ``gankit evaluator train --run`` use it so that every metric, the
    evaluator and the real-feature cache load an image-folder run's own folder, size and
    colours, although they name the dataset only.
    """
    previous = _SCOPED_OPTIONS.get(name)
    _SCOPED_OPTIONS[name] = options
    try:
        yield
    finally:
        if previous is None:
            _SCOPED_OPTIONS.pop(name, None)
        else:
            _SCOPED_OPTIONS[name] = previous


def load_dataset(name: str, split: str = "train", data_dir: str | os.PathLike | None = None, **options) -> ImageDataset:
    """Load a registered dataset split into memory (cached per process).

    ``options`` go to datasets that take them (see :func:`dataset_options`); None means the
    default, or the option set by an enclosing :func:`dataset_defaults`.
    """
    if split not in SPLITS:
        raise ConfigError(f"split {split!r} is not allowed; choose one of: {', '.join(SPLITS)}")
    allowed = dataset_options(name)
    given = {**_SCOPED_OPTIONS.get(name, {}), **{key: value for key, value in options.items() if value is not None}}
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


from gankit.data import mnist, synthetic  # noqa: E402,F401
from gankit.data import stacked, toy2d  # noqa: E402,F401
from gankit.data import emoji, folder  # noqa: E402,F401

__all__ = ["DATASETS", "EpochSampler", "ImageDataset", "data_root", "load_data", "load_dataset", "register_dataset", "to_uint8", "to_unit_range"]
