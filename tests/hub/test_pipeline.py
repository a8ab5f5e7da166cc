"""``gankit.load``: runs, exports and checkpoints as pipelines; samples checked against a forward pass by hand."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import gankit
from gankit.errors import CheckpointError, ConfigError
from gankit.hub import PIPELINES, GeneratorPipeline, Pipeline
from gankit.hub import pipeline as pipeline_module
from tests.hub.conftest import tiny_generator


def by_hand(generator: torch.nn.Module, latent_dim: int, n: int, seed: int, labels=None) -> torch.Tensor:
    """The documented recipe: z = randn(n, latent) from a CPU generator seeded with ``seed``; x in [-1, 1] -> uint8."""
    z = torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        x = generator(z, labels) if labels is not None else generator(z)
    if x.ndim == 2:
        return x
    return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def test_import_gankit_does_not_import_torch():
    code = "import sys, gankit; assert callable(gankit.load); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("where", ["run", "export", "checkpoint"])
def test_load_samples_match_a_forward_pass_by_hand(tiny_run, where):
    path = {"run": tiny_run, "export": tiny_run / "export", "checkpoint": tiny_run / "checkpoints" / "ckpt-000000006.ckpt"}[where]
    g = gankit.load(path)
    assert isinstance(g, GeneratorPipeline) and g.kind == "generator"
    assert isinstance(g.module, torch.nn.Module) and g.to("cpu") is g and g.device.type == "cpu"
    assert g.spec["model"] == "mlp" and g.spec["step"] == 6 and g.img_shape == (1, 28, 28) and not g.is_points
    images = g.sample(10, seed=4)
    assert images.dtype == torch.uint8 and images.shape == (10, 1, 28, 28)
    assert torch.equal(images, by_hand(g.module, 16, 10, 4))
    assert torch.equal(g.sample(10, seed=4, as_float=True), images.float() / 255)
    assert not torch.equal(g.sample(10, seed=5), images)
    if where != "export":
        assert g.config["model"]["name"] == "mlp" and g.config["train"]["max_steps"] == 6


def test_truncation_draws_from_the_cut_normal(tiny_run):
    g = gankit.load(tiny_run)
    z = torch.nn.init.trunc_normal_(torch.empty(6, 16), a=-0.5, b=0.5, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = ((g.module(z) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    assert torch.equal(g.sample(6, seed=2, truncation=0.5), expected)


def test_conditional_labels_one_class_or_many():
    generator, spec = tiny_generator("mlp_cond")
    g = GeneratorPipeline(generator, spec, origin="tiny")
    assert torch.equal(g.sample(6, seed=1, labels=2), by_hand(generator, 8, 6, 1, torch.full((6,), 2)))
    assert torch.equal(g.sample(3, seed=1, labels=[0, 2, 1]), by_hand(generator, 8, 3, 1, torch.tensor([0, 2, 1])))
    with pytest.raises(ConfigError, match="0..2"):
        g.sample(2, labels=3)
    with pytest.raises(ConfigError, match="2 integer classes"):
        g.sample(2, labels=[0, 1, 2])


def test_vector_generators_give_float_points():
    generator, spec = tiny_generator("mlp2d")
    g = GeneratorPipeline(generator, spec)
    points = g.sample(7, seed=3)
    assert g.is_points and points.dtype == torch.float32 and points.shape == (7, 2)
    torch.testing.assert_close(points, by_hand(generator, 8, 7, 3))


def test_unconditional_generator_refuses_labels(tiny_run):
    with pytest.raises(ConfigError, match="unconditional"):
        gankit.load(tiny_run).sample(2, labels=1)


def test_a_registered_kind_is_built_for_its_families(tiny_run, monkeypatch):
    class Echo(Pipeline):
        kind = "echo"

        def restore(self, images):
            return images

    monkeypatch.setitem(PIPELINES._entries, "echo", Echo)
    monkeypatch.setitem(pipeline_module._FAMILIES, "mlp", "echo")
    loaded = gankit.load(tiny_run)
    assert type(loaded) is Echo and torch.equal(loaded.restore(torch.ones(2)), torch.ones(2))


@pytest.mark.parametrize("make, needle", [
    (lambda p: p, "not a gankit run, export or model directory"),
    (lambda p: p / "nothing-here", "not found"),
    (lambda p: (p / "junk.ckpt").write_bytes(b"\x00" * 100) and p / "junk.ckpt", "not a gankit checkpoint"),
    (lambda p: (p / "config.yaml").write_text("model: {name: mlp}\n") and p, "no valid checkpoint"),
])
def test_what_is_not_a_gankit_model_is_one_clear_error(tmp_path, make, needle):
    with pytest.raises(CheckpointError, match=needle) as caught:
        gankit.load(make(tmp_path))
    assert "\n" not in str(caught.value)
