"""The run directory: every file a run reads or writes, through one module.

A run directory holds::

    RUN/config.yaml                      the resolved config           write_config / read_config
    RUN/checkpoints/ckpt-000001000.ckpt  the training state            save_checkpoint / latest_checkpoint / Checkpoint.load
    RUN/checkpoints/best.ckpt            the best in-training FID's    save_checkpoint(checkpoint, name="best.ckpt")
    RUN/export/generator.json            the generator's spec          write_export / load_export
    RUN/export/generator.safetensors     its weights (the EMA copy when there is one)
    RUN/samples/NAME.png                 a grid of images, or the 2D points over the data   write_samples
    RUN/metrics.jsonl                    one JSON record per logged step                    append_metrics / truncate_metrics
    RUN/eval.json                        what ``gankit eval`` measured                     write_eval / read_eval

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
    run.write_eval(evaluator="mnist-classifier-1a2b", figures={"fid": 3.1}, floors={"fid": 0.9})

Writes go through :func:`atomic_write` (a temporary file, fsync, rename): a reader never sees a
half-written file, and a failed write leaves the previous one as it was. Reads treat every file
as untrusted data: a checkpoint passes a SHA-256 check and is read with
``torch.load(weights_only=True)``, an export is safetensors plus JSON, and every value is checked
before use, so that a bad file gives one :class:`CheckpointError` naming it.

Each format carries a version: a checkpoint's ``format`` (:data:`CHECKPOINT_FORMAT`), the
``format`` in ``generator.json`` (:data:`EXPORT_FORMAT`; an export without one is format 0 and
is migrated when read) and eval.json's (:data:`EVAL_FORMAT`). A file of a newer format than this
gankit reads is refused with one line naming both versions.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import math
import os
import pickle
import re
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterator

import torch
from torch import nn

from gankit import __version__
from gankit.errors import CheckpointError, ConfigError, GankitError, first_line

log = logging.getLogger("gankit")

CHECKPOINT_FORMAT = 1
"""The training state's layout (the ``format`` key of a checkpoint's payload)."""
EXPORT_FORMAT = 1
"""The layout of ``export/generator.json``; an export without a ``format`` key is format 0."""
EVAL_FORMAT = 1
"""The layout of ``eval.json``."""

MAGIC = b"GANKIT-CKPT 1\n"
_CHECKPOINT_NAME = re.compile(r"^ckpt-(\d{9})\.ckpt$")
_TEMPORARY = re.compile(r"^\.(.+)\.tmp-(\d+)$")


# --------------------------------------------------------------------------------------------- atomic writes
@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; on leaving the block it is fsynced and renamed onto ``path``.

    For writers that want a file name (matplotlib, safetensors). On any error the temporary file is
    removed and ``path`` is left as it was.

    Example:
        >>> with atomic_path(run_dir / "loss_curve.png") as tmp:
        ...     figure.savefig(tmp, format="png")
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file, fsync and rename."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    return Path(path)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stale_temporaries(directory: str | Path) -> None:
    """Delete the ``.NAME.tmp-PID`` files that writers killed mid-write (other processes) left in ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        match = _TEMPORARY.match(path.name)
        if match and int(match.group(2)) != os.getpid():
            try:
                path.unlink()
            except OSError:
                pass


def check_format(found: Any, supported: int, what: str, origin: str, written_by: Any = None) -> int:
    """``found`` as a format number this gankit reads (0..``supported``); CheckpointError otherwise.

    A newer format is refused with both versions named, so that the user knows to upgrade.
    """
    if type(found) is not int or found < 0:
        raise CheckpointError(f"{origin}: {what} format {found!r} is not a format number (this gankit reads up to {supported})")
    if found > supported:
        by = f" by gankit {written_by}" if isinstance(written_by, str) else ""
        raise CheckpointError(
            f"{origin}: {what} format {found} (written{by}) is newer than this gankit {__version__} reads "
            f"(format {supported}); upgrade gankit to load it"
        )
    return found


