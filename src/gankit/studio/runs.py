"""What the Runs and Sample pages read from a run directory: only reads, through :class:`~gankit.run.RunDir`.

A run that is training beside the studio is never written to: its config, metrics, eval.json and
sample grids are read as they are, and its generator is rebuilt from the newest valid checkpoint
(SHA-256 checked, ``torch.load(weights_only=True)``) or from the safetensors export.
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import torch

from gankit.errors import ConfigError, GankitError
from gankit.run import RunDir, is_points, write_samples_file

MAX_CONFIG_CHARS = 20_000
MAX_CURVE_POINTS = 400
TRAINING_WITHIN_S = 120.0
"""A run whose metrics.jsonl changed this recently is shown as training."""
MAX_SAMPLES = {"png": 256, "npz": 10_000}
CURVE_KEYS = ("d_loss", "g_loss")


def newest_grid(run: RunDir) -> Path | None:
    """The most recently written ``samples/*.png`` of the run (its latest grid), or None."""
    try:
        grids = [p for p in run.samples_dir.iterdir() if p.suffix == ".png" and p.is_file() and not p.is_symlink()]
    except OSError:
        return None
    return max(grids, key=lambda p: (p.stat().st_mtime, p.name), default=None)


def loss_curves(records: list[dict[str, Any]], keys: tuple[str, ...] = CURVE_KEYS, limit: int = MAX_CURVE_POINTS) -> dict[str, Any]:
    """The losses against steps, at most ``limit`` points a curve (every k-th record, and the last)."""
    rows = [r for r in records if isinstance(r.get("step"), (int, float))]
    stride = max(1, math.ceil(len(rows) / limit))
    kept = rows[::stride] + ([rows[-1]] if rows and (len(rows) - 1) % stride else [])
    curves = {}
    for key in keys:
        points = [[r["step"], r[key]] for r in kept if isinstance(r.get(key), (int, float)) and math.isfinite(r[key])]
        if points:
            curves[key] = points
    return curves


def summary(run_path: Path, name: str) -> dict[str, Any]:
    """One run as the Runs page shows it: config text, status, last step, figures beside floors, curves, grid."""
    run = RunDir(run_path)
    out: dict[str, Any] = {"name": name, "errors": []}
    try:
        out["config"] = run.config_path.read_text()[:MAX_CONFIG_CHARS]
    except (OSError, UnicodeDecodeError):
        out["config"] = None
    records = run.read_metrics() if run.metrics_path.is_file() else []
    out["step"] = records[-1].get("step") if records else None
    out["curves"] = loss_curves(records)
    try:
        changed = run.metrics_path.stat().st_mtime
    except OSError:
        changed = None
    out["training"] = changed is not None and time.time() - changed < TRAINING_WITHIN_S
    try:
        record = run.read_eval()
    except GankitError as exc:
        record = None
        out["errors"].append(str(exc))
    out["eval"] = None if record is None else {
        key: record.get(key) for key in ("created", "dataset", "extractor", "num", "seed", "metrics", "floor", "floor_num",
                                          "modes", "modes_floor", "notes")
    }
    grid = newest_grid(run)
    out["grid"] = None if grid is None else {"name": grid.name, "mtime": grid.stat().st_mtime}
    return out


class GeneratorCache:
    """Generators of the runs, rebuilt when the run's newest checkpoint or export changes.

    Loading goes through :meth:`gankit.run.RunDir.load_generator` (checked checkpoints, or the
    safetensors export), never through a path the browser names.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.lock = threading.Lock()
        self.entries: dict[Path, tuple[tuple, torch.nn.Module, dict[str, Any]]] = {}

    @staticmethod
    def _version(run: RunDir) -> tuple:
        marks = []
        for path in [p for _, p in run.checkpoints()[-1:]] + [run.export_dir / "generator.safetensors"]:
            try:
                marks.append((path.name, path.stat().st_mtime_ns))
            except OSError:
                marks.append((path.name, None))
        return tuple(marks)

    def get(self, run_path: Path) -> tuple[torch.nn.Module, dict[str, Any]]:
        run = RunDir(run_path)
        with self.lock:
            version = self._version(run)
            cached = self.entries.get(run_path)
            if cached is not None and cached[0] == version:
                return cached[1], cached[2]
            generator, spec = run.load_generator()
            self.entries[run_path] = (version, generator, spec)
            while len(self.entries) > self.size:
                self.entries.pop(next(iter(self.entries)))
            return generator, spec


def parse_sample_request(params: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    """The Sample page's query checked: seed, num, truncation, class, format; one line for a bad value."""

    def number(key: str, kind, default, low, high):
        raw = params.get(key, "")
        if raw in ("", None):
            return default
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{key}: {raw!r} is not a {'whole ' if kind is int else ''}number") from None
        if not (low <= value <= high) or (kind is float and not math.isfinite(value)):
            raise ConfigError(f"{key}: {raw} is outside {low}..{high}")
        return value

    fmt = params.get("format", "png")
    if fmt not in MAX_SAMPLES:
        raise ConfigError(f"format {fmt!r}: choose png or npz")
    num_classes = int(spec.get("num_classes", 0))
    request = {
        "format": fmt,
        "seed": number("seed", int, 0, 0, 2**31 - 1),
        "num": number("num", int, 64, 1, MAX_SAMPLES[fmt]),
        "truncation": number("truncation", float, None, 0.01, 10.0),
        "label": None,
    }
    if params.get("class", "") not in ("", None):
        if not num_classes:
            raise ConfigError("class: this run is not conditional; leave the class empty")
        request["label"] = number("class", int, None, 0, num_classes - 1)
    return request


def draw(generator: torch.nn.Module, spec: dict[str, Any], request: dict[str, Any], reference: torch.Tensor | None) -> bytes:
    """The samples a request asks for, as the bytes of a PNG grid (or scatter plot) or of an ``.npz`` archive.

    The same files ``gankit sample`` writes (:func:`gankit.run.write_samples_file`), from
    :func:`gankit.sampling.draw_samples` with the same seed, so both give the same samples.
    """
    from gankit.models import default_labels
    from gankit.sampling import draw_samples

    num = request["num"]
    labels = default_labels(num, spec) if request["label"] is None else torch.full((num,), request["label"], dtype=torch.long)
    samples = draw_samples(generator, spec, num, request["seed"], labels, request["truncation"])
    if is_points(samples) and request["format"] == "png" and reference is None:
        reference = samples[:0]
    with tempfile.TemporaryDirectory(prefix="gankit-studio-") as tmp:
        out = Path(tmp) / f"samples.{request['format']}"
        write_samples_file(out, samples, labels, reference, title=f"seed {request['seed']}")
        return out.read_bytes()
