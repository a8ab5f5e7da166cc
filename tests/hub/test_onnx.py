"""ONNX export of every registered generator, checked against torch with onnxruntime (max |diff| <= 1e-4, 64 samples)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gankit
from gankit.cli import main
from gankit.errors import CheckpointError, ConfigError
from gankit.hub import GeneratorPipeline
from gankit.hub.onnx import ONNX_FORMAT, ONNX_UNSUPPORTED, read_onnx_metadata
from gankit.models import MODELS
from tests.hub.conftest import tiny_generator

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def test_unsupported_families_are_registered_models_with_a_reason():
    assert set(ONNX_UNSUPPORTED) <= set(MODELS.names())
    assert all(isinstance(reason, str) and reason for reason in ONNX_UNSUPPORTED.values())


@pytest.mark.parametrize("name", MODELS.names())
def test_onnxruntime_matches_torch(name, tmp_path):
    generator, spec = tiny_generator(name)
    g = GeneratorPipeline(generator, spec, origin=name)
    path = tmp_path / f"{name}.onnx"
    if name in ONNX_UNSUPPORTED:
        with pytest.raises(ConfigError, match="cannot be exported to ONNX"):
            g.export_onnx(path)
        return
    g.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (64, 3):  # the batch axis is dynamic
        z = torch.randn(batch, spec["latent_dim"], generator=torch.Generator().manual_seed(batch))
        feeds, args = {"z": z.numpy()}, (z,)
        if spec["num_classes"]:
            labels = torch.arange(batch) % spec["num_classes"]
            feeds["labels"], args = labels.numpy(), (z, labels)
        (out,) = session.run(["samples"], feeds)
        with torch.no_grad():
            expected = generator(*args).numpy()
        assert out.shape == expected.shape == (batch, *spec["img_shape"])
        assert np.abs(out - expected).max() <= 1e-4
    meta = read_onnx_metadata(path)
    assert meta["format"] == ONNX_FORMAT and meta["gankit_version"] == gankit.__version__
    assert meta["kind"] == "generator" and meta["spec"]["model"] == name


def test_newer_onnx_format_is_refused(tmp_path):
    generator, spec = tiny_generator("mlp")
    path = GeneratorPipeline(generator, spec).export_onnx(tmp_path / "g.onnx")
    model = onnx.load(str(path))
    for prop in model.metadata_props:
        if prop.key == "gankit_onnx_format":
            prop.value = str(ONNX_FORMAT + 1)
    onnx.save(model, str(path))
    with pytest.raises(CheckpointError, match=f"ONNX format {ONNX_FORMAT + 1} .* is newer than this gankit"):
        read_onnx_metadata(path)


def test_cli_export_onnx(tiny_run, tmp_path, capsys):
    assert main(["export", str(tiny_run), "--format", "onnx", "--out", str(tmp_path / "run.onnx")]) == 0
    assert read_onnx_metadata(tmp_path / "run.onnx")["spec"]["step"] == 6
    assert main(["export", str(tiny_run), "--format", "onnx", "--out", str(tmp_path / "run.png")]) == 2
    assert "give a .onnx file" in capsys.readouterr().err
