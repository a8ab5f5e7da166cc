"""``dcgan``'s InfoGAN-style fully connected hidden layers (``g_dense``, ``d_dense``; Chen et al. 2016), checked
against hand-counted layer sizes and a forward pass written out with the module's own weights."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.models import create_model


def _linears(module):
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_dense_layers_have_the_sizes_of_the_infogan_layout():
    # 28 px, widths 8: G projects to an 8 * 2 = 16-channel 7x7 map (784 values); D's last conv map is 16 x 7 x 7.
    pair = create_model("dcgan", (1, 28, 28), 10, g_width=8, d_width=8, g_dense=24, d_dense=12)
    assert _linears(pair.generator) == [(10, 24), (24, 16 * 7 * 7)]
    assert _linears(pair.discriminator) == [(16 * 7 * 7, 12), (12, 1)]
    plain = create_model("dcgan", (1, 28, 28), 10, g_width=8, d_width=8)
    assert _linears(plain.generator) == [(10, 16 * 7 * 7)]
    assert _linears(plain.discriminator) == [(16 * 7 * 7, 1)]


def test_discriminator_dense_head_by_hand():
    """logit = w2 . leaky_relu(W1 flatten(conv features) + b1, 0.2) + b2."""
    torch.manual_seed(0)
    d = create_model("dcgan", (1, 28, 28), 10, g_width=8, d_width=8, d_norm="none", d_dense=12).discriminator
    images = torch.rand(3, 1, 28, 28) * 2 - 1
    conv = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    h = F.leaky_relu(F.conv2d(images, conv[0].weight, conv[0].bias, stride=2, padding=1), 0.2)
    h = F.leaky_relu(F.conv2d(h, conv[1].weight, conv[1].bias, stride=2, padding=1), 0.2).flatten(1)
    hidden, out = [m for m in d.modules() if isinstance(m, nn.Linear)]
    expected = F.linear(F.leaky_relu(F.linear(h, hidden.weight, hidden.bias), 0.2), out.weight, out.bias).squeeze(1)
    torch.testing.assert_close(d(images).logits, expected)


def test_generator_dense_layer_is_batch_normalised_when_g_norm_is_batch():
    g = create_model("dcgan", (1, 28, 28), 10, g_width=8, d_width=8, g_dense=24).generator
    assert any(isinstance(m, nn.BatchNorm1d) and m.num_features == 24 for m in g.modules())
    g_none = create_model("dcgan", (1, 28, 28), 10, g_width=8, d_width=8, g_norm="none", g_dense=24).generator
    assert not any(isinstance(m, nn.BatchNorm1d) for m in g_none.modules())
    g.train()
    images = g(torch.randn(6, 10))
    assert images.shape == (6, 1, 28, 28) and images.abs().max() <= 1


def test_spectral_norm_reaches_the_dense_layer():
    d = create_model("dcgan", (1, 28, 28), 10, g_width=8, d_width=8, spectral_norm=True, d_dense=12).discriminator
    hidden = [m for m in d.modules() if isinstance(m, nn.Linear)][0]
    assert hidden.in_features == 16 * 7 * 7 and hasattr(hidden, "parametrizations")


@pytest.mark.parametrize("option, value", [("d_dense", -1), ("g_dense", 2.5), ("d_dense", True)])
def test_bad_dense_size_is_refused_with_what_is_allowed(option, value):
    with pytest.raises(ConfigError, match=rf"{option} must be a whole number >= 0"):
        create_model("dcgan", (1, 28, 28), 10, g_width=8, d_width=8, **{option: value})
