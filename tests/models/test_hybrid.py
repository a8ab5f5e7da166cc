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


def test_mlp_plus_dcgan_discriminator_adds_the_two_logits():
    """The fused logit is the MLP's plus the conv net's, each computed on its own from the same weights."""
    torch.manual_seed(0)
    pair = create_model("hybrid", (1, 28, 28), 16, generator="dcgan", discriminator="mlp+dcgan", g_width=8, d_hidden=[32],
                        d_width=8, dropout=0.0)
    mlp = create_model("hybrid", (1, 28, 28), 16, discriminator="mlp", d_hidden=[32], dropout=0.0).discriminator
    conv = create_model("hybrid", (1, 28, 28), 16, discriminator="dcgan", d_width=8).discriminator
    mlp_part = [m for m in pair.discriminator.children() if not _has(m, nn.Conv2d)]
    conv_part = [m for m in pair.discriminator.children() if _has(m, nn.Conv2d)]
    assert len(mlp_part) == len(conv_part) == 1
    mlp.load_state_dict(mlp_part[0].state_dict())
    conv.load_state_dict(conv_part[0].state_dict())
    pair.discriminator.eval(), conv.eval(), mlp.eval()
    images = torch.rand(4, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        expected = mlp(images) + conv(images)
        fused = pair.discriminator(images)
    assert fused.shape == (4,)
    torch.testing.assert_close(fused, expected)


@pytest.mark.parametrize("d_arch", ["mlp", "dcgan", "mlp+dcgan"])
def test_packed_discriminator_judges_consecutive_pairs_stacked_on_the_channels(d_arch):
    """PacGAN (Lin et al. 2018): with pack=2, D's logit for images 2i and 2i+1 is an unpacked D's for their channel stack."""
    torch.manual_seed(0)
    options = {"discriminator": d_arch, "d_hidden": [32], "d_width": 8, "dropout": 0.0}
    packed = create_model("hybrid", (3, 28, 28), 16, pack=2, **options).discriminator
    single = create_model("hybrid", (6, 28, 28), 16, **options).discriminator
    single.load_state_dict(packed.inner.state_dict())
    packed.eval(), single.eval()
    images = torch.rand(6, 3, 28, 28) * 2 - 1
    pairs = torch.stack([torch.cat([images[i], images[i + 1]]) for i in range(0, 6, 2)])  # (3, 6, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(packed(images), single(pairs))
    assert packed.pack_size == 2


def test_pack_must_be_positive():
    with pytest.raises(ConfigError, match="pack"):
        create_model("hybrid", (1, 28, 28), 16, pack=0)


@pytest.mark.parametrize("d_arch", ["dcgan", "mlp+dcgan"])
def test_minibatch_stddev_makes_a_logit_depend_on_its_group_only(d_arch):
    """With mbstd_group=2 the logit of image 0 moves when image 1 (its group mate) changes, not when image 2 does."""
    torch.manual_seed(0)
    d = create_model("hybrid", (1, 28, 28), 16, discriminator=d_arch, d_hidden=[32], d_width=8, dropout=0.0, mbstd_group=2).discriminator
    d.eval()
    images = torch.rand(4, 1, 28, 28) * 2 - 1
    mate, other = images.clone(), images.clone()
    mate[1] = torch.rand(1, 28, 28)
    other[2] = torch.rand(1, 28, 28)
    with torch.no_grad():
        base, with_mate, with_other = d(images)[0], d(mate)[0], d(other)[0]
    assert not torch.isclose(base, with_mate)
    torch.testing.assert_close(base, with_other)


@pytest.mark.parametrize("options", [{"discriminator": "mlp", "mbstd_group": 4}, {"discriminator": "dcgan", "mbstd_group": -1}])
def test_minibatch_stddev_needs_a_conv_discriminator(options):
    with pytest.raises(ConfigError, match="mbstd_group"):
        create_model("hybrid", (1, 28, 28), 16, **options)
