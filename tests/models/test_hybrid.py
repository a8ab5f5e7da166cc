"""``hybrid`` pairs an MLP or DCGAN generator with an MLP or DCGAN discriminator."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

from gankit.errors import ConfigError
from gankit.models import create_model


def _has(module, kind):
    return any(isinstance(m, kind) for m in module.modules())


@pytest.mark.parametrize("g_arch, d_arch", [("mlp", "dcgan"), ("dcgan", "mlp"), ("mlp", "mlp"), ("dcgan", "dcgan")])
def test_each_half_is_the_architecture_asked_for(g_arch, d_arch):
    torch.manual_seed(0)
    pair = create_model("hybrid", (1, 28, 28), 16, generator=g_arch, discriminator=d_arch, g_hidden=[32], d_hidden=[32],
                        g_width=8, d_width=8)
    assert _has(pair.generator, nn.ConvTranspose2d) == (g_arch == "dcgan")
    assert _has(pair.discriminator, nn.Conv2d) == (d_arch == "dcgan")
    images = pair.generator(torch.randn(5, 16))
    assert images.shape == (5, 1, 28, 28) and images.abs().max() <= 1
    assert pair.discriminator(images).shape == (5,)


def test_the_mlp_half_has_the_hidden_widths_given():
    pair = create_model("hybrid", (1, 28, 28), 100, generator="mlp", discriminator="mlp", g_hidden=[64, 128], d_hidden=[32])
    g = [(m.in_features, m.out_features) for m in pair.generator.modules() if isinstance(m, nn.Linear)]
    d = [(m.in_features, m.out_features) for m in pair.discriminator.modules() if isinstance(m, nn.Linear)]
    assert g == [(100, 64), (64, 128), (128, 784)]
    assert d == [(784, 32), (32, 1)]


def test_spectral_norm_reaches_the_conv_discriminator():
    pair = create_model("hybrid", (1, 28, 28), 16, d_width=8, spectral_norm=True)
    convs = [m for m in pair.discriminator.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 2 and all(parametrize.is_parametrized(m, "weight") for m in convs)


@pytest.mark.parametrize("options, word", [({"generator": "resnet"}, "generator"), ({"discriminator": "cnn"}, "discriminator")])
def test_unknown_architecture_is_refused_with_the_choices(options, word):
    with pytest.raises(ConfigError, match=rf"{word}.*mlp.*dcgan"):
        create_model("hybrid", (1, 28, 28), 16, **options)


def test_conv_half_refuses_unsupported_sizes():
    with pytest.raises(ConfigError, match="28"):
        create_model("hybrid", (1, 20, 20), 16)