# ----------------------------------------------------------------------------------------- checkpoint files
class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written (full disk, unwritable run directory); the previous one is intact."""


def checkpoint_name(step: int) -> str:
    return f"ckpt-{step:09d}.ckpt"


def encode_checkpoint(state: dict[str, Any]) -> bytes:
    """The bytes of a checkpoint file: ``MAGIC``, the payload's SHA-256 in hex and a newline, the payload."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def decode_checkpoint(data: bytes, origin: str = "checkpoint") -> dict[str, Any]:
    """Verify and unpack checkpoint bytes into the plain training-state dict.

    Raises:
        CheckpointError: wrong header, checksum mismatch, or a payload that is not plain containers and tensors.
    """
    header = len(MAGIC) + 65
    if not data.startswith(MAGIC) or len(data) < header or data[header - 1:header] != b"\n":
        raise CheckpointError(f"{origin}: not a gankit checkpoint (bad header)")
    expected = data[len(MAGIC):header - 1].decode("ascii", "replace")
    payload = data[header:]
    if hashlib.sha256(payload).hexdigest() != expected:
        raise CheckpointError(f"{origin}: checksum mismatch, the file is truncated or corrupted")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # untrusted bytes: any parse failure is the file's fault, not gankit's
        first = first_line(exc)
        kind = "refused to load" if isinstance(exc, pickle.UnpicklingError) else "refused to load, unreadable payload"
        raise CheckpointError(f"{origin}: {kind} ({first[:200]})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{origin}: the payload is not a training state")
    return state


def read_checkpoint_file(path: str | Path) -> dict[str, Any]:
    """The verified plain state of the checkpoint file at ``path``; CheckpointError when missing or damaged."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: checkpoint not found") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror})") from None
    return decode_checkpoint(data, str(path))


def list_checkpoints(directory: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of the ``ckpt-*.ckpt`` files in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _CHECKPOINT_NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint_file(directory: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint file that passes its checksum, as a plain state; broken ones are reported and skipped."""
    for _, path in reversed(list_checkpoints(directory)):
        try:
            return path, read_checkpoint_file(path)
        except CheckpointError as exc:
            log.warning("skipping %s", exc)
    return None


