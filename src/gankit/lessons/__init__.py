"""Lessons: each idea of the classic GAN tutorial as one command that measures it and draws it.

A lesson is a function registered with :func:`register_lesson`; it takes :class:`LessonOptions` and writes its
figures (PNG or GIF) into ``options.out``, returning the numbers it measured. :func:`run_lesson` runs one and writes
those numbers, the command and the CPU time to ``OUT/NAME.json``. ``gankit lesson NAME --out DIR`` is the command;
the Markdown lessons under ``docs/lessons/`` embed the figures it makes.

Example:
    >>> run_lesson("the-game", "figures", tiny=True)["numbers"]["stages"][-1]["optimal_value"]  # -log 4
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gankit.errors import ConfigError
from gankit.registry import Registry
from gankit.run.files import atomic_path, atomic_write


@dataclass(frozen=True)
class LessonOptions:
    """What a lesson is asked for.

    Attributes:
        out: the folder its figures and numbers go to (exists).
        tiny: a few steps of everything, for tests: the numbers say the commands work, not what the lesson teaches.
        seed: the seed of every random draw.
        run: an existing run directory, for a lesson that reads a long training run instead of training one.
    """

    out: Path
    tiny: bool = False
    seed: int = 0
    run: Path | None = None

    def size(self, default: int, tiny: int) -> int:
        """``default`` at the lesson's size, ``tiny`` with ``--tiny``."""
        return tiny if self.tiny else default


Lesson = Callable[[LessonOptions], dict[str, Any]]
LESSONS: Registry[Lesson] = Registry("lesson")


def register_lesson(name: str, takes_run: bool = False) -> Callable[[Lesson], Lesson]:
    """Register a lesson function ``options -> numbers`` under ``name`` (what ``gankit lesson NAME`` runs);
    ``takes_run``: it reads ``--run EXISTING_RUN`` when given one."""

    def decorator(lesson: Lesson) -> Lesson:
        lesson.takes_run = takes_run
        return LESSONS.register(name)(lesson)

    return decorator


def lesson_names() -> list[str]:
    return LESSONS.names()


def command_line(name: str, options: LessonOptions) -> str:
    """The ``gankit lesson`` command that makes this lesson's figures, as a user would type it."""
    parts = ["gankit lesson", name, "--out", str(options.out)]
    if options.tiny:
        parts.append("--tiny")
    if options.run is not None:
        parts += ["--run", str(options.run)]
    if options.seed:
        parts += ["--seed", str(options.seed)]
    return " ".join(parts)


def run_lesson(name: str, out: str | Path, tiny: bool = False, seed: int = 0, run: str | Path | None = None) -> dict[str, Any]:
    """Run lesson ``name`` into ``out``; returns (and writes to ``out/NAME.json``) its numbers, command and CPU time."""
    import torch

    lesson = LESSONS.get(name)
    if seed < 0:
        raise ConfigError(f"--seed: {seed} must be >= 0")
    if run is not None and not lesson.takes_run:
        readers = ", ".join(n for n in lesson_names() if LESSONS.get(n).takes_run)
        raise ConfigError(f"--run: lesson {name!r} reads no run; the lessons that do: {readers}")
    if run is not None and not Path(run).is_dir():
        raise ConfigError(f"--run: {run} is not a run directory")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    options = LessonOptions(out, tiny, seed, Path(run) if run is not None else None)
    cpu, wall = time.process_time(), time.perf_counter()
    numbers = lesson(options)
    record = {
        "lesson": name,
        "command": command_line(name, options),
        "tiny": tiny,
        "seed": seed,
        "threads": torch.get_num_threads(),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "wall_seconds": round(time.perf_counter() - wall, 1),
        "numbers": numbers,
    }
    atomic_write(out / f"{name}.json", json.dumps(_finite(record), indent=2) + "\n")
    return record


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float as None (JSON has no infinity)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def save_figure(figure: Any, path: Path, dpi: int = 80) -> Path:
    """Write a matplotlib figure as a PNG through a temporary file, and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return path


# The lessons register themselves on import.
from gankit.lessons import (  # noqa: E402,F401
    gan_or_vae, instability, measuring, mnist, mode_collapse, the_game, the_loop, vanishing_gradients,
)
