"""The perceptual loss on user-supplied VGG-16 weights: the network is torchvision's, a bad file is one line.
pytest tests/restore/test_perceptual.py."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models.vgg import cfgs, make_layers

from gankit.data import ImageDataset
from gankit.errors import ConfigError
from gankit.restore.perceptual import load_perceptual_loss, vgg16_to_relu3_3
from gankit.training.config import config_from_dict
from gankit.training.trainer import Trainer


def _torchvision_vgg() -> torch.nn.Sequential:
    torch.manual_seed(0)
    return make_layers(cfgs["D"])[:16]  # torchvision's vgg16().features[:16], without building the classifier


def test_the_network_is_torchvisions_vgg16_up_to_relu3_3(tmp_path):
    reference = _torchvision_vgg().eval()
    assert {k: v.shape for k, v in vgg16_to_relu3_3().state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, tmp_path / "vgg.safetensors")
    loss = load_perceptual_loss(tmp_path / "vgg.safetensors")
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    x = ((images + 1) / 2 - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    torch.testing.assert_close(loss._features(images), reference(x))
    assert float(loss(images, images)) == 0.0 and float(loss(images, images.flip(-1))) > 0


def test_a_file_that_is_not_the_network_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_perceptual_loss(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(ConfigError, match="is not a safetensors file"):
        load_perceptual_loss(tmp_path / "junk.safetensors")
    save_file({"0.weight": torch.zeros(3, 3)}, tmp_path / "other.safetensors")
    with pytest.raises(ConfigError, match="does not hold VGG-16's layers 0-15"):
        load_perceptual_loss(tmp_path / "other.safetensors")


def test_a_restoration_run_trains_with_the_perceptual_loss(tmp_path):
    save_file({k: v.contiguous() for k, v in _torchvision_vgg().state_dict().items()}, tmp_path / "vgg.safetensors")
    raw = {"model": {"name": "pix2pix", "options": {"g_width": 4, "d_width": 4}}, "train": {"batch_size": 4},
           "restore": {"degradation": "gaussian_noise", "perceptual_weight": 0.1}}
    images = torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8)
    with pytest.raises(ConfigError, match="needs restore.perceptual_weights"):
        Trainer(config_from_dict(raw), tmp_path / "a", dataset=ImageDataset("tiny", images, None))
    raw["restore"]["perceptual_weights"] = str(tmp_path / "vgg.safetensors")
    trainer = Trainer(config_from_dict(raw), tmp_path / "b", dataset=ImageDataset("tiny", images, None))
    stats = trainer.train_step(*trainer.next_batch(), with_stats=True)
    assert stats["perceptual"] > 0
