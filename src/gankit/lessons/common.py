"""What several lessons share: the reference loop of docs/lessons/, trainers in scratch folders, picture helpers."""

from __future__ import annotations

import importlib.util
import tempfile
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Iterator

import torch

from gankit.errors import GankitError

LESSONS_DIR = Path(__file__).resolve().parents[3] / "docs" / "lessons"


def reference_loop() -> ModuleType:
    """``docs/lessons/loop.py``, the seven-step loop of lesson 2 (it lives beside the lessons, not in the package)."""
    path = LESSONS_DIR / "loop.py"
    if not path.is_file():
        raise GankitError(f"lesson the-loop runs {path}, which is part of gankit's source tree; run it from a clone of gankit")
    spec = importlib.util.spec_from_file_location("gankit_lesson_loop", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def scratch_trainer(preset: str, overrides: list[str], dataset=None) -> Iterator:
    """A :class:`~gankit.training.trainer.Trainer` of ``preset`` with ``overrides``, its run folder a temporary one."""
    from gankit.training.config import load_config
    from gankit.training.trainer import Trainer

    cfg = load_config(preset, overrides)
    with tempfile.TemporaryDirectory(prefix="gankit-lesson-") as folder:
        trainer = Trainer(cfg, Path(folder) / "run", dataset=dataset)
        trainer.generator.train()
        trainer.discriminator.train()
        try:
            yield trainer
        finally:
            trainer.metrics_log.close()


def lesson_data(tiny: bool) -> str:
    """The image data of the MNIST lessons: MNIST, or with ``--tiny`` the synthetic squares (no download)."""
    return "squares" if tiny else "mnist"


def image_grid(images: torch.Tensor, nrow: int) -> torch.Tensor:
    """Images (N, C, H, W) in [-1, 1] as one (H', W') or (H', W', C) array in [0, 1] for ``imshow``."""
    from torchvision.utils import make_grid

    grid = make_grid(images.detach().float().clamp(-1, 1) * 0.5 + 0.5, nrow=nrow, padding=2, pad_value=1.0)  # (C, H', W')
    return grid[0] if grid.shape[0] == 1 or images.shape[1] == 1 else grid.permute(1, 2, 0)
