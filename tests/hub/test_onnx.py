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
from gankit.models import MODELS, create_model, generator_spec
from tests.hub.conftest import tiny_generator

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def test_unsupported_families_are_registered_models_with_a_reason():
    assert set(ONNX_UNSUPPORTED) <= set(MODELS.names())
    assert all(isinstance(reason, str) and reason for reason in ONNX_UNSUPPORTED.values())


VARIANTS = {  # generator options that change G's graph, beyond each family's tiny defaults
    "dcgan-skip_excitation": ("dcgan", (3, 32, 32), 0, {"g_width": 8, "d_width": 8, "skip_excitation": True}),
    "dcgan-g_dense": ("dcgan", (1, 28, 28), 0, {"g_width": 8, "d_width": 8, "g_dense": 1}),
    "dcgan_cond-embed": ("dcgan_cond", (1, 28, 28), 3, {"g_width": 8, "d_width": 8, "conditioning": "embed"}),
    "hybrid-dcgan-codes": ("hybrid", (1, 28, 28), 0, {"g_width": 8, "d_width": 8, "generator": "dcgan", "components": 3}),
}


def _variant(key: str):
    name, shape, num_classes, options = VARIANTS[key]
    torch.manual_seed(0)
    generator = create_model(name, shape, 8, num_classes, **options).generator.eval()
    return generator, generator_spec(name, shape, 8, num_classes, options)


@pytest.mark.parametrize("name", MODELS.names() + sorted(VARIANTS))
def test_onnxruntime_matches_torch(name, tmp_path):
    generator, spec = _variant(name) if name in VARIANTS else tiny_generator(name)
    name = spec["model"]
    g = GeneratorPipeline(generator, spec, origin=name)
    path = tmp_path / f"{name}.onnx"
    if name in ONNX_UNSUPPORTED:
        with pytest.raises(ConfigError, match="cannot be exported to ONNX"):
            g.export_onnx(path)
        return
    g.export_onnx(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    if hasattr(generator, "input_shape"):  # image-to-image: the input is a degraded image in [-1, 1]
        for batch in (64, 3):
            degraded = torch.rand(batch, *generator.input_shape, generator=torch.Generator().manual_seed(batch)) * 2 - 1
            (out,) = session.run(["samples"], {"degraded": degraded.numpy()})
            with torch.no_grad():
                expected = generator(degraded).numpy()
            assert out.shape == expected.shape == (batch, *spec["img_shape"])
            assert np.abs(out - expected).max() <= 1e-4
        return
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
