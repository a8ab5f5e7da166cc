"""The files a training run writes besides its checkpoints: sample grids, the export, the metrics log, the loss plot."""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit.models import export_generator

log = logging.getLogger("gankit")


@torch.no_grad()
def save_sample_grid(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None, path: Path,
                     real_points: torch.Tensor, title: str) -> Path:
    """G's images for the fixed noise z (N, L) [and labels (N,)] as one PNG grid, or (vector data) a scatter plot
    over ``real_points``; written through a temporary file."""
    from torchvision.utils import save_image

    was_training = generator.training
    generator.eval()
    images = (generator(z, labels) if labels is not None else generator(z)).float()
    generator.train(was_training)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    if images.ndim == 2:  # vector data: a scatter plot over the real points
        from gankit.training.plots import plot_points

        plot_points(images.cpu(), real_points, tmp, title=title)
    else:
        save_image(images.cpu(), tmp, nrow=int(math.ceil(math.sqrt(len(images)))), normalize=True, value_range=(-1, 1))
    tmp.replace(path)
    return path


def write_export(generator: nn.Module, spec: dict[str, Any], step: int, directory: Path) -> Path:
    """The generator and what rebuilds it (``spec``, with the step) in ``directory``."""
    export_generator(generator, {**spec, "step": step}, directory)
    return directory


class MetricsLog:
    """``metrics.jsonl`` (one JSON record a line) and, when installed, TensorBoard scalars."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / "metrics.jsonl"
        self.run_dir = run_dir
        self._tb = None

    def open_tensorboard(self) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        self._tb = SummaryWriter(str(self.run_dir / "tensorboard"))

    def write(self, record: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for key, value in record.items():
                if key not in ("step", "epoch") and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, record["step"])

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def plot_losses(run_dir: Path) -> None:
    """``loss_curve.png`` from ``metrics.jsonl`` (nothing without matplotlib)."""
    from gankit.training.plots import plot_training_curves

    try:
        plot_training_curves(run_dir / "metrics.jsonl", run_dir / "loss_curve.png")
    except ImportError:
        log.info("matplotlib is not installed: no loss curve written")


def log_step(trainer: Any, stats: dict[str, float], bar: Any) -> None:
    """A metrics record of the step just taken, the progress bar's figures and any instability warning."""
    now, spe = time.perf_counter(), trainer.sampler.steps_per_epoch
    mark_time, mark_step = trainer.mark  # the time and step of the last record
    ips = (trainer.step - mark_step) * trainer.cfg.train.batch_size / max(now - mark_time, 1e-9)
    trainer.mark = now, trainer.step
    trainer.log_metrics({"step": trainer.step, "epoch": trainer.step / spe, **stats, "images_per_s": ips})
    shown = {short: f"{stats[key]:.3f}" for key, short in (("d_loss", "d"), ("g_loss", "g"), ("loss", "loss")) if key in stats}
    bar.set_postfix(epoch=trainer.step // spe, **shown, img_s=f"{ips:.0f}")
    for warning in trainer.monitor.observe(trainer.step, stats):
        log.warning("%s", warning)
