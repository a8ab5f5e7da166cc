"""Checkpoint files and the typed training state they hold.

File layout::

    b"GANKIT-CKPT 1\n"           magic
    b"<64 hex chars>\n"          SHA-256 of the payload
    payload                      ``torch.save`` of plain containers and tensors (:meth:`Checkpoint.to_dict`)

The payload is read with ``torch.load(weights_only=True)``, so a checkpoint can never run
code; the checksum catches truncated or flipped bytes before loading. It guards against
damage, not against a forger: the payload is loaded as untrusted data whatever its checksum,
and :meth:`Checkpoint.from_dict` checks every value before anything uses it.
"""

from __future__ import annotations

import copy
import hashlib
import io
import logging
import math
import pickle
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit import __version__
from gankit.errors import CheckpointError, ConfigError, first_line
from gankit.run.files import check_format, remove_stale_temporaries

log = logging.getLogger("gankit")

CHECKPOINT_FORMAT = 1
"""The training state's layout (the ``format`` key of a checkpoint's payload)."""
MAGIC = b"GANKIT-CKPT 1\n"
_CHECKPOINT_NAME = re.compile(r"^ckpt-(\d{9})\.ckpt$")


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


def _check_seconds(value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"elapsed_seconds {value!r} is not a finite number")
    return float(value)


def _check_cluster_labels(value: Any) -> torch.Tensor | None:
    if value is not None and not (isinstance(value, torch.Tensor) and value.dtype == torch.long and value.ndim == 1):
        raise ValueError("cluster_labels is not an int64 vector")
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
            version = state.get("gankit_version", "unknown")
            return cls(
                format=fmt,
                gankit_version=version if isinstance(version, str) else "unknown",
                config=config,
                step=_check_count("step", state["step"]),
                epoch=_check_count("epoch", state.get("epoch", 0)),
                elapsed_seconds=_check_seconds(state.get("elapsed_seconds", 0.0)),
                generator=_check_weights("generator", state["generator"]),
                discriminator=_check_weights("discriminator", state["discriminator"]),
                opt_g=_check_mapping("opt_g", state["opt_g"]),
                opt_d=_check_mapping("opt_d", state["opt_d"]),
                rng=_check_mapping("rng", state["rng"]),
                rollbacks=_check_count("rollbacks", state.get("rollbacks", 0)),
                img_shape=_check_img_shape(state.get("img_shape")),
                num_classes=num_classes,
                class_prior=check_class_prior(prior, num_classes) if prior is not None and num_classes else None,
                cluster_labels=_check_cluster_labels(state.get("cluster_labels")),
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

    @classmethod
    def decode(cls, data: bytes, origin: str = "checkpoint") -> Checkpoint:
        """The typed checkpoint in the bytes :meth:`encode` wrote."""
        return cls.from_dict(decode_checkpoint(data, origin), origin)

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
