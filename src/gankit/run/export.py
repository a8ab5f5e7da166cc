"""The exported generator: ``generator.safetensors`` and ``generator.json``, versioned.

``generator.json`` holds ``format`` (:data:`EXPORT_FORMAT`), ``gankit_version``, then the
generator's spec (:func:`gankit.models.generator_spec`) and the training ``step``. Format 0 is
the same spec without the first two keys, written before exports carried a version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from gankit import __version__
from gankit.errors import CheckpointError, first_line
from gankit.run.files import atomic_write, check_format

EXPORT_FORMAT = 1
"""The layout of ``export/generator.json``; an export without a ``format`` key is format 0."""


def write_export(directory: str | Path, generator: nn.Module, spec: dict[str, Any]) -> Path:
    """Write ``generator.safetensors`` and ``generator.json`` (``format`` 1, the writing gankit, then ``spec``)."""
    from safetensors.torch import save

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights = {k: v.detach().cpu().contiguous() for k, v in generator.state_dict().items()}
    atomic_write(directory / "generator.safetensors", save(weights))
    meta = {"format": EXPORT_FORMAT, "gankit_version": __version__, **{k: v for k, v in spec.items() if k not in ("format", "gankit_version")}}
    atomic_write(directory / "generator.json", json.dumps(meta, indent=2) + "\n")
    return directory


def migrate_export_spec(raw: Any, origin: str) -> dict[str, Any]:
    """A ``generator.json`` of any format this gankit reads, as format 1.

    Format 0 (no ``format`` key) holds the same keys as format 1 without ``format`` and
    ``gankit_version``; the migration adds them (the writer's version as ``unknown``).

    Raises:
        CheckpointError: not a mapping, or a format newer than :data:`EXPORT_FORMAT`.
    """
    if not isinstance(raw, dict):
        raise CheckpointError(f"{origin}: generator.json is not a mapping of keys")
    fmt = check_format(raw.get("format", 0), EXPORT_FORMAT, "export", origin, raw.get("gankit_version"))
    if fmt == 0:
        raw = {"format": 1, "gankit_version": "unknown", **raw}
    return raw


def read_export_spec(directory: str | Path) -> dict[str, Any]:
    """The (migrated) spec of the export in ``directory``."""
    directory = Path(directory)
    path = directory / "generator.json"
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing; an exported generator needs generator.json and generator.safetensors") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckpointError(f"{directory}: cannot read generator.json ({first_line(exc)})") from None
    return migrate_export_spec(raw, str(directory))


def load_export(directory: str | Path, device: str | torch.device = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild an exported generator: the generator in eval mode and its (format 1) spec.

    Raises:
        CheckpointError: a missing, damaged or newer-format export, or weights that do not fit the spec.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from gankit.models import check_class_prior, create_model

    directory = Path(directory)
    weights_path = directory / "generator.safetensors"
    spec = read_export_spec(directory)
    if not weights_path.is_file():
        raise CheckpointError(f"{weights_path}: missing; an exported generator needs generator.json and generator.safetensors")
    try:
        if "class_prior" in spec:
            check_class_prior(spec["class_prior"], spec["num_classes"])
        pair = create_model(spec["model"], tuple(spec["img_shape"]), spec["latent_dim"], spec["num_classes"], **spec["options"])
        pair.generator.load_state_dict(load_file(str(weights_path)))
    except (ValueError, KeyError, RuntimeError, OSError, TypeError, AttributeError, SafetensorError) as exc:
        raise CheckpointError(f"{directory}: cannot rebuild the exported generator ({first_line(exc)})") from None
    return pair.generator.to(device).eval(), spec
