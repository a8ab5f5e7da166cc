"""The run directory: every file a run reads or writes goes through this package.

:class:`RunDir` is the entry point; the formats live in ``files`` (atomic writes, format
versions, JSON-lines logs), ``checkpoint`` (checkpoint files and the typed :class:`Checkpoint`),
``export`` (the versioned exported generator) and ``samples`` (sample grids, scatter plots,
archives). A run directory holds::

    RUN/config.yaml                      the resolved config           write_config / read_config
    RUN/checkpoints/ckpt-000001000.ckpt  the training state            save_checkpoint / latest_checkpoint / Checkpoint.load
    RUN/checkpoints/best.ckpt            the best in-training FID's    save_checkpoint(checkpoint, name="best.ckpt")
    RUN/export/generator.json            the generator's spec          write_export / load_export
    RUN/export/generator.safetensors     its weights (the EMA copy when there is one)
    RUN/samples/NAME.png                 a grid of images, or the 2D points over the data   write_samples
    RUN/metrics.jsonl                    one JSON record per logged step                    metrics_log / append_metrics / truncate_metrics
    RUN/tensorboard/                     the same records as TensorBoard scalars            metrics_log().open_tensorboard
    RUN/loss_curve.png                   the losses against steps                           write_loss_curve
    RUN/eval.json                        what ``gankit eval`` measured                     write_eval / read_eval
    RUN/best.json                        the best in-training FID's step and checkpoint     write_best / read_best

The trainer's side::

    run = RunDir("runs/mnist_mlp")
    run.write_config(cfg)
    path = run.save_checkpoint(Checkpoint(step=..., config=..., ...), keep=cfg.train.keep_checkpoints)
    found = run.latest_checkpoint()              # (path, Checkpoint), or None
    cfg = found[1].training_config({"train": {"max_steps": 20000}})
    run.append_metrics({"step": 50, "d_loss": 0.71})
    run.truncate_metrics(step)                   # back at an earlier step: after a resume or a rollback
    run.write_samples("epoch-0001", samples, reference=dataset.images[:2000])
    run.write_export(generator, spec)

and the readers' (``gankit sample``, ``gankit eval``, the report)::

    generator, spec = run.load_generator()       # the newest valid checkpoint's, else export/'s
    discriminator = run.load_discriminator()
    run.write_eval(record)                       # gankit eval's record (see gankit.evaluation.run_eval)
    measured = run.read_eval()                   # None before the first gankit eval

Writes go through :func:`atomic_write` (a temporary file, fsync, rename): a reader never sees a
half-written file, and a failed write leaves the previous one as it was. Reads treat every file
as untrusted data: a checkpoint passes a SHA-256 check and is read with
``torch.load(weights_only=True)``, an export is safetensors plus JSON, and every value is checked
before use, so that a bad file gives one :class:`CheckpointError` naming it.

Each format carries a version: a checkpoint's ``format`` (:data:`CHECKPOINT_FORMAT`), the
``format`` in ``generator.json`` (:data:`EXPORT_FORMAT`; an export without one is format 0 and
is migrated when read) and eval.json's ``version`` (:data:`EVAL_FORMAT`). A file of a newer format than this
gankit reads is refused with one line naming both versions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit.errors import CheckpointError, ConfigError, GankitError, first_line
from gankit.run.checkpoint import (
    CHECKPOINT_FORMAT, MAGIC, Checkpoint, CheckpointWriteError, checkpoint_name, decode_checkpoint, encode_checkpoint,
    latest_checkpoint_file, list_checkpoints, prune_checkpoints, read_checkpoint_file,
)
from gankit.run.export import EXPORT_FORMAT, load_export, migrate_export_spec, read_export_spec, write_export
from gankit.run.files import (
    append_jsonl, atomic_path, atomic_write, check_format, remove_stale_temporaries, truncate_jsonl,
)
from gankit.run.metrics import MetricsLog, read_metrics, write_loss_curve
from gankit.run.samples import is_points, write_samples_file

__all__ = [
    "CHECKPOINT_FORMAT", "EVAL_FORMAT", "EXPORT_FORMAT", "MAGIC", "Checkpoint", "CheckpointWriteError", "MetricsLog", "RunDir",
    "append_jsonl", "atomic_path", "atomic_write", "check_format", "checkpoint_name", "decode_checkpoint", "encode_checkpoint",
    "is_points", "latest_checkpoint_file", "list_checkpoints", "load_export", "migrate_export_spec", "prune_checkpoints",
    "read_checkpoint_file", "read_export_spec", "remove_stale_temporaries", "truncate_jsonl", "write_export",
    "write_samples_file",
]

EVAL_FORMAT = 1
"""The version of ``eval.json``'s layout (its schema: :mod:`gankit.evaluation.run_eval`)."""


