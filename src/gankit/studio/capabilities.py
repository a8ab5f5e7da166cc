"""What each run under RUNS_DIR can do, so that every page lists only the runs it can use.

A run is read from its ``config.yaml`` (or, for an export alone, ``export/generator.json``), never by
loading its weights, so listing a folder of runs stays fast:

* a noise generator of images can be sampled, interpolated and edited (Sample, Interpolate, Edit); a
  class-conditional one also changes an image's class directly;
* a generator of 2D points (the toy datasets of :mod:`gankit.data.toy2d`) can only be sampled;
* an image-to-image restoration run (the ``pix2pix`` and ``srresnet`` families) restores images
  (Restore), with its task (super-resolution, denoising, inpainting) from ``restore.degradation``;
* an encoder run (``train.objective: encoder``) draws nothing and is listed on no page.

The demo run ``RUNS_DIR/demo`` (the one the Runs page trains) comes first in every list, labelled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from gankit.studio.paths import list_runs

DEMO_NAME = "demo"
KINDS = ("images", "points", "restoration")
PAGE_KINDS = {"sample": ("images", "points"), "interpolate": ("images",), "edit": ("images",), "restore": ("restoration",)}
"""The kinds of run each page can use."""


@dataclass(frozen=True)
class RunKind:
    """What one run can do.

    Attributes:
        name: the run's name relative to RUNS_DIR.
        kind: ``images`` (a noise generator of images), ``points`` (of 2D points) or ``restoration``.
        model: the model family.
        conditional: whether G takes a class (class change instead of a direction).
        task: restoration runs: ``super_resolution``, ``denoise`` or ``inpaint``; else None.
        scale: restoration runs: the super-resolution factor (1 for the other tasks).
        demo: whether this is ``RUNS_DIR/demo``.
        label: the name as a page shows it (the demo run is labelled).
    """

    name: str
    kind: str
    model: str
    conditional: bool = False
    task: str | None = None
    scale: int = 1
    demo: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} (demo run)" if self.demo else self.name

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}


def _is_points_dataset(name: str) -> bool:
    from gankit.data import DATASETS

    try:
        factory = DATASETS.get(name)
    except Exception:  # an unknown dataset name: not one of the 2D ones
        return False
    return getattr(factory, "__module__", "") == "gankit.data.toy2d"


def run_kind(path: Path, name: str) -> RunKind | None:
    """What the run at ``path`` can do, from its config (or its export's spec); None for a run no page uses."""
    from gankit.models import is_paired

    config = _read_yaml(path / "config.yaml")
    demo = name == DEMO_NAME
    if config is not None:
        model = str((config.get("model") or {}).get("name", ""))
        data = config.get("data") or {}
        train = config.get("train") or {}
        if train.get("objective") == "encoder":
            return None
        try:
            paired = is_paired(model)
        except Exception:  # a model family this gankit does not know
            return None
        if paired:
            from gankit.restore import create_degradation

            try:
                degradation = create_degradation(str((config.get("restore") or {}).get("degradation", "")))
            except Exception:
                return None
            return RunKind(name, "restoration", model, task=degradation.task, scale=degradation.scale, demo=demo)
        kind = "points" if _is_points_dataset(str(data.get("name", ""))) else "images"
        return RunKind(name, kind, model, conditional=bool(data.get("conditional")), demo=demo)
    spec = _read_export_spec(path)
    if spec is None:
        return None
    model = str(spec.get("model", ""))
    if is_paired(model):
        return None  # a restoration export without its config names no degradation; gankit restore needs the config too
    kind = "points" if len(spec.get("img_shape", [])) == 1 else "images"
    return RunKind(name, kind, model, conditional=bool(spec.get("num_classes")), demo=demo)


def _read_yaml(path: Path) -> dict[str, Any] | None:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return raw if isinstance(raw, dict) else None


def _read_export_spec(path: Path) -> dict[str, Any] | None:
    from gankit.errors import GankitError
    from gankit.run.export import read_export_spec

    if not (path / "export" / "generator.json").is_file():
        return None
    try:
        return read_export_spec(path / "export")
    except (GankitError, OSError, ValueError):
        return None


def runs_for(root: Path, page: str) -> list[RunKind]:
    """The runs under ``root`` that ``page`` can use, the demo run first, then by name."""
    kinds = PAGE_KINDS[page]
    found = [run_kind(root / name, name) for name in list_runs(root)]
    usable = [r for r in found if r is not None and r.kind in kinds]
    return sorted(usable, key=lambda r: (not r.demo, r.name))
