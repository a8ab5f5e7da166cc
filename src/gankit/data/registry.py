"""The dataset registry: ``@register_dataset(name)`` on a function ``(split, root) -> ImageDataset``."""

from __future__ import annotations

from typing import Callable

from gankit.registry import Registry

DATASETS: Registry[Callable] = Registry("dataset")
register_dataset = DATASETS.register
