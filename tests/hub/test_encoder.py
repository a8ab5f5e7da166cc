"""gankit.load of an encoder run gives encode / decode / reconstruct: pytest tests/hub/test_encoder.py.

The pipeline's codes are checked against the encoder network called by hand on images scaled to [-1, 1], and its
images against the generator run's G called by hand and rounded to uint8."""

from __future__ import annotations

import pytest
import torch

import gankit
from gankit.cli import main
from gankit.edit.runs import load_encoder, load_generator_run
from gankit.errors import GankitError
from gankit.hub import EncoderPipeline, GeneratorPipeline
from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer

LATENT = 8


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoder")
    raw = {"data": {"name": "squares"}, "model": {"name": "dcgan", "latent_dim": LATENT,
                                                  "options": {"g_width": 8, "d_width": 8, "g_dense": 32, "d_dense": 32}},
           "train": {"batch_size": 16, "max_steps": 2, "num_samples": 4, "checkpoint_every": 2}, "ema": {"half_life_kimg": 0.01}}
    Trainer(config_from_dict(raw), root / "gen").train(progress=False)
    assert main(["train", "--objective", "encoder", "--generator", str(root / "gen"), "--run-dir", str(root / "enc"),
                 "--max-steps", "2", "--set", "train.batch_size=8", "--no-progress"]) == 0
    return root / "gen", root / "enc"


def _images(n: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, 28, 28), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_an_encoder_run_loads_as_an_encoder_pipeline_whose_codes_are_the_networks(runs):
    gen_dir, enc_dir = runs
    pipeline = gankit.load(enc_dir)
    assert isinstance(pipeline, EncoderPipeline) and pipeline.kind == "encoder"
    assert isinstance(gankit.load(gen_dir), GeneratorPipeline)  # the generator run itself is unchanged
    network = load_encoder(enc_dir, load_generator_run(gen_dir))
    images = _images(5)
    with torch.no_grad():
        expected = network(images.float() / 127.5 - 1.0)  # (5, L), E on [-1, 1] images by hand
    z = pipeline.encode(images)
    assert z.shape == (5, LATENT) and z.dtype == torch.float32
    torch.testing.assert_close(z, expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(pipeline.encode(images, batch_size=2), expected, atol=1e-6, rtol=0)


def test_decode_draws_with_the_generator_it_was_trained_against(runs):
    gen_dir, enc_dir = runs
    pipeline = gankit.load(enc_dir)
    generator = gankit.load(gen_dir).module
    z = torch.randn(4, LATENT, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = ((generator(z) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)  # by hand
    assert torch.equal(pipeline.decode(z), expected)
    images = _images(3, seed=1)
    assert torch.equal(pipeline.reconstruct(images), pipeline.decode(pipeline.encode(images)))
    assert torch.equal(pipeline.generator.sample(2, seed=0), gankit.load(gen_dir).sample(2, seed=0))


def test_bad_input_and_unsupported_saves_are_one_line(runs, tmp_path):
    _, enc_dir = runs
    pipeline = gankit.load(enc_dir)
    with pytest.raises(GankitError, match=r"uint8 \(N, 1, 28, 28\)"):
        pipeline.encode(_images(2).float())
    with pytest.raises(GankitError, match=r"uint8 \(N, 1, 28, 28\)"):
        pipeline.encode(torch.zeros(2, 3, 28, 28, dtype=torch.uint8))
    with pytest.raises(GankitError, match=f"float \\(N, {LATENT}\\)"):
        pipeline.decode(torch.zeros(2, LATENT + 1))
    with pytest.raises(GankitError, match="not written in the Hugging Face layout"):
        pipeline.save_pretrained(tmp_path / "hf")
    with pytest.raises(GankitError, match="not exported to ONNX"):
        pipeline.export_onnx(tmp_path / "e.onnx")
    assert not any(tmp_path.iterdir())
