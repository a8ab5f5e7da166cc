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
    assert pair.discriminator(images).logits.shape == (5,)


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
        expected = mlp(images).logits + conv(images).logits
        fused = pair.discriminator(images).logits
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
        base, with_mate, with_other = d(images).logits[0], d(mate).logits[0], d(other).logits[0]
    assert not torch.isclose(base, with_mate)
    torch.testing.assert_close(base, with_other)


@pytest.mark.parametrize("options", [{"discriminator": "mlp", "mbstd_group": 4}, {"discriminator": "dcgan", "mbstd_group": -1}])
def test_minibatch_stddev_needs_a_conv_discriminator(options):
    with pytest.raises(ConfigError, match="mbstd_group"):
        create_model("hybrid", (1, 28, 28), 16, **options)


def _inner_input(generator, z):
    """What the coded generator's inner MLP reads: (B, codes * K + L - codes)."""
    seen = {}
    hook = generator.inner.net[0].register_forward_pre_hook(lambda _, args: seen.setdefault("x", args[0]))
    generator(z)
    hook.remove()
    return seen["x"]


def test_each_code_is_the_normal_quantile_bin_of_its_coordinate_and_enters_one_hot():
    from scipy.stats import norm

    torch.manual_seed(0)
    g = create_model("hybrid", (1, 28, 28), 5, generator="mlp", discriminator="mlp", g_hidden=[8], components=4, codes=2).generator
    z = torch.randn(4, 5)
    mids = torch.tensor(norm.ppf([0.125, 0.375, 0.625, 0.875]), dtype=torch.float32)  # scipy: the middle of each quarter
    z[:, 0], z[:, 1] = mids, mids.flip(0)
    assert g.code(z).tolist() == [[0, 3], [1, 2], [2, 1], [3, 0]]
    x = _inner_input(g, z)  # (4, 2 * 4 + 3)
    assert x.shape == (4, 11)
    torch.testing.assert_close(x[:, :4], torch.eye(4))  # code 0: values 0, 1, 2, 3
    torch.testing.assert_close(x[:, 4:8], torch.eye(4).flip(0))  # code 1: values 3, 2, 1, 0
    torch.testing.assert_close(x[:, 8:], z[:, 2:])  # the continuous rest unchanged
    # 40,000 Gaussian draws give each value of each code a quarter (binomial std 0.0022)
    codes = g.code(torch.randn(40_000, 5))
    for j in range(2):
        shares = torch.bincount(codes[:, j], minlength=4).double() / 40_000
        assert torch.allclose(shares, torch.full((4,), 0.25, dtype=torch.float64), atol=0.01)


def test_coded_output_depends_on_a_code_coordinate_only_through_its_bin():
    torch.manual_seed(0)
    g = create_model("hybrid", (1, 28, 28), 6, generator="dcgan", discriminator="mlp", g_width=4, components=4, codes=2).generator
    g.eval()  # BatchNorm on running statistics: each image on its own
    base = torch.randn(1, 6)
    same_bin, other_bin = base.clone(), base.clone()
    base[0, 1], same_bin[0, 1], other_bin[0, 1] = 0.1, 0.6, -0.1  # bins 2, 2 and 1 (boundaries at 0 and +-0.674)
    with torch.no_grad():
        out = g(torch.cat([base, same_bin, other_bin]))
    torch.testing.assert_close(out[0], out[1])
    assert not torch.allclose(out[0], out[2])


@pytest.mark.parametrize("d_arch, code_from, readers", [("mlp", "all", {"0"}), ("dcgan", "all", {"0"}), ("mlp+dcgan", "all", {"0", "1"}),
                                                        ("mlp+dcgan", "dcgan", {"1"}), ("mlp+dcgan", "mlp", {"0"})])
def test_info_discriminator_keeps_the_logit_and_predicts_codes_from_the_judges_asked(d_arch, code_from, readers):
    """InfoGAN's Q shares D's layers: the adversarial logit is the code-free D's, and the code logits
    (B, K, codes) are a function of the features of the judges ``code_from`` names, and of no other."""
    torch.manual_seed(0)
    options = {"discriminator": d_arch, "d_hidden": [32], "d_width": 8, "dropout": 0.0}
    coded = create_model("hybrid", (3, 28, 28), 16, components=10, codes=3, code_from=code_from, **options).discriminator
    plain = create_model("hybrid", (3, 28, 28), 16, **options).discriminator
    judges = dict(coded.judges.named_children())
    plain_state = {k: v for k, v in coded.state_dict().items() if not k.startswith("code_head")}
    if d_arch == "mlp+dcgan":  # the sum D names its judges global_d and local_d
        plain_state = {k.replace("judges.0", "global_d").replace("judges.1", "local_d"): v for k, v in plain_state.items()}
    else:
        plain_state = {k.removeprefix("judges.0."): v for k, v in plain_state.items()}
    plain.load_state_dict(plain_state)
    coded.eval(), plain.eval()
    images = torch.rand(4, 3, 28, 28) * 2 - 1
    out = coded(images)
    logits, code_logits = out.logits, out.code_logits
    assert code_logits.shape == (4, 10, 3) and coded.code_components == 10
    with torch.no_grad():
        torch.testing.assert_close(logits, plain(images).logits)
    code_logits.sum().backward()
    for name, judge in judges.items():  # the code logits reach a reader's hidden layers (its logit layer is not on their path)
        reached = any(p.grad is not None and p.grad.abs().sum() > 0 for p in judge.parameters())
        assert reached == (name in readers), f"judge {name}: code gradient {reached}, reader {name in readers}"


@pytest.mark.parametrize("options", [{"components": 1}, {"components": -2}, {"components": 10, "codes": 0},
                                     {"components": 10, "pack": 2}, {"components": 10, "codes": 16}])
def test_bad_code_settings_are_config_errors(options):
    with pytest.raises(ConfigError, match="components"):
        create_model("hybrid", (1, 28, 28), 16, **options)


@pytest.mark.parametrize("d_arch, code_from", [("mlp", "dcgan"), ("dcgan", "mlp"), ("mlp+dcgan", "resnet")])
def test_code_from_must_name_a_judge_of_the_discriminator(d_arch, code_from):
    with pytest.raises(ConfigError, match="code_from"):
        create_model("hybrid", (1, 28, 28), 16, discriminator=d_arch, components=10, code_from=code_from)
