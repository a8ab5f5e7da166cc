"""Checkpoint files and the checks a resumed optimiser state passes.

The file format, the typed :class:`~gankit.run.Checkpoint` and the run directory live in
:mod:`gankit.run`; the names below are kept for the code that reads checkpoints as plain
dicts (``load_checkpoint``) and writes them (``save_checkpoint``). File layout::

    b"GANKIT-CKPT 1\n"           magic
    b"<64 hex chars>\n"          SHA-256 of the payload
    payload                      ``torch.save`` of plain containers and tensors

The payload is read with ``torch.load(weights_only=True)``, so a checkpoint can never run
code; the checksum catches truncated or flipped bytes before loading. It guards against
damage, not against a forger: the payload is loaded as untrusted data whatever its checksum,
and anything unexpected in it becomes a :class:`~gankit.errors.CheckpointError`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from gankit.run import (  # noqa: F401  the checkpoint file functions, by their names here
    MAGIC,
    CheckpointWriteError,
    atomic_write,
    checkpoint_name,
    decode_checkpoint,
    encode_checkpoint,
    latest_checkpoint_file,
    list_checkpoints,
    prune_checkpoints,
    read_checkpoint_file,
    remove_stale_temporaries,
)

atomic_write_bytes = atomic_write
load_checkpoint = read_checkpoint_file
"""The verified plain state (a dict) of a checkpoint file; :meth:`gankit.run.Checkpoint.load` types it."""
load_latest_checkpoint = latest_checkpoint_file


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Write a plain training state as a checkpoint file, atomically."""
    atomic_write(path, encode_checkpoint(state))


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
