"""The reference MLP GAN has exactly the layers of the issue's specification."""

import torch
from torch import nn

from gankit.models import create_model


def _linear_shapes(module):
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_layer_sizes_match_the_reference():
    pair = create_model("mlp", (1, 28, 28), latent_dim=100)
    assert _linear_shapes(pair.generator) == [(100, 256), (256, 512), (512, 1024), (1024, 784)]
    assert _linear_shapes(pair.discriminator) == [(784, 1024), (1024, 512), (512, 256), (256, 1)]
    g_params = sum(p.numel() for p in pair.generator.parameters())
    d_params = sum(p.numel() for p in pair.discriminator.parameters())
    assert g_params == 100 * 256 + 256 + 256 * 512 + 512 + 512 * 1024 + 1024 + 1024 * 784 + 784
    assert d_params == 784 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 256 + 256 + 256 + 1


def test_activations_and_dropout():
    pair = create_model("mlp", (1, 28, 28), latent_dim=100)
    g_acts = [m for m in pair.generator.modules() if isinstance(m, (nn.LeakyReLU, nn.Tanh))]
    assert [type(m) for m in g_acts] == [nn.LeakyReLU] * 3 + [nn.Tanh]
    assert all(m.negative_slope == 0.2 for m in g_acts[:3])
    drops = [m for m in pair.discriminator.modules() if isinstance(m, nn.Dropout)]
    assert [m.p for m in drops] == [0.3, 0.3, 0.3]
    assert not any(isinstance(m, nn.Sigmoid) for m in pair.discriminator.modules()), "D must return logits"


def test_shapes_and_range():
    torch.manual_seed(0)
    pair = create_model("mlp", (1, 28, 28), latent_dim=100)
    images = pair.generator(torch.randn(7, 100) * 10)
    assert images.shape == (7, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    assert pair.discriminator(images).shape == (7,)