def prune_checkpoints(directory: str | Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints, and temporaries left by killed writers."""
    for _, path in list_checkpoints(directory)[:-keep]:
        try:
            path.unlink()
        except OSError:
            pass
    remove_stale_temporaries(directory)


# ------------------------------------------------------------------------------------- the typed checkpoint
def _is_int(value: Any, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_weights(key: str, value: Any) -> dict[str, torch.Tensor]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()):
        raise ValueError(f"{key} is not a mapping of parameter names to tensors")
    return value


def _check_mapping(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{key} is not a mapping")
    return value


def _check_count(key: str, value: Any) -> int:
    if not _is_int(value):
        raise ValueError(f"{key} {value!r} is not a non-negative integer")
    return value


def _check_img_shape(value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) not in (1, 3) or not all(_is_int(v, 1) for v in value):
        raise ValueError(f"img_shape {value!r} is not (C, H, W) or (D,) of positive integers")
    return tuple(value)


@dataclass(kw_only=True)
class Checkpoint:
    """A run's whole training state: what a checkpoint file holds (format 1).

    Attributes:
        config: the resolved config as plain data (``config_to_dict``).
        step: optimiser steps taken.
        epoch: ``step // steps_per_epoch``.
        elapsed_seconds: training time over all invocations.
        generator: G's state dict.
        discriminator: D's state dict (a VAE's encoder).
        opt_g: G's Adam state.
        opt_d: D's Adam state.
        rng: every random generator's state (:func:`gankit.training.rng.get_rng_state`).
        rollbacks: NaN/Inf rollbacks so far.
        img_shape: the data's (C, H, W), or (D,) for vector data; None only in files that predate the key.
        num_classes: classes G is conditioned on (0: unconditional).
        class_prior: the training set's share of each class (conditional runs).
        cluster_labels: (N,) int64 self-conditioning clusters of the training images.
        generator_ema: the EMA generator's state dict, when the run keeps one.
        format: the layout's version, :data:`CHECKPOINT_FORMAT`.
        gankit_version: the gankit that wrote it.
    """

    format: int = CHECKPOINT_FORMAT
    gankit_version: str = __version__
    config: dict[str, Any]
    step: int
    epoch: int = 0
    elapsed_seconds: float = 0.0
    generator: dict[str, torch.Tensor]
    discriminator: dict[str, torch.Tensor]
    opt_g: dict[str, Any]
    opt_d: dict[str, Any]
    rng: dict[str, Any]
    rollbacks: int = 0
    img_shape: tuple[int, ...] | None = None
    num_classes: int = 0
    class_prior: list[float] | None = None
    cluster_labels: torch.Tensor | None = None
    generator_ema: dict[str, torch.Tensor] | None = None

    _OPTIONAL = ("class_prior", "cluster_labels", "generator_ema")

    @classmethod
    def from_dict(cls, state: Any, origin: str = "checkpoint") -> Checkpoint:
        """Check a decoded training state and type it; the one reader of checkpoint contents.

        Reads every layout of format 1: keys that older files lack (``img_shape``, ``epoch``,
        ``elapsed_seconds``, ``rollbacks``, ``num_classes``) take their defaults.

        Raises:
            CheckpointError: naming ``origin`` and the first bad value; a newer format names both versions.
        """
        from gankit.models import check_class_prior

        if not isinstance(state, dict):
            raise CheckpointError(f"{origin}: the payload is not a training state")
        fmt = check_format(state.get("format"), CHECKPOINT_FORMAT, "checkpoint", origin, state.get("gankit_version"))
        if fmt != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{origin}: checkpoint format {fmt} is not supported (expected {CHECKPOINT_FORMAT})")
        try:
            config = _check_mapping("config", state["config"])
            model = _check_mapping("config.model", config.get("model"))
            if not isinstance(model.get("name"), str) or not _is_int(model.get("latent_dim"), 1):
                raise ValueError("config.model needs a name and a positive latent_dim")
            _check_mapping("config.model.options", model.get("options", {}))
            num_classes = _check_count("num_classes", state.get("num_classes", 0))
            prior = state.get("class_prior")
            labels = state.get("cluster_labels")
            if labels is not None and not (isinstance(labels, torch.Tensor) and labels.dtype == torch.long and labels.ndim == 1):
                raise ValueError("cluster_labels is not an int64 vector")
            elapsed = state.get("elapsed_seconds", 0.0)
            if not isinstance(elapsed, (int, float)) or isinstance(elapsed, bool) or not math.isfinite(elapsed):
                raise ValueError(f"elapsed_seconds {elapsed!r} is not a finite number")
            version = state.get("gankit_version", "unknown")
            return cls(
                format=fmt,
                gankit_version=version if isinstance(version, str) else "unknown",
                config=config,
                step=_check_count("step", state["step"]),
                epoch=_check_count("epoch", state.get("epoch", 0)),
                elapsed_seconds=float(elapsed),
                generator=_check_weights("generator", state["generator"]),
                discriminator=_check_weights("discriminator", state["discriminator"]),
                opt_g=_check_mapping("opt_g", state["opt_g"]),
                opt_d=_check_mapping("opt_d", state["opt_d"]),
                rng=_check_mapping("rng", state["rng"]),
                rollbacks=_check_count("rollbacks", state.get("rollbacks", 0)),
                img_shape=_check_img_shape(state.get("img_shape")),
                num_classes=num_classes,
                class_prior=check_class_prior(prior, num_classes) if prior is not None and num_classes else None,
                cluster_labels=labels,
                generator_ema=None if state.get("generator_ema") is None else _check_weights("generator_ema", state["generator_ema"]),
            )
        except KeyError as exc:
            raise CheckpointError(f"{origin}: not a complete training state (no {first_line(exc)})") from None
        except (ValueError, TypeError) as exc:
            raise CheckpointError(f"{origin}: {first_line(exc)}") from None

    def to_dict(self) -> dict[str, Any]:
        """The plain state a checkpoint file holds: the keys of format 1, in their order; unset optional keys left out."""
        state = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in self._OPTIONAL and value is None:
                continue
            state[f.name] = list(value) if f.name == "img_shape" and value is not None else value
        return state

    @classmethod
    def load(cls, path: str | Path) -> Checkpoint:
        """The typed checkpoint in the file at ``path``."""
        return cls.from_dict(read_checkpoint_file(path), str(path))

    def encode(self) -> bytes:
        """The bytes of this checkpoint's file."""
        return encode_checkpoint(self.to_dict())

    @property
    def model_name(self) -> str:
        return self.config["model"]["name"]

    @property
    def sampling_weights(self) -> dict[str, torch.Tensor]:
        """The generator that samples and exports use: the EMA copy when there is one."""
        return self.generator_ema or self.generator

    def data_shape(self) -> tuple[int, ...]:
        """``img_shape``; for files without it, the shape of the config's dataset at the default data root.

        The data root is never a path the checkpoint names (paths inside a checkpoint are not trusted).
        """
        if self.img_shape is not None:
            return self.img_shape
        from gankit.data import load_dataset

        return tuple(load_dataset(self.config["data"]["name"], "train").img_shape)

    def generator_spec(self) -> dict[str, Any]:
        """The arguments that rebuild (and sample) the generator: see :func:`gankit.models.generator_spec`."""
        from gankit.models import generator_spec

        model = self.config["model"]
        return generator_spec(model["name"], self.data_shape(), model["latent_dim"], self.num_classes,
                              model.get("options", {}), self.class_prior)

    def build_generator(self, origin: str = "checkpoint") -> tuple[nn.Module, dict[str, Any]]:
        """The sampling generator (EMA copy when there is one) in eval mode, and its spec.

        Raises:
            CheckpointError: the weights do not fit the model the config names.
        """
        from gankit.models import create_model

        try:
            spec = self.generator_spec()
            generator = create_model(spec["model"], spec["img_shape"], spec["latent_dim"], spec["num_classes"], **spec["options"]).generator
            generator.load_state_dict(self.sampling_weights)
        except (KeyError, TypeError, RuntimeError, ValueError, AttributeError, IndexError) as exc:
            raise CheckpointError(f"{origin}: cannot rebuild the generator ({first_line(exc)})") from None
        return generator.eval(), spec

    def build_discriminator(self, origin: str = "checkpoint") -> nn.Module:
        """The final discriminator in eval mode, for ranking samples one by one (``--d-keep``).

        Only an unconditional GAN's D will do, and not one with a minibatch-stddev channel (its
        score depends on the rest of the batch).

        Raises:
            ConfigError: a D that cannot score single samples; CheckpointError: weights that do not fit.
        """
        from gankit.models import create_model
        from gankit.models.layers import MinibatchStdDev

        if self.num_classes:
            raise ConfigError(f"{origin}: --d-keep works with unconditional runs only (this D needs class labels)")
        if self.model_name == "vae":
            raise ConfigError(f"{origin}: --d-keep needs a GAN; a VAE run has an encoder, not a discriminator")
        model = self.config["model"]
        try:
            discriminator = create_model(model["name"], self.data_shape(), model["latent_dim"], 0, **model.get("options", {})).discriminator
            discriminator.load_state_dict(self.discriminator)
        except (KeyError, TypeError, RuntimeError, ValueError, AttributeError, IndexError) as exc:
            raise CheckpointError(f"{origin}: cannot rebuild the discriminator ({first_line(exc)})") from None
        if any(isinstance(m, MinibatchStdDev) for m in discriminator.modules()):
            raise ConfigError(f"{origin}: --d-keep needs a D that scores each image alone (this one reads batch statistics)")
        return discriminator.eval()

    def training_config(self, changes: dict[str, dict[str, Any]] | None = None, origin: str = "checkpoint"):
        """The run's :class:`~gankit.training.config.Config`, with ``changes`` (section -> {key: value}) applied.

        Raises:
            CheckpointError: a section of the stored config is not a mapping; ConfigError: a stored or changed value.
        """
        from gankit.training.config import config_from_dict

        raw = copy.deepcopy(self.config)
        for section, values in (changes or {}).items():
            if not isinstance(raw.setdefault(section, {}), dict):
                raise CheckpointError(f"{origin}: config.{section} is not a mapping")
            raw[section].update(values)
        return config_from_dict(raw)


