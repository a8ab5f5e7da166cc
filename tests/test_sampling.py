"""Discriminator-picked samples (``--d-keep``): the selection by hand, the draw counts, and what is refused."""

import shutil

import pytest
import torch
from torch import nn

from gankit.errors import CheckpointError, ConfigError
from gankit.sampling import candidates_for, load_run_discriminator, select_by_discriminator
from gankit.training.checkpoint import load_latest_checkpoint


class MeanPixel(nn.Module):
    """A stand-in D whose logit is the mean input value: brighter images look more real."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x.flatten(1).mean(1)


def test_keeps_the_images_d_rates_highest_in_drawing_order():
    values = [10, 200, 50, 255, 0, 128]
    images = torch.tensor(values, dtype=torch.uint8).view(6, 1, 1, 1).expand(6, 1, 2, 2).contiguous()
    kept = select_by_discriminator(MeanPixel(), images, 3, batch_size=4)  # batches of 4 and 2
    assert kept[:, 0, 0, 0].tolist() == [200, 255, 128]  # by hand: the three brightest, as drawn
    assert kept.dtype == torch.uint8


def test_vectors_are_scored_as_they_are_and_ties_keep_the_earlier():
    points = torch.tensor([[0.5, 9.0], [-1.0, 9.0], [2.0, 9.0], [0.5, 9.0], [0.1, 9.0]])
    first = type("First", (MeanPixel,), {"forward": lambda self, x: x[:, 0]})()
    assert select_by_discriminator(first, points, 2).tolist() == [[0.5, 9.0], [2.0, 9.0]]  # row 0 beats tied row 3
    assert select_by_discriminator(first, points, 5).tolist() == points.tolist()


@pytest.mark.parametrize("num, keep, draws", [(2000, 0.67, 2986), (2000, 0.5, 4000), (10, 1.0, 10), (3, 0.25, 12), (7, 0.3, 24)])
def test_candidates_by_hand(num, keep, draws):
    assert candidates_for(num, keep) == draws


@pytest.mark.parametrize("keep", [0.0, -0.5, 1.5, float("nan")])
def test_keep_outside_the_range_is_refused(keep):
    with pytest.raises(ConfigError, match=r"--d-keep: .* is outside \(0, 1\]"):
        candidates_for(10, keep)


def _train(tmp_path, **model):
    import yaml

    from gankit.cli import main
    from tests.conftest import tiny_config_dict

    raw = tiny_config_dict()
    raw["model"].update(model)
    if model.get("name") == "mlp_cond":
        raw["data"]["conditional"] = True
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    assert main(["train", str(tmp_path / "c.yaml"), "--run-dir", str(tmp_path / "run"), "--max-steps", "2", "--no-progress"]) == 0
    return tmp_path / "run"


def test_the_run_discriminator_is_the_checkpoints(tmp_path):
    run = _train(tmp_path)
    discriminator = load_run_discriminator(run)
    _, state = load_latest_checkpoint(run / "checkpoints")
    loaded = discriminator.state_dict()
    assert loaded.keys() == state["discriminator"].keys()
    assert all(torch.equal(loaded[k], state["discriminator"][k]) for k in loaded)
    assert not discriminator.training  # dropout off: the same image always gets the same score


@pytest.mark.parametrize("model, needle", [
    ({"name": "mlp_cond"}, "unconditional runs only"),
    ({"name": "vae", "options": {"g_width": 8, "d_width": 8}}, "a VAE run has an encoder"),
    ({"name": "dcgan", "options": {"g_width": 8, "d_width": 8, "pack": 2}}, "scores each image alone"),
    ({"name": "dcgan", "options": {"g_width": 8, "d_width": 8, "d_norm": "none", "mbstd_group": 2}}, "scores each image alone"),
])
def test_discriminators_that_cannot_rank_single_images_are_refused(tmp_path, model, needle):
    run = _train(tmp_path, **model)
    with pytest.raises(ConfigError, match=needle):
        load_run_discriminator(run)


def test_an_export_alone_is_refused(tmp_path):
    run = _train(tmp_path)
    shutil.rmtree(run / "checkpoints")
    with pytest.raises(CheckpointError, match="needs a training checkpoint"):
        load_run_discriminator(run)


def test_a_module_giving_more_than_one_score_per_sample_is_refused():
    images = torch.zeros(4, 1, 2, 2, dtype=torch.uint8)
    with pytest.raises(ConfigError, match="one score per sample"):
        select_by_discriminator(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), images, 2)  # (B, 2) scores
