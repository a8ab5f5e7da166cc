"""Discriminator-picked samples (``--d-keep``): the selection by hand, the draw counts, and what is refused."""

import shutil

import pytest
import torch
from torch import nn

from gankit.errors import CheckpointError, ConfigError
from gankit.sampling import candidates_for, load_run_discriminator, select_by_discriminator
from gankit.run import latest_checkpoint_file


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
    _, state = latest_checkpoint_file(run / "checkpoints")
    loaded = discriminator.state_dict()
    assert loaded.keys() == state["discriminator"].keys()
    assert all(torch.equal(loaded[k], state["discriminator"][k]) for k in loaded)
    assert not discriminator.training  # dropout off: the same image always gets the same score


@pytest.mark.parametrize("model, needle", [
    ({"name": "mlp_cond"}, "unconditional runs only"),
    ({"name": "vae", "options": {"g_width": 8, "d_width": 8}}, "a VAE run has an encoder"),
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


class _PackedSum(nn.Module):
    """A PacGAN-style D for 2D points with a known answer: a pack's logit is the sum of -|x|^2 over its members."""

    pack_size = 2

    def __init__(self) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(()))  # only so that the module has a device

    def forward(self, points: torch.Tensor) -> torch.Tensor:  # (B, 2) -> (B / 2,)
        return -points.square().sum(dim=1).reshape(-1, 2).sum(dim=1) + self.anchor


def test_a_packed_discriminator_ranks_each_sample_by_its_own_share_of_the_pack_logits():
    """With a logit additive over the pack, a sample's averaged score is its own term plus its partners' mean:
    the points near the origin (own term 0) beat the far ones (-100) whatever partners they drew."""
    gen = torch.Generator().manual_seed(0)
    near = torch.randn(10, 2, generator=gen) * 1e-3
    far = torch.nn.functional.normalize(torch.randn(10, 2, generator=gen), dim=1) * 10.0
    order = torch.randperm(20, generator=gen)
    samples = torch.cat([near, far])[order]
    kept = select_by_discriminator(_PackedSum(), samples, 10, batch_size=7, rounds=32)
    assert sorted(kept.norm(dim=1).tolist()) == sorted(near.norm(dim=1).tolist())
    torch.testing.assert_close(kept, samples[samples.norm(dim=1) < 1])  # in their original order


def test_a_packed_run_can_be_sampled_through_its_discriminator(tmp_path):
    run = _train(tmp_path, name="dcgan", options={"g_width": 8, "d_width": 8, "pack": 2})
    discriminator = load_run_discriminator(run)
    assert discriminator.pack_size == 2
    images = torch.randint(0, 256, (12, 1, 28, 28), dtype=torch.uint8)
    kept = select_by_discriminator(discriminator, images, 5, batch_size=4)
    assert kept.shape == (5, 1, 28, 28)
    assert all(any(torch.equal(k, i) for i in images) for k in kept)


# ------------------------------------------------------------------------------------------ the one sampling path
class _Affine(nn.Module):
    """A stand-in G with a known output: images x = tanh(z @ w) laid out as (N, 1, 2, 2), or points z @ w."""

    def __init__(self, latent: int, images: bool) -> None:
        super().__init__()
        self.images = images
        self.weight = nn.Parameter(torch.linspace(-1.0, 1.0, latent * 4).reshape(latent, 4) if images else
                                   torch.linspace(-2.0, 2.0, latent * 2).reshape(latent, 2))
        self.calls: list[tuple[int, bool]] = []

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.calls.append((len(z), self.training))
        out = z @ self.weight
        return torch.tanh(out).reshape(-1, 1, 2, 2) if self.images else out


def test_images_are_the_generators_output_rounded_to_uint8():
    from gankit.sampling import draw_samples

    generator = _Affine(3, images=True).train()
    images = draw_samples(generator, {"latent_dim": 3, "num_classes": 0}, 7, seed=11, batch_size=3)
    z = torch.randn(7, 3, generator=torch.Generator().manual_seed(11))
    expected = ((torch.tanh(z @ generator.weight.detach()) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).reshape(7, 1, 2, 2)
    assert images.dtype == torch.uint8 and torch.equal(images, expected)
    assert generator.calls == [(3, False), (3, False), (1, False)] and generator.training  # eval to draw, then back


def test_points_are_the_generators_raw_float32_output():
    from gankit.sampling import draw_samples

    generator = _Affine(3, images=False)
    points = draw_samples(generator, {"latent_dim": 3, "num_classes": 0}, 2500, seed=0)
    z = torch.randn(2500, 3, generator=torch.Generator().manual_seed(0))
    assert points.dtype == torch.float32 and points.shape == (2500, 2)
    torch.testing.assert_close(points, z @ generator.weight.detach())
    assert points.abs().max() > 1.5  # not quantised to [-1, 1] images