# ---------------------------------------------------------------------------------------------------- export
def write_export(directory: str | Path, generator: nn.Module, spec: dict[str, Any]) -> Path:
    """Write ``generator.safetensors`` and ``generator.json`` (``format`` 1, the writing gankit, then ``spec``)."""
    from safetensors.torch import save

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
    atomic_write(directory / "generator.safetensors", save(weights))
    meta = {"format": EXPORT_FORMAT, "gankit_version": __version__, **{k: v for k, v in spec.items() if k not in ("format", "gankit_version")}}
    atomic_write(directory / "generator.json", json.dumps(meta, indent=2) + "\n")
    return directory


def migrate_export_spec(raw: Any, origin: str) -> dict[str, Any]:
    """A ``generator.json`` of any format this gankit reads, as format 1.

    Format 0 (no ``format`` key) holds the same keys as format 1 without ``format`` and
    ``gankit_version``; the migration adds them (the writer's version as ``unknown``).

    Raises:
        CheckpointError: not a mapping, or a format newer than :data:`EXPORT_FORMAT`.
    """
    if not isinstance(raw, dict):
        raise CheckpointError(f"{origin}: generator.json is not a mapping of keys")
    fmt = check_format(raw.get("format", 0), EXPORT_FORMAT, "export", origin, raw.get("gankit_version"))
    if fmt == 0:
        raw = {"format": 1, "gankit_version": "unknown", **raw}
    return raw


