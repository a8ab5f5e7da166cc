"""A generator as an ONNX file, for onnxruntime and other ONNX runtimes.

The graph (TorchScript exporter, opset :data:`OPSET`) takes ``z`` float32 (N, latent_dim) and, for a
conditional generator, ``labels`` int64 (N,); it returns ``samples``: images float32 (N, C, H, W) in
[-1, 1] (gankit's uint8 images are ``round((x + 1) * 127.5)``), or points (N, D). N is a dynamic axis.
The file's metadata holds ``gankit_version``, ``gankit_onnx_format`` (:data:`ONNX_FORMAT`), ``kind`` and
``spec`` (the JSON spec of :func:`gankit.models.generator_spec`); :func:`read_onnx_metadata` refuses a
newer format with one line.

Every registered generator exports (``tests/hub/test_onnx.py`` checks each against torch with
onnxruntime); :data:`ONNX_UNSUPPORTED` names the families that cannot, with the reason.
"""

from __future__ import annotations

import copy
import io
import json
import warnings
from pathlib import Path
from typing import Any

import torch

from gankit import __version__
from gankit.errors import CheckpointError, ConfigError, GankitError, first_line

ONNX_FORMAT = 1
"""The layout of gankit's ONNX files: the inputs, output and metadata described above."""
OPSET = 17
ONNX_UNSUPPORTED: dict[str, str] = {}
"""Model family -> why its generator cannot be exported to ONNX (none at present)."""


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise GankitError("ONNX export needs the onnx package: pip install 'gankit[onnx]'") from None
    return onnx


def onnx_inputs(spec: dict[str, Any], batch: int = 2) -> tuple[tuple[torch.Tensor, ...], list[str]]:
    """Example inputs of the graph (zeros) and their names: ``z`` (B, latent), and ``labels`` (B,) when conditional."""
    z = torch.zeros(batch, spec["latent_dim"])
    if spec.get("num_classes", 0):
        return (z, torch.zeros(batch, dtype=torch.long)), ["z", "labels"]
    return (z,), ["z"]


def export_onnx(pipeline: Any, path: str | Path) -> Path:
    """Write ``pipeline``'s generator to ``path`` as ONNX (written atomically).

    Raises:
        ConfigError: a family listed in :data:`ONNX_UNSUPPORTED`, or a path that is not ``.onnx`` in an existing folder.
        GankitError: onnx is not installed, or the exporter fails (one line).
    """
    from gankit.run import atomic_write

    path = Path(path)
    if path.suffix.lower() != ".onnx" or not path.parent.is_dir() or path.is_dir():
        raise ConfigError(f"--out {path}: give a .onnx file in an existing folder")
    name = pipeline.model_name
    if name in ONNX_UNSUPPORTED:
        raise ConfigError(f"model {name!r} cannot be exported to ONNX: {ONNX_UNSUPPORTED[name]}")
    onnx = _require_onnx()
    module = copy.deepcopy(pipeline.module).cpu().eval()
    args, names = onnx_inputs(pipeline.spec)
    if hasattr(module, "input_shape"):  # an image-to-image generator: its input is the degraded image
        args, names = (torch.zeros(2, *module.input_shape),), ["degraded"]
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, args, buffer, dynamo=False, input_names=names, output_names=["samples"],
                              dynamic_axes={n: {0: "batch"} for n in [*names, "samples"]}, opset_version=OPSET)
    except Exception as exc:  # the exporter's many failure types: one line naming the model
        raise GankitError(f"model {name!r} could not be exported to ONNX ({first_line(exc)})") from None
    model = onnx.load_from_string(buffer.getvalue())
    spec = {k: v for k, v in pipeline.spec.items() if k not in ("format", "gankit_version")}
    meta = {"gankit_version": __version__, "gankit_onnx_format": str(ONNX_FORMAT), "kind": pipeline.kind,
            "spec": json.dumps(spec)}
    for key, value in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return atomic_write(path, model.SerializeToString())


def read_onnx_metadata(path: str | Path) -> dict[str, Any]:
    """The gankit metadata of an ONNX file: ``gankit_version``, ``format``, ``kind`` and ``spec``.

    Raises:
        CheckpointError: not an ONNX file of gankit's, or of a newer format than this gankit reads.
    """
    from gankit.run import check_format

    onnx = _require_onnx()
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's parse errors: the file's fault
        raise CheckpointError(f"{path}: not an ONNX file ({first_line(exc)})") from None
    props = {p.key: p.value for p in model.metadata_props}
    if "gankit_onnx_format" not in props:
        raise CheckpointError(f"{path}: not written by gankit (no gankit_onnx_format in its metadata)")
    raw = props["gankit_onnx_format"]
    fmt = check_format(int(raw) if raw.isdigit() else raw, ONNX_FORMAT, "ONNX", str(path), props.get("gankit_version"))
    try:
        spec = json.loads(props.get("spec", ""))
    except ValueError:
        raise CheckpointError(f"{path}: its spec metadata is not JSON") from None
    return {"gankit_version": props.get("gankit_version"), "format": fmt, "kind": props.get("kind"), "spec": spec}
