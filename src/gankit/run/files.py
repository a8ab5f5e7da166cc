"""Atomic writes, format versions and JSON-lines logs: the primitives every file of a run is written with."""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from gankit import __version__
from gankit.errors import CheckpointError

_TEMPORARY = re.compile(r"^\.(.+)\.tmp-(\d+)$")


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


def append_jsonl(path: str | Path, record: dict[str, Any]) -> None:
    """Append ``record`` to a JSON-lines log as one line."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def truncate_jsonl(path: str | Path, max_step: int) -> None:
    """Drop records with ``step > max_step`` (and any torn line) from a JSONL log, atomically.

    Used when a run goes back to an earlier step (resume after a crash, rollback), so that the
    log holds each step once.
    """
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