def read_export_spec(directory: str | Path) -> dict[str, Any]:
    """The (migrated) spec of the export in ``directory``."""
    directory = Path(directory)
    path = directory / "generator.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; an exported generator needs generator.json and generator.safetensors") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{directory}: cannot read generator.json ({first_line(exc)})") from None
    return migrate_export_spec(raw, str(directory))


def load_export(directory: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild an exported generator: the generator in eval mode and its (format 1) spec.

    Raises:
        CheckpointError: a missing, damaged or newer-format export, or weights that do not fit the spec.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from gankit.models import check_class_prior, create_model

    directory = Path(directory)
    weights_path = directory / "generator.safetensors"
    spec = read_export_spec(directory)
    if not weights_path.is_file():
        raise CheckpointError(f"{weights_path}: missing; an exported generator needs generator.json and generator.safetensors")
    try:
        if "class_prior" in spec:
            check_class_prior(spec["class_prior"], spec["num_classes"])
        pair = create_model(spec["model"], tuple(spec["img_shape"]), spec["latent_dim"], spec["num_classes"], **spec["options"])
        pair.generator.load_state_dict(load_file(str(weights_path)))
    except (ValueError, KeyError, RuntimeError, OSError, TypeError, AttributeError, SafetensorError) as exc:
        raise CheckpointError(f"{directory}: cannot rebuild the exported generator ({first_line(exc)})") from None
    return pair.generator.to(device).eval(), spec


# --------------------------------------------------------------------------------------------------- samples
def is_points(samples: torch.Tensor) -> bool:
    """True for vector data, float (N, D); False for uint8 images (N, C, H, W)."""
    return samples.ndim == 2


def write_samples_file(out: str | Path, samples: torch.Tensor, labels: torch.Tensor | None = None,
                       reference: torch.Tensor | None = None, title: str = "") -> Path:
    """Write samples to ``out``: ``.npz`` arrays, or a ``.png`` picture.

    Images, uint8 (N, C, H, W), go into the archive under ``images`` and into the picture as a
    square grid; 2D points, float (N, 2), go under ``points`` (float32) and into the picture as a
    scatter plot over ``reference`` (M, 2), the real data. ``labels`` (N,) go under ``labels``.
    """
    out = Path(out)
    points = is_points(samples)
    if out.suffix.lower() == ".npz":
        import numpy as np

        arrays = {"points": samples.float().numpy()} if points else {"images": samples.numpy()}
        if labels is not None:
            arrays["labels"] = labels.numpy().astype(np.int64)
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return atomic_write(out, buffer.getvalue())
    if points:
        from gankit.training.plots import plot_points

        if reference is None:
            raise ConfigError(f"{out}: a scatter plot of 2D points needs the real data to draw them over")
        with atomic_path(out) as tmp:
            plot_points(samples.float(), reference, tmp, title=title)
        return out
    return atomic_write(out, _grid_png(samples))


def _grid_png(images: torch.Tensor) -> bytes:
    """A PNG of uint8 images (N, C, H, W) in a square grid with 2 px of black between them."""
    from PIL import Image
    from torchvision.utils import make_grid

    grid = make_grid(images, nrow=int(math.ceil(math.sqrt(len(images)))), padding=2)  # (C, H', W') uint8
    array = grid.permute(1, 2, 0).numpy()
    buffer = io.BytesIO()
    Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array).save(buffer, format="PNG")
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------- JSON records
def truncate_jsonl(path: str | Path, max_step: int) -> None:
    """Drop records with ``step > max_step`` (and any torn line) from a JSONL log, atomically."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return
    kept = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        step = record.get("step") if isinstance(record, dict) else None
        if isinstance(step, (int, float)) and step > max_step:
            continue
        kept.append(line)
    if len(kept) != len(lines):
        atomic_write(path, "".join(line + "\n" for line in kept))


def _finite_or_none(value: Any) -> Any:
    """JSON holds no NaN/Inf: a non-finite figure is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------- the directory
