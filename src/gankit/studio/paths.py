"""Run names from the browser, mapped onto directories that never leave RUNS_DIR."""

from __future__ import annotations

from pathlib import Path

from gankit.errors import ConfigError

MAX_DEPTH = 2
"""Runs are found this many directory levels below RUNS_DIR at most (``runs/NAME``, ``runs/GROUP/NAME``)."""


class StudioPathError(ConfigError):
    """A path from the browser that names no run under RUNS_DIR."""


def is_run_dir(path: Path) -> bool:
    """A gankit run directory: it has ``config.yaml``, checkpoints or an export."""
    return (path / "config.yaml").is_file() or (path / "checkpoints").is_dir() or (path / "export" / "generator.json").is_file()


def resolve_run(root: Path, name: str) -> Path:
    """The run directory ``name`` names, relative to ``root`` (RUNS_DIR, already resolved).

    The path is resolved (``..`` and symbolic links followed) and must then lie strictly inside
    ``root`` and be a run directory: an absolute path, ``..`` or a link that points out of RUNS_DIR
    is refused with one line.

    Raises:
        StudioPathError: ``name`` is not a run under RUNS_DIR.
    """
    if not isinstance(name, str) or not name or "\x00" in name or len(name) > 1000:
        raise StudioPathError("run: give the name of a run directory inside RUNS_DIR")
    if Path(name).is_absolute():
        raise StudioPathError(f"run {name!r}: an absolute path; give a name relative to RUNS_DIR")
    try:
        path = (root / name).resolve(strict=True)
    except (OSError, RuntimeError):
        raise StudioPathError(f"run {name!r}: no such run in RUNS_DIR") from None
    if path == root or not path.is_relative_to(root):
        raise StudioPathError(f"run {name!r}: outside RUNS_DIR")
    if not path.is_dir() or not is_run_dir(path):
        raise StudioPathError(f"run {name!r}: not a gankit run directory (no config.yaml, checkpoints/ or export/)")
    return path


def list_runs(root: Path) -> list[str]:
    """Names (relative to ``root``, with ``/``) of the run directories under it, sorted; links out of it are skipped."""
    found: list[str] = []

    def walk(directory: Path, depth: int) -> None:
        try:
            children = sorted(p for p in directory.iterdir() if p.is_dir() and not p.name.startswith("."))
        except OSError:
            return
        for child in children:
            resolved = child.resolve()
            if resolved == root or not resolved.is_relative_to(root):
                continue
            if is_run_dir(child):
                found.append(child.relative_to(root).as_posix())
            elif depth < MAX_DEPTH:
                walk(child, depth + 1)

    walk(root, 1)
    return found
