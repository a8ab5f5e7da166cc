"""The run's training log: ``metrics.jsonl`` (one JSON record a line), its TensorBoard mirror and its loss plot."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from gankit.run.files import append_jsonl

log = logging.getLogger("gankit")


def read_metrics(path: str | Path) -> list[dict]:
    """The records of a ``metrics.jsonl`` (none when it does not exist); a line cut by a crash is skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


class MetricsLog:
    """Appends records to ``metrics.jsonl`` and, once :meth:`open_tensorboard` found TensorBoard, its scalars.

    Args:
        path: the JSON-lines file.
        tensorboard_dir: where the TensorBoard event files go.
    """

    def __init__(self, path: Path, tensorboard_dir: Path) -> None:
        self.path, self.tensorboard_dir = path, tensorboard_dir
        self._tb = None

    def open_tensorboard(self) -> None:
        """Mirror the numeric fields of the next records as TensorBoard scalars (nothing when it is not installed)."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        self._tb = SummaryWriter(str(self.tensorboard_dir))

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` (with a ``step``) as one line, and its numbers to TensorBoard when open."""
        append_jsonl(self.path, record)
        if self._tb is not None:
            for key, value in record.items():
                if key not in ("step", "epoch") and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, record["step"])

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def write_loss_curve(metrics_path: Path, out_path: Path) -> Path | None:
    """``out_path`` (a PNG) from the records of ``metrics_path``; None without records or without matplotlib."""
    from gankit.training.plots import plot_training_curves

    try:
        return plot_training_curves(metrics_path, out_path)
    except ImportError:
        log.info("matplotlib is not installed: no loss curve written")
        return None
