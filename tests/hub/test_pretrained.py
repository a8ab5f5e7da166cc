"""The Hugging Face layout: bit-identical round trips for every registered model, the model card, and bad input."""

from __future__ import annotations

import json
import pickle

import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.errors import CheckpointError, GankitError
from gankit.hub import GeneratorPipeline, Pipeline
from gankit.hub.pretrained import HF_FORMAT, push_to_hub
from gankit.hub import pipeline_for_model
from gankit.models import MODELS
from gankit.run import RunDir
from tests.hub.conftest import tiny_generator


@pytest.mark.parametrize("name", [n for n in MODELS.names() if pipeline_for_model(n) is GeneratorPipeline])
def test_round_trip_gives_bit_identical_samples(name, tmp_path):
    generator, spec = tiny_generator(name)
    g = GeneratorPipeline(generator, spec, origin=name)
    g.save_pretrained(tmp_path / "hf", num_samples=4)
    back = Pipeline.from_pretrained(tmp_path / "hf")
    assert type(back) is GeneratorPipeline and back.spec == g.spec
    assert torch.equal(back.sample(16, seed=7), g.sample(16, seed=7))
    weights = {k: v for k, v in back.module.state_dict().items()}
    assert all(torch.equal(weights[k], v) for k, v in generator.state_dict().items())


def test_layout_version_and_card(tiny_run, tmp_path):
    RunDir(tiny_run).write_eval({
        "version": 1, "gankit_version": gankit.__version__, "dataset": "squares", "extractor": "evaluator-abc",
        "evaluator": {"id": "evaluator-abc"}, "num": 100, "seed": 0,
        "metrics": {"fid": 23.5, "precision": 0.81}, "floor": {"fid": 12.2, "precision": 0.845},
        "modes": {"modes": 7, "num_modes": 8, "high_quality": 0.9}, "modes_floor": {"modes": 8, "num_modes": 8, "high_quality": 0.989},
    })
    out = gankit.load(tiny_run).save_pretrained(tmp_path / "hf", num_samples=16)
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors", "samples.png"]
    config = json.loads((out / "config.json").read_text())
    assert config["format"] == HF_FORMAT and config["gankit_version"] == gankit.__version__
    assert config["library_name"] == "gankit" and config["model"] == "mlp" and config["step"] == 6
    assert config["training_config"]["data"]["name"] == "squares"
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: gankit\n")
    assert "| fid | 23.5 | 12.2 |" in card and "| precision | 0.81 | 0.845 |" in card and "evaluator-abc" in card
    assert "| modes | 7/8 | 8/8 |" in card and "| high_quality | 0.9 | 0.989 |" in card
    assert "![16 samples, seed 0](samples.png)" in card and "The run follows no shipped preset." in card
    with Image.open(out / "samples.png") as grid:
        assert grid.size == (4 * 30 + 2, 4 * 30 + 2)  # 4x4 images of 28 px with 2 px of padding
    assert torch.equal(gankit.load(out).sample(16, seed=0), gankit.load(tiny_run).sample(16))


def test_push_without_huggingface_hub_or_token_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "huggingface_hub", None)
    with pytest.raises(GankitError, match="needs huggingface_hub"):
        push_to_hub(tmp_path, "me/model")


# ----------------------------------------------------------------- bad input: API and CLI, one line each
class CreatesAFile:
    """Unpickling this calls ``open(path, "w")``: a stand-in for arbitrary code."""

    def __init__(self, path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _pickle_weights(directory, marker):
    (directory / "model.safetensors").write_bytes(pickle.dumps({"weight": CreatesAFile(marker)}))


def _unknown_model(directory, marker):
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "model": "stylegan9"}))


def _truncated_weights(directory, marker):
    data = (directory / "model.safetensors").read_bytes()
    (directory / "model.safetensors").write_bytes(data[: len(data) // 2])


def _newer_format(directory, marker):
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "format": HF_FORMAT + 1, "gankit_version": "9.0.0"}))


BAD = {
    "pickle": (_pickle_weights, "model.safetensors: not a valid safetensors file"),
    "unknown_model": (_unknown_model, "model 'stylegan9' is not one this gankit has; known: dcgan"),
    "truncated": (_truncated_weights, "model.safetensors: not a valid safetensors file"),
    "newer_format": (_newer_format, "format 2 (written by gankit 9.0.0) is newer than this gankit 0.1.0 reads"),
}


@pytest.fixture
def bad_dir(request, tiny_run, tmp_path):
    directory = gankit.load(tiny_run).save_pretrained(tmp_path / "hf", num_samples=1)
    marker = tmp_path / "PAYLOAD-RAN"
    spoil, needle = BAD[request.param]
    spoil(directory, marker)
    yield directory, needle
    assert not marker.exists(), "the pickle payload ran"


def test_the_pickle_payload_is_live(tmp_path):
    marker = tmp_path / "control"
    pickle.loads(pickle.dumps(CreatesAFile(marker)))
    assert marker.exists()


@pytest.mark.parametrize("bad_dir", list(BAD), indirect=True)
def test_bad_model_directory_via_the_api(bad_dir):
    directory, needle = bad_dir
    with pytest.raises(CheckpointError) as caught:
        gankit.load(directory)
    assert needle in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("bad_dir", list(BAD), indirect=True)
def test_bad_model_directory_via_the_cli(bad_dir, tmp_path, capsys):
    directory, needle = bad_dir
    assert main(["export", str(directory), "--format", "onnx", "--out", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gankit: error: ") and needle in err and "Traceback" not in err
    assert not (tmp_path / "x.onnx").exists()


def test_the_card_names_the_preset_a_run_follows():
    from gankit.hub.pretrained import matching_preset
    from gankit.training.config import config_to_dict, load_config

    config = config_to_dict(load_config("mnist_dcgan", ["train.max_steps=5", "train.seed=3", "data.dir=/elsewhere"]))
    assert matching_preset(config) == "mnist_dcgan"  # length, seed and data root do not change the recipe
    config["optim"]["lr_g"] = 1e-4
    assert matching_preset(config) is None
