"""Checkpoints: the whole training state in one checksummed file, written atomically.

File layout::

    b"GANKIT-CKPT 1\n"           magic and format version
    b"<64 hex chars>\n"          SHA-256 of the payload
    payload                      ``torch.save`` of plain containers and tensors

The payload is read with ``torch.load(weights_only=True)``, so a checkpoint can
never run code; the checksum catches truncated or flipped bytes before loading.
Files are written to a temporary name, fsynced and renamed, so the newest
checkpoint is always complete; temporaries left by a killed process are removed
by the next :func:`prune_checkpoints`. The checksum guards against damage, not
against a forger: the payload is loaded as untrusted data whatever its checksum,
and anything unexpected in it becomes a :class:`CheckpointError`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from gankit.errors import CheckpointError, first_line

log = logging.getLogger("gankit")

MAGIC = b"GANKIT-CKPT 1\n"
_NAME = re.compile(r"^ckpt-(\d{9})\.ckpt$")
_TEMPORARY = re.compile(r"^\.ckpt-\d{9}\.ckpt\.tmp-(\d+)$")


class CheckpointWriteError(CheckpointError):
    """A checkpoint could not be written (full disk, unwritable run directory); the previous one is intact."""


def checkpoint_name(step: int) -> str:
    return f"ckpt-{step:09d}.ckpt"


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


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync and rename.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)


def encode_checkpoint(state: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def decode_checkpoint(data: bytes, origin: str = "checkpoint") -> dict[str, Any]:
    """Verify and unpack checkpoint bytes.

    Raises:
        CheckpointError: wrong format, checksum mismatch or a disallowed object.
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


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    atomic_write_bytes(path, encode_checkpoint(state))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: checkpoint not found") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read ({exc.strerror})") from None
    return decode_checkpoint(data, str(path))


def list_checkpoints(directory: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of the checkpoints in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def load_latest_checkpoint(directory: str | Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that passes its checksum; broken ones are reported and skipped."""
    for _, path in reversed(list_checkpoints(directory)):
        try:
            return path, load_checkpoint(path)
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


def remove_stale_temporaries(directory: str | Path) -> None:
    """Delete half-written ``.ckpt-*.ckpt.tmp-PID`` files of other (dead) processes."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        match = _TEMPORARY.match(path.name)
        if match and int(match.group(1)) != os.getpid():
            try:
                path.unlink()
            except OSError:
                pass


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
