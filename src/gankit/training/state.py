"""The training state a checkpoint holds: built and checked in one place.

Keys (format 1): ``format``, ``gankit_version``, ``config``, ``step``, ``epoch``,
``elapsed_seconds``, ``generator``, ``discriminator`` (a GAN's discriminator, a
VAE's encoder), ``opt_g``, ``opt_d``, ``rng``, ``rollbacks``, ``img_shape``,
``num_classes``, and where the run has them ``class_prior``, ``cluster_labels``
and ``generator_ema``. Reading and writing the bytes is
:mod:`gankit.training.checkpoint`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

import gankit
from gankit.errors import CheckpointError, first_line
from gankit.training import checkpoint as ckpt
from gankit.training import guard
from gankit.training.config import config_from_dict, config_to_dict
from gankit.training.guard import NonFiniteLossError
from gankit.training.rng import get_rng_state, set_rng_state

CHECKPOINT_FORMAT = 1


def match_state_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-parameter state tensor its parameter's memory layout (strides).

    The fused Adam kernel walks parameter, gradient and moments in memory order, so a
    contiguous moment next to a channels-last weight (a checkpoint written in the other
    layout) would silently update the wrong elements.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            for key, value in optimizer.state.get(param, {}).items():
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    optimizer.state[param][key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def training_state(trainer: Any) -> dict[str, Any]:
    """The whole training state of ``trainer``."""
    return {
        "format": CHECKPOINT_FORMAT,
        "gankit_version": gankit.__version__,
        "config": config_to_dict(trainer.cfg),
        "step": trainer.step,
        "epoch": trainer.step // trainer.sampler.steps_per_epoch,
        "elapsed_seconds": trainer.elapsed,
        "generator": trainer.generator.state_dict(),
        "discriminator": trainer.discriminator.state_dict(),
        "opt_g": trainer.opt_g.state_dict(),
        "opt_d": trainer.opt_d.state_dict(),
        "rng": get_rng_state(trainer.noise),
        "rollbacks": trainer.rollbacks,
        "img_shape": list(trainer.dataset.img_shape),
        "num_classes": trainer.num_classes,
        **({"class_prior": trainer.class_prior} if trainer.class_prior is not None else {}),
        **({"cluster_labels": trainer.real_labels} if trainer.cfg.data.clusters else {}),
        **({"generator_ema": trainer.ema.state_dict()} if trainer.ema is not None else {}),
    }


def check_header(state: dict[str, Any], model_name: str, origin: str) -> None:
    """Refuse a state of another format or another model family."""
    if type(state.get("format")) is not int or state["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{origin}: checkpoint format {state.get('format')!r} is not supported (expected {CHECKPOINT_FORMAT})")
    saved = state.get("config")
    saved = saved.get("model") if isinstance(saved, dict) else None
    saved = saved if isinstance(saved, dict) else {}
    if not isinstance(saved.get("name"), str) or saved["name"] != model_name:
        raise CheckpointError(f"{origin}: checkpoint is for model {saved.get('name')!r}, this run uses {model_name!r}")


def load_training_state(trainer: Any, state: dict[str, Any], origin: str = "checkpoint") -> None:
    """Put ``state`` into ``trainer``; one CheckpointError naming ``origin`` when it does not fit."""
    check_header(state, trainer.cfg.model.name, origin)
    try:
        _load_networks(trainer, state)
        set_rng_state(state["rng"], trainer.noise)
        step = state["step"]
        if not isinstance(step, int) or isinstance(step, bool) or step < 0:
            raise ValueError(f"step {step!r} is not a non-negative integer")
        trainer.step = step
        trainer.elapsed = float(state.get("elapsed_seconds", 0.0))
        trainer.rollbacks = int(state.get("rollbacks", 0))
        if trainer.cfg.data.clusters:
            trainer.set_real_labels(_cluster_labels(state["cluster_labels"], len(trainer.dataset), trainer.num_classes))
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError, IndexError) as exc:
        first = first_line(exc)
        raise CheckpointError(f"{origin}: does not match this model ({first})") from None


def _load_networks(trainer: Any, state: dict[str, Any]) -> None:
    trainer.generator.load_state_dict(state["generator"])
    trainer.discriminator.load_state_dict(state["discriminator"])
    ckpt.check_optimizer_state(state["opt_g"], trainer.opt_g, "opt_g")  # untrusted shapes never reach the fused kernel
    ckpt.check_optimizer_state(state["opt_d"], trainer.opt_d, "opt_d")
    trainer.opt_g.load_state_dict(state["opt_g"])
    trainer.opt_d.load_state_dict(state["opt_d"])
    match_state_layout(trainer.opt_g)  # a checkpoint may come from a run with the other memory layout
    match_state_layout(trainer.opt_d)
    if trainer.ema is not None:
        trainer.ema.load_state_dict(state["generator_ema"] if "generator_ema" in state else state["generator"])


def _cluster_labels(labels: Any, num: int, num_classes: int) -> torch.Tensor:
    if not (isinstance(labels, torch.Tensor) and labels.dtype == torch.long and labels.shape == (num,)
            and int(labels.min()) >= 0 and int(labels.max()) < num_classes):
        raise ValueError(f"cluster_labels must be {num} integers in 0..{num_classes - 1}")
    return labels


def write_state(saved: dict[str, Any], path: Path, run_dir: Path, keep: int) -> bytes:
    """Write ``saved`` to ``path`` unless it holds NaN/Inf, then keep the newest ``keep`` checkpoints; returns the bytes.

    Raises:
        NonFiniteLossError: the state is not finite (nothing is written).
        CheckpointWriteError: the disk is full or the run directory is not writable (the previous checkpoint is kept).
    """
    bad = guard.first_nonfinite_in_state(saved)
    if bad is not None:
        raise NonFiniteLossError(f"{bad} is NaN/Inf at step {saved['step']}; the checkpoint was not written")
    data = ckpt.encode_checkpoint(saved)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ckpt.atomic_write_bytes(path, data)
    except OSError as exc:
        newest = ckpt.list_checkpoints(path.parent)
        kept = f"the newest complete checkpoint is {newest[-1][1]}" if newest else "no earlier checkpoint exists"
        raise ckpt.CheckpointWriteError(
            f"cannot write checkpoint {path} ({exc.strerror or exc}) at step {saved['step']}; {kept}; "
            f"make room, then continue with: gankit train --resume {run_dir}"
        ) from None
    ckpt.prune_checkpoints(path.parent, keep)
    return data


def trainer_from_checkpoint_state(state: dict[str, Any], run_dir: Path, origin: str, overrides: dict[str, Any] | None = None,
                                  strategy: Any = None, callbacks: tuple = ()) -> Any:
    """Rebuild a trainer from the config stored in a checkpoint (with ``overrides`` by section), then load the state."""
    from gankit.training.trainer import Trainer

    raw = state.get("config")
    if not isinstance(raw, dict):
        raise CheckpointError(f"{origin}: carries no config")
    for section, values in (overrides or {}).items():
        if not isinstance(raw.setdefault(section, {}), dict):
            raise CheckpointError(f"{origin}: config.{section} is not a mapping")
        raw[section].update(values)
    trainer = Trainer(config_from_dict(raw), run_dir, strategy=strategy, callbacks=callbacks)
    trainer.load_state_dict(state, origin)
    return trainer
