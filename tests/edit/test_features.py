"""Feature nets for the perceptual term (pytest run): the user's VGG-16 weights load from safetensors or a weights-only
file, give the layers' unit-normalised features, and a file that is not VGG-16 is one clear error."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from torchvision.models import vgg16

from gankit.edit.features import VGG_TAPS, vgg_features
from gankit.errors import ConfigError


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    state = {f"features.{k}": v.contiguous() for k, v in vgg16(weights=None).features.state_dict().items()}
    path = tmp_path_factory.mktemp("vgg") / "vgg16.safetensors"
    save_file(state, str(path))
    return path, state


def test_vgg_features_are_the_taps_normalised_per_position(weights):
    path, state = weights
    net = vgg_features(path)
    images = torch.rand(2, 1, 32, 32) * 2 - 1
    reference = vgg16(weights=None).features
    reference.load_state_dict({k.removeprefix("features."): v for k, v in state.items()})
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    x = ((images.repeat(1, 3, 1, 1) + 1) / 2 - mean) / std
    expected = []
    with torch.no_grad():
        for index, layer in enumerate(reference[:VGG_TAPS[-1] + 1]):
            x = layer(x)
            if index in VGG_TAPS:
                unit = x / (x.norm(dim=1, keepdim=True) + 1e-10)
                expected.append(unit.flatten(1) / (x.shape[2] * x.shape[3]) ** 0.5)
        torch.testing.assert_close(net(images), torch.cat(expected, dim=1))


def test_weights_only_torch_files_load_and_bad_files_are_refused(weights, tmp_path):
    _, state = weights
    torch.save(state, tmp_path / "vgg.pt")
    assert vgg_features(tmp_path / "vgg.pt") is not None
    torch.save({"features.0.weight": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(ConfigError, match="not VGG-16 weights"):
        vgg_features(tmp_path / "other.pt")
    (tmp_path / "junk.safetensors").write_bytes(b"junk")
    with pytest.raises(ConfigError, match="cannot read it"):
        vgg_features(tmp_path / "junk.safetensors")
    with pytest.raises(ConfigError, match="no such file"):
        vgg_features(tmp_path / "missing.pt")
