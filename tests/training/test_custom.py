"""``gankit.train``: the user's own networks and data through gankit's loop, checkpoints, resume and loading."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

import gankit
from gankit.cli import main
from gankit.errors import CheckpointError, ConfigError, DataError
from gankit.training.custom import as_dataset


def networks(seed: int = 0, out: int = 1):
    torch.manual_seed(seed)
    generator = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 36), nn.Tanh(), nn.Unflatten(1, (1, 6, 6)))
    head = [nn.Flatten(0)] if out == 1 else []
    discriminator = nn.Sequential(nn.Flatten(), nn.Linear(36, 32), nn.LeakyReLU(0.2), nn.Linear(32, out), *head)
    return generator, discriminator


def images(n: int = 64) -> torch.Tensor:
    return torch.rand(n, 1, 6, 6, generator=torch.Generator().manual_seed(3))  # float in [0, 1]


def weights(module: nn.Module) -> list[torch.Tensor]:
    return [t.clone() for t in module.state_dict().values()]


def test_train_writes_a_run_and_returns_the_generator(tmp_path):
    g, d = networks()
    pipeline = gankit.train(g, d, images(), tmp_path / "run", steps=6, latent_dim=8, loss="hinge", batch_size=16,
                            overrides=["train.log_every=2", "reg.r1_gamma=1.0", "reg.r1_every=1"])
    assert pipeline.module is g and pipeline.spec["model"] == "custom" and pipeline.spec["step"] == 6
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4, 6] and all("d_loss" in r and "r1" in r for r in records)
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert "name: custom" in config and "name: hinge" in config
    assert torch.equal(pipeline.sample(5, seed=1), gankit.load(tmp_path / "run", generator=networks(seed=9)[0]).sample(5, seed=1))


def test_resume_is_bit_identical_to_an_unbroken_run(tmp_path):
    straight = networks()
    gankit.train(*straight, images(), tmp_path / "a", steps=8, latent_dim=8, batch_size=16)
    first = networks()
    gankit.train(*first, images(), tmp_path / "b", steps=4, latent_dim=8, batch_size=16)
    again = networks(seed=5)  # fresh modules of the same classes: resume loads the weights
    gankit.train(*again, images(), tmp_path / "b", steps=8, latent_dim=8, batch_size=16, resume=True)
    for a, b in zip(weights(straight[0]) + weights(straight[1]), weights(again[0]) + weights(again[1])):
        assert torch.equal(a, b)


def test_conditional_networks_get_the_labels(tmp_path):
    seen = []

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.body = nn.Embedding(3, 8), networks()[0]

        def forward(self, z, labels):
            seen.append(labels.clone())
            return self.body(z + self.embed(labels))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed, self.body = nn.Embedding(3, 36), networks()[1]

        def forward(self, x, labels):
            return self.body(x + self.embed(labels).view(-1, 1, 6, 6))

    data = torch.utils.data.TensorDataset(images(), torch.arange(64) % 3)
    pipeline = gankit.train(Generator(), Discriminator(), data, tmp_path / "run", steps=2, latent_dim=8, batch_size=16,
                            conditional=True)
    assert pipeline.num_classes == 3 and seen and all(0 <= int(l.min()) and int(l.max()) < 3 for l in seen)
    seen.clear()
    pipeline.sample(4, labels=2)
    assert torch.equal(seen[-1], torch.full((4,), 2))


def test_data_forms():
    uint8 = torch.randint(0, 256, (5, 3, 4, 4), dtype=torch.uint8)
    assert torch.equal(as_dataset(uint8).images, uint8)
    assert torch.equal(as_dataset(uint8.float() / 255).images, uint8)
    points = torch.randn(5, 2)
    assert torch.equal(as_dataset(points).images, points)
    pairs = as_dataset(torch.utils.data.TensorDataset(uint8, torch.tensor([0, 1, 0, 2, 1])))
    assert pairs.num_classes == 3 and pairs.labels.tolist() == [0, 1, 0, 2, 1]


@pytest.mark.parametrize("case, error, needle", [
    ("d_shape", ConfigError, "logits of shape (2,)"),
    ("latent", ConfigError, "set latent_dim"),
    ("range", DataError, "must lie in [0, 1]"),
    ("dtype", DataError, "expected images"),
])
def test_bad_input_is_one_line(tmp_path, case, error, needle):
    g, d = networks(out=2) if case == "d_shape" else networks()
    data = {"range": images() * 2 - 1, "dtype": torch.zeros(4, 3, dtype=torch.int64)}.get(case, images())
    with pytest.raises(error) as caught:
        gankit.train(g, d, data, tmp_path / "run", steps=2, latent_dim=4 if case == "latent" else 8, batch_size=16)
    assert needle in str(caught.value) and "\n" not in str(caught.value)


def test_a_custom_run_needs_the_users_classes(tmp_path, capsys):
    gankit.train(*networks(), images(), tmp_path / "run", steps=2, latent_dim=8, batch_size=16)
    with pytest.raises(ConfigError, match="resume=True"):
        gankit.train(*networks(), images(), tmp_path / "run", steps=4, latent_dim=8, batch_size=16)
    for where in (tmp_path / "run", tmp_path / "run" / "export"):
        with pytest.raises(CheckpointError, match=r"generator=MyGenerator"):
            gankit.load(where)
    exported = gankit.load(tmp_path / "run" / "export", generator=networks(seed=4)[0])
    assert torch.equal(exported.sample(3), gankit.load(tmp_path / "run", generator=networks(seed=5)[0]).sample(3))
    assert main(["train", "--resume", str(tmp_path / "run"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "continue it in Python" in err