class RunDir:
    """The files of one run, by role; see the module docstring for the layout.

    Args:
        path: the run directory (created on the first write).

    Attributes:
        path, config_path, checkpoint_dir, export_dir, samples_dir, metrics_path, eval_path, best_path, loss_curve_path:
            where each part lives.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.yaml"
        self.checkpoint_dir = self.path / "checkpoints"
        self.export_dir = self.path / "export"
        self.samples_dir = self.path / "samples"
        self.metrics_path = self.path / "metrics.jsonl"
        self.eval_path = self.path / "eval.json"
        self.best_path = self.path / "best.json"
        self.loss_curve_path = self.path / "loss_curve.png"

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    # ----------------------------------------------------------------- config
    def write_config(self, cfg) -> Path:
        """Write the resolved :class:`~gankit.training.config.Config` as ``config.yaml``."""
        from gankit.training.config import save_config

        self.path.mkdir(parents=True, exist_ok=True)
        save_config(cfg, self.config_path)
        return self.config_path

    def read_config(self):
        """The run's validated :class:`~gankit.training.config.Config` from ``config.yaml``."""
        from gankit.training.config import load_config

        if not self.config_path.is_file():
            raise ConfigError(f"{self.path}: not a gankit run directory (no config.yaml)")
        return load_config(self.config_path)

    # ------------------------------------------------------------ checkpoints
    def checkpoints(self) -> list[tuple[int, Path]]:
        """``(step, path)`` of the run's checkpoints, oldest first."""
        return list_checkpoints(self.checkpoint_dir)

    def save_checkpoint(self, checkpoint: Checkpoint, keep: int | None = None, name: str | None = None,
                        encoded: bytes | None = None) -> Path:
        """Write ``checkpoint`` as ``checkpoints/ckpt-STEP.ckpt`` (or ``name``), then keep the newest ``keep``.

        Args:
            checkpoint: the training state.
            keep: how many ``ckpt-*`` files to keep (None: all).
            name: another file name in ``checkpoints/``, e.g. ``best.ckpt`` (never pruned).
            encoded: ``checkpoint.encode()`` when the caller already has it.

        Raises:
            CheckpointWriteError: the disk is full or the run directory is not writable (the previous files are intact).
        """
        path = self.checkpoint_dir / (name or checkpoint_name(checkpoint.step))
        data = encoded if encoded is not None else checkpoint.encode()
        try:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data)
        except OSError as exc:
            newest = self.checkpoints()
            kept = f"the newest complete checkpoint is {newest[-1][1]}" if newest else "no earlier checkpoint exists"
            raise CheckpointWriteError(
                f"cannot write checkpoint {path} ({exc.strerror or exc}) at step {checkpoint.step}; {kept}; "
                f"make room, then continue with: gankit train --resume {self.path}"
            ) from None
        if keep is not None:
            prune_checkpoints(self.checkpoint_dir, keep)
        return path

    def latest_checkpoint(self) -> tuple[Path, Checkpoint] | None:
        """The newest checkpoint that passes its checksum, typed; damaged ones are reported and skipped.

        Raises:
            CheckpointError: the newest intact file is not a valid training state.
        """
        found = latest_checkpoint_file(self.checkpoint_dir)
        if found is None:
            return None
        return found[0], Checkpoint.from_dict(found[1], str(found[0]))

    def truncate_metrics(self, max_step: int) -> None:
        """Drop the ``metrics.jsonl`` records of steps after ``max_step`` (the run went back to it)."""
        truncate_jsonl(self.metrics_path, max_step)

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Append one JSON record (one line) to ``metrics.jsonl``."""
        append_jsonl(self.metrics_path, record)

    def read_metrics(self) -> list[dict[str, Any]]:
        """The records of ``metrics.jsonl``, oldest first (none before the first)."""
        return read_metrics(self.metrics_path)

    def write_best(self, step: int, fid: float, checkpoint: str) -> Path:
        """Record the best in-training FID so far, the step that scored it and its checkpoint (relative to the run)."""
        return atomic_write(self.best_path, json.dumps({"step": step, "fid": fid, "checkpoint": checkpoint}) + "\n")

    def read_best(self) -> dict[str, Any] | None:
        """What :meth:`write_best` recorded (step, fid, checkpoint), or None when there is nothing valid."""
        try:
            best = json.loads(self.best_path.read_text())
        except (OSError, ValueError):
            return None
        return best if isinstance(best, dict) and isinstance(best.get("fid"), (int, float)) else None

    def metrics_log(self) -> MetricsLog:
        """A writer of ``metrics.jsonl`` records that can mirror them to ``tensorboard/`` (see :class:`MetricsLog`)."""
        return MetricsLog(self.metrics_path, self.path / "tensorboard")

    def write_loss_curve(self) -> Path | None:
        """``loss_curve.png`` from ``metrics.jsonl``; None without records or without matplotlib."""
        return write_loss_curve(self.metrics_path, self.loss_curve_path)

    # ------------------------------------------------------- export, samples
    def write_export(self, generator: nn.Module, spec: dict[str, Any]) -> Path:
        """Write ``export/``: the generator's weights and ``spec`` (see :func:`write_export`)."""
        return write_export(self.export_dir, generator, spec)

    def export_step(self) -> int | None:
        """The training step ``export/`` was written at, or None when there is no complete export."""
        try:
            spec = read_export_spec(self.export_dir)
        except CheckpointError:
            return None
        step = spec.get("step")
        complete = (self.export_dir / "generator.safetensors").is_file()
        return step if complete and isinstance(step, int) and not isinstance(step, bool) and step >= 0 else None

    def write_samples(self, name: str, samples: torch.Tensor, reference: torch.Tensor | None = None, title: str | None = None) -> Path:
        """Write ``samples/NAME.png``: a grid of uint8 images, or float 2D points over ``reference``."""
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        return write_samples_file(self.samples_dir / f"{name}.png", samples, reference=reference, title=title or name)

    # ---------------------------------------------------------------- readers
    def load_generator(self, checkpoint: str | Path | None = None) -> tuple[nn.Module, dict[str, Any]]:
        """The generator to sample: ``checkpoint`` if given, else the newest valid checkpoint's, else ``export/``'s."""
        if checkpoint is not None:
            return Checkpoint.load(checkpoint).build_generator(str(checkpoint))
        if not self.path.is_dir():
            raise ConfigError(f"{self.path}: run directory not found")
        found = self.latest_checkpoint()
        if found is not None:
            return found[1].build_generator(str(found[0]))
        if (self.export_dir / "generator.json").is_file():
            return load_export(self.export_dir)
        raise CheckpointError(f"{self.path}: no valid checkpoint in checkpoints/ and no export/ to sample from")

    def load_discriminator(self, checkpoint: str | Path | None = None) -> nn.Module:
        """The final discriminator of ``checkpoint``, else of the newest valid checkpoint (see :meth:`Checkpoint.build_discriminator`)."""
        if checkpoint is not None:
            return Checkpoint.load(checkpoint).build_discriminator(str(checkpoint))
        found = self.latest_checkpoint() if self.path.is_dir() else None
        if found is None:
            raise CheckpointError(f"{self.path}: --d-keep needs a training checkpoint with the discriminator (export/ holds only G)")
        return found[1].build_discriminator(str(found[0]))

    def data_name(self, checkpoint: str | Path | None = None) -> str | None:
        """The name of the dataset the run trained on (from the checkpoint, else ``config.yaml``), or None."""
        try:
            if checkpoint is not None:
                return Checkpoint.load(checkpoint).config["data"]["name"]
            import yaml

            return yaml.safe_load(self.config_path.read_text())["data"]["name"]
        except (OSError, GankitError, KeyError, TypeError, ValueError):
            return None

    # ------------------------------------------------------------------- eval
    def write_eval(self, record: dict[str, Any]) -> Path:
        """Replace ``eval.json`` with ``record``, atomically: what ``gankit eval`` measured.

        Args:
            record: the eval.json object (its schema: :mod:`gankit.evaluation.run_eval`, which builds
                it), with ``"version": EVAL_FORMAT``.

        Raises:
            GankitError: a figure is not a finite number (JSON holds no NaN; write null instead), or the
                file cannot be written; the previous eval.json is left as it was.
            ValueError: ``record`` is not a mapping of :data:`EVAL_FORMAT`.
        """
        if not isinstance(record, dict) or record.get("version") != EVAL_FORMAT:
            raise ValueError(f"write_eval: the record must be a mapping with \"version\": {EVAL_FORMAT}")
        try:
            text = json.dumps(record, indent=2, allow_nan=False) + "\n"
        except ValueError:
            raise GankitError(f"{self.eval_path}: not written, a figure is not a finite number") from None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            return atomic_write(self.eval_path, text)
        except OSError as exc:
            raise GankitError(f"{self.eval_path}: cannot write ({exc.strerror or exc})") from None

    def read_eval(self) -> dict[str, Any] | None:
        """The record :meth:`write_eval` wrote, or None when the run has not been evaluated.

        Raises:
            GankitError: eval.json is not valid JSON, not a mapping with a ``metrics`` mapping, or of
                a newer version than this gankit reads (one line naming both versions).
        """
        try:
            record = json.loads(self.eval_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise GankitError(f"{self.eval_path}: cannot read ({first_line(exc)}); measure the run again with: "
                              f"gankit eval {self.path}") from None
        if not isinstance(record, dict):
            raise GankitError(f"{self.eval_path}: not a mapping of keys")
        check_format(record.get("version"), EVAL_FORMAT, "eval.json", str(self.eval_path), record.get("gankit_version"))
        if not isinstance(record.get("metrics"), dict):
            raise GankitError(f"{self.eval_path}: needs metrics (a mapping of figure names to numbers)")
        return record
