"""The mlp2d generator's discrete code: which component a z picks, and that G is constant in z[:, 0] within one."""

import pytest
import torch
from scipy.stats import norm

from gankit.errors import ConfigError
from gankit.models import create_model
from gankit.models.mlp2d import MLP2DGenerator


def _code_of(generator, z):
    """Recover the component G used from the one-hot block of its first layer's input."""
    seen = {}
    hook = generator.net[0].register_forward_pre_hook(lambda _, args: seen.setdefault("x", args[0]))
    generator(z)
    hook.remove()
    return seen["x"][:, : generator.components].argmax(dim=1)


def test_component_is_the_normal_quantile_bin_of_the_first_coordinate():
    torch.manual_seed(0)
    g = MLP2DGenerator(2, latent_dim=3, hidden=(8,), components=4)
    # scipy's normal quantiles at the middle of each quarter: Phi^-1(0.125), ..., Phi^-1(0.875)
    z = torch.zeros(4, 3)
    z[:, 0] = torch.tensor(norm.ppf([0.125, 0.375, 0.625, 0.875]), dtype=torch.float32)
    assert _code_of(g, z).tolist() == [0, 1, 2, 3]
    # 40,000 Gaussian draws fall in the 4 bins in equal shares (binomial std 0.0022 each)
    shares = torch.bincount(_code_of(g, torch.randn(40_000, 3)), minlength=4).double() / 40_000
    assert torch.allclose(shares, torch.full((4,), 0.25, dtype=torch.float64), atol=0.01)


def test_output_depends_on_the_first_coordinate_only_through_its_bin():
    torch.manual_seed(0)
    g = MLP2DGenerator(2, latent_dim=3, hidden=(8, 8), components=4)
    base = torch.randn(1, 3)
    same_bin, other_bin = base.clone(), base.clone()
    base[0, 0], same_bin[0, 0], other_bin[0, 0] = 0.1, 0.6, -0.1  # bins 2, 2 and 1 (boundaries at 0 and +-0.674)
    out = g(torch.cat([base, same_bin, other_bin]))
    torch.testing.assert_close(out[0], out[1])
    assert not torch.allclose(out[0], out[2])


@pytest.mark.parametrize("components, latent_dim", [(1, 4), (-2, 4), (4, 1)])
def test_bad_component_settings_are_config_errors(components, latent_dim):
    with pytest.raises(ConfigError, match="components"):
        create_model("mlp2d", (2,), latent_dim, components=components)
