"""A trainer's state as a typed :class:`~gankit.run.Checkpoint`: built, checked and put back in one place.

What the checkpoint holds and how its file is written is :mod:`gankit.run.checkpoint`'s; this module
maps it onto a trainer (networks, optimisers, noise generator, counters, self-conditioning labels)
and checks what torch would otherwise take on trust (optimiser slots, memory layouts).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from gankit.errors import CheckpointError, ConfigError, first_line
from gankit.run import Checkpoint, RunDir
from gankit.training import guard
from gankit.training.config import config_to_dict
from gankit.training.guard import NonFiniteLossError
from gankit.training.rng import get_rng_state, set_rng_state


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


def training_checkpoint(trainer: Any) -> Checkpoint:
    """The whole training state of ``trainer``."""
    return Checkpoint(
        config=config_to_dict(trainer.cfg),
        step=trainer.step,
        epoch=trainer.step // trainer.sampler.steps_per_epoch,
        elapsed_seconds=trainer.elapsed,
        generator=trainer.generator.state_dict(),
        discriminator=trainer.discriminator.state_dict(),
        opt_g=trainer.opt_g.state_dict(),
        opt_d=trainer.opt_d.state_dict(),
        rng=get_rng_state(trainer.noise),
        rollbacks=trainer.rollbacks,
        img_shape=tuple(trainer.dataset.img_shape),
        num_classes=trainer.num_classes,
        class_prior=trainer.class_prior,
        cluster_labels=trainer.real_labels if trainer.cfg.data.clusters else None,
        generator_ema=trainer.ema.state_dict() if trainer.ema is not None else None,
    )


def load_training_state(trainer: Any, checkpoint: Checkpoint | dict[str, Any], origin: str = "checkpoint") -> None:
    """Put ``checkpoint`` (typed, or a plain state that :meth:`Checkpoint.from_dict` checks) into ``trainer``.

    Raises:
        CheckpointError: naming ``origin``, when the state is not valid or does not fit this trainer's model.
    """
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = Checkpoint.from_dict(checkpoint, origin)
    if checkpoint.model_name != trainer.cfg.model.name:
        raise CheckpointError(f"{origin}: checkpoint is for model {checkpoint.model_name!r}, this run uses {trainer.cfg.model.name!r}")
    try:
        _load_networks(trainer, checkpoint)
        set_rng_state(checkpoint.rng, trainer.noise)
        trainer.step, trainer.elapsed, trainer.rollbacks = checkpoint.step, checkpoint.elapsed_seconds, checkpoint.rollbacks
        if trainer.cfg.data.clusters:
            trainer.set_real_labels(_cluster_labels(checkpoint.cluster_labels, len(trainer.dataset), trainer.num_classes))
    except (KeyError, RuntimeError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise CheckpointError(f"{origin}: does not match this model ({first_line(exc)})") from None


def _load_networks(trainer: Any, checkpoint: Checkpoint) -> None:
    trainer.generator.load_state_dict(checkpoint.generator)
    trainer.discriminator.load_state_dict(checkpoint.discriminator)
    check_optimizer_state(checkpoint.opt_g, trainer.opt_g, "opt_g")  # untrusted shapes never reach the fused kernel
    check_optimizer_state(checkpoint.opt_d, trainer.opt_d, "opt_d")
    trainer.opt_g.load_state_dict(checkpoint.opt_g)
    trainer.opt_d.load_state_dict(checkpoint.opt_d)
    match_state_layout(trainer.opt_g)  # a checkpoint may come from a run with the other memory layout
    match_state_layout(trainer.opt_d)
    if trainer.ema is not None:
        trainer.ema.load_state_dict(checkpoint.sampling_weights)


def _cluster_labels(labels: Any, num: int, num_classes: int) -> torch.Tensor:
    if not (isinstance(labels, torch.Tensor) and labels.dtype == torch.long and labels.shape == (num,)
            and int(labels.min()) >= 0 and int(labels.max()) < num_classes):
        raise ValueError(f"cluster_labels must be {num} integers in 0..{num_classes - 1}")
    return labels


def write_checkpoint(run: RunDir, checkpoint: Checkpoint, keep: int) -> bytes:
    """Write ``checkpoint`` into ``run`` unless it holds NaN/Inf, keeping the newest ``keep``; returns its bytes.

    Raises:
        NonFiniteLossError: the state is not finite (nothing is written).
        CheckpointWriteError: the disk is full or the run directory is not writable (the previous checkpoint is kept).
    """
    saved = checkpoint.to_dict()
    bad = guard.first_nonfinite_in_state(saved)
    if bad is not None:
        raise NonFiniteLossError(f"{bad} is NaN/Inf at step {checkpoint.step}; the checkpoint was not written")
    data = checkpoint.encode()
    run.save_checkpoint(checkpoint, keep=keep, encoded=data)
    return data


def trainer_from_checkpoint(checkpoint: Checkpoint, run_dir: Path, origin: str, overrides: dict[str, Any] | None = None,
                            strategy: Any = None, callbacks: tuple = ()) -> Any:
    """Rebuild a trainer from the config stored in ``checkpoint`` (with ``overrides`` by section), then load the state."""
    from gankit.training.config import CUSTOM
    from gankit.training.trainer import Trainer

    if checkpoint.model_name == CUSTOM:
        raise ConfigError(f"{origin}: a run of your own networks and data ('custom'); continue it in Python: "
                          "gankit.train(generator=..., discriminator=..., data=..., run_dir=..., resume=True)")
    trainer = Trainer(checkpoint.training_config(overrides, origin), run_dir, strategy=strategy, callbacks=callbacks)
    trainer.load_state_dict(checkpoint, origin)
    return trainer


_EXPECTED_SLOTS: dict[tuple, frozenset] = {}


def _expected_slots(optimizer: torch.optim.Optimizer) -> frozenset:
    """The per-parameter state keys this optimiser class keeps (found by stepping a throwaway copy once)."""
    defaults = {k: v for k, v in optimizer.defaults.items() if k not in ("fused", "foreach", "capturable", "differentiable")}
    key = (type(optimizer), tuple(sorted((k, repr(v)) for k, v in defaults.items())))
    if key not in _EXPECTED_SLOTS:
        dummy = torch.nn.Parameter(torch.zeros(1))
        probe = type(optimizer)([dummy], **defaults)
        dummy.grad = torch.zeros(1)
        probe.step()
        _EXPECTED_SLOTS[key] = frozenset(probe.state[dummy])
    return _EXPECTED_SLOTS[key]


def check_optimizer_state(saved: Any, optimizer: torch.optim.Optimizer, name: str) -> None:
    """Check a loaded optimiser state against ``optimizer`` before torch sees it.

    A checkpoint is untrusted data even with a valid checksum: a slot of the wrong shape
    would reach the fused Adam kernel unchecked. Groups must match in number, keys and
    value types (keys another torch version adds or drops are let through when plain);
    every slot must be a float tensor of its parameter's shape (``step``: one value).

    Raises:
        ValueError: naming the first mismatch.
    """
    current = optimizer.state_dict()
    if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict) or not isinstance(saved.get("param_groups"), list):
        raise ValueError(f"{name} is not an optimiser state")
    if len(saved["param_groups"]) != len(current["param_groups"]):
        raise ValueError(f"{name} has {len(saved['param_groups'])} parameter groups, expected {len(current['param_groups'])}")
    shapes = {}
    for index, (group, mine, params) in enumerate(zip(saved["param_groups"], current["param_groups"], optimizer.param_groups)):
        if not isinstance(group, dict) or "params" not in group:
            raise ValueError(f"{name}.param_groups[{index}] is not a parameter group")
        for key, value in group.items():
            if key not in mine:  # another torch version's setting: plain values only
                if value is not None and type(value) not in (bool, int, float, str):
                    raise ValueError(f"{name}.param_groups[{index}].{key} is {value!r}")
            elif key == "params":
                if value != mine["params"]:
                    raise ValueError(f"{name}.param_groups[{index}].params does not match the model")
            elif type(value) is not type(mine[key]) and not (isinstance(mine[key], float) and type(value) is int):
                raise ValueError(f"{name}.param_groups[{index}].{key} is {value!r}, expected a {type(mine[key]).__name__}")
            elif isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{name}.param_groups[{index}].{key} is {value!r}")
            elif isinstance(value, tuple) and (len(value) != len(mine[key]) or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in value)):
                raise ValueError(f"{name}.param_groups[{index}].{key} is {value!r}")
        shapes.update(zip(mine["params"], (tuple(p.shape) for p in params["params"])))
    slots = _expected_slots(optimizer)
    for param_id, slot in saved["state"].items():
        if param_id not in shapes or not isinstance(slot, dict) or set(slot) != slots:
            raise ValueError(f"{name}.state[{param_id!r}] is not a state of this model's parameters (expected slots {sorted(slots)})")
        for key, value in slot.items():
            expected = (1,) if key == "step" else shapes[param_id]
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else None
            if shape is None or not (value.is_floating_point() and (shape == expected or key == "step" and value.numel() == 1)):
                raise ValueError(f"{name}.state[{param_id}].{key} is not a float tensor of shape {expected}")
