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
import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from gankit.errors import CheckpointError

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
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
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