class RunDir:
    """The files of one run, by role; see the module docstring for the layout.

    Args:
        path: the run directory (created on the first write).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def export_dir(self) -> Path:
        return self.path / "export"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def eval_path(self) -> Path:
        return self.path / "eval.json"

    # ----------------------------------------------------------------- config
    def write_config(self, cfg) -> Path:
        """Write the resolved :class:`~gankit.training.config.Config` as ``config.yaml``."""
        import yaml

        from gankit.training.config import config_to_dict

        self.path.mkdir(parents=True, exist_ok=True)
        return atomic_write(self.config_path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))

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
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(record) + "\n")

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
        return step if _is_int(step) and (self.export_dir / "generator.safetensors").is_file() else None

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
    def write_eval(self, *, evaluator: str, figures: dict[str, float], floors: dict[str, float], **details: Any) -> Path:
        """Write ``eval.json``: what ``gankit eval`` measured, by which evaluator, beside the evaluator's floors.

        Args:
            evaluator: the id of the feature extractor / evaluator the figures were measured with.
            figures: each figure's value for this run, e.g. ``{"fid": 3.1, "precision": 0.71}``.
            floors: each figure's value for real held-out data against the reference (what a perfect
                generator would score with this evaluator).
            **details: anything else worth keeping (``samples``, ``seed``, ``checkpoint``, ...), JSON-serialisable.

        Non-finite values are written as null (JSON holds no NaN).
        """
        if not isinstance(evaluator, str) or not evaluator:
            raise ValueError("write_eval: evaluator must be a non-empty id")
        for key, mapping in (("figures", figures), ("floors", floors)):
            if not isinstance(mapping, dict) or not all(isinstance(k, str) for k in mapping):
                raise ValueError(f"write_eval: {key} must map figure names to numbers")
        record = {"format": EVAL_FORMAT, "gankit_version": __version__, "evaluator": evaluator,
                  "figures": figures, "floors": floors, **details}
        self.path.mkdir(parents=True, exist_ok=True)
        return atomic_write(self.eval_path, json.dumps(_finite_or_none(record), indent=2, allow_nan=False) + "\n")

    def read_eval(self) -> dict[str, Any] | None:
        """The record :meth:`write_eval` wrote (``evaluator``, ``figures``, ``floors``, ...), or None when there is none.

        Raises:
            GankitError: eval.json is not valid JSON, lacks a key, or is of a newer format.
        """
        try:
            record = json.loads(self.eval_path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise GankitError(f"{self.eval_path}: cannot read ({first_line(exc)})") from None
        if not isinstance(record, dict):
            raise GankitError(f"{self.eval_path}: not a mapping of keys")
        check_format(record.get("format"), EVAL_FORMAT, "eval.json", str(self.eval_path), record.get("gankit_version"))
        missing = [key for key in ("evaluator", "figures", "floors") if key not in record]
        if missing or not isinstance(record["figures"], dict) or not isinstance(record["floors"], dict):
            raise GankitError(f"{self.eval_path}: needs evaluator, figures and floors (mappings); missing or wrong: {missing or 'figures/floors'}")
        return record
