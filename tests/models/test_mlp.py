"""The reference MLP GAN has exactly the layers of the issue's specification."""

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
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
    assert pair.discriminator(images).logits.shape == (7,)


def test_conditional_generator_reads_the_label_as_one_hot_input_columns():
    """Mirza & Osindero 2014: [z, one_hot(y)] into G's first layer, so switching the label from j to k shifts the
    first pre-activation by W[:, latent + k] - W[:, latent + j]."""
    torch.manual_seed(0)
    pair = create_model("mlp_cond", (1, 28, 28), latent_dim=100, num_classes=10, g_hidden=[32], d_hidden=[32])
    first = pair.generator.net[0]
    assert (first.in_features, first.out_features) == (110, 32)
    pre = {}
    first.register_forward_hook(lambda module, inputs, output: pre.__setitem__("out", output.detach()))
    z = torch.randn(1, 100)
    pair.generator(z, torch.tensor([3]))
    with_3 = pre["out"]
    pair.generator(z, torch.tensor([7]))
    torch.testing.assert_close(pre["out"] - with_3, (first.weight[:, 107] - first.weight[:, 103]).detach()[None])


def test_conditional_discriminator_heads():
    torch.manual_seed(0)
    images, labels = torch.randn(4, 1, 28, 28), torch.tensor([0, 1, 2, 9])
    projection = create_model("mlp_cond", (1, 28, 28), 100, 10, d_hidden=[32]).discriminator.eval()
    out = projection(images, labels)
    assert out.logits.shape == (4,) and out.class_logits is None
    ac = create_model("mlp_cond", (1, 28, 28), 100, 10, d_hidden=[32], auxiliary=True).discriminator.eval()
    out = ac(images, labels)
    assert out.logits.shape == (4,) and out.class_logits.shape == (4, 10) and out.twin_logits is None
    tac = create_model("mlp_cond", (1, 28, 28), 100, 10, d_hidden=[32], auxiliary=True, twin=True).discriminator
    out = tac(images, labels)
    assert out.class_logits.shape == (4, 10) and out.twin_logits.shape == (4, 10)


def test_unconditional_mlp_refuses_labels():
    with pytest.raises(ConfigError, match="use mlp_cond"):
        create_model("mlp", (1, 28, 28), 100, 10)
