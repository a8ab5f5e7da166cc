"""A small fully connected pair for low-dimensional toy data (2D mixtures of Gaussians).

The benchmark setting of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al.
2018): a ring of 8 and a grid of 25 Gaussians. Samples are vectors (B, D), not
images, and the generator output is linear (no Tanh: the data is not in [-1, 1]).
The discriminator can pack samples (PacGAN) and append a minibatch standard
deviation (Karras et al. 2018), the two tricks that fight mode dropping here.

A generator that is a continuous function of a Gaussian z cannot map onto
disconnected modes without leaving samples on the bridges between them
(Khayatkhoei et al., "Disconnected Manifold Learning for Generative Adversarial
Networks", NeurIPS 2018). With ``components = K`` the generator instead reads a
discrete code from its noise: the first coordinate of z picks one of K equally
likely components (through the normal CDF), the rest stay continuous, so G can
jump between modes. G ignores a code that nothing asks it to use (measured:
every component then covers every mode), so D also predicts the code of each
fake and both minimise that cross-entropy (InfoGAN, Chen et al., NeurIPS 2016: a
lower bound on the mutual information between code and sample;
``reg.info_weight`` in the config), which drives the components apart. With one
component per mode each settles on its own; with more, they split modes.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import register_model
from gankit.models.base import DiscriminatorOutput, GANPair
from gankit.models.layers import MinibatchStdDev, check_conditional, check_pack, discrete_codes, pack, sn


class MLP2DGenerator(nn.Module):
    """z (B, latent_dim) -> points (B, D).

    Args:
        components: K > 0 makes ``z[:, 0]`` a discrete code: component
            ``floor(K * Phi(z[:, 0]))`` (uniform over 0..K-1 for z ~ N(0, 1)) enters the
            network one-hot in place of ``z[:, 0]``; 0 keeps z continuous.
    """

    def __init__(self, data_dim: int, latent_dim: int, hidden: tuple[int, ...] = (128, 128, 128), components: int = 0) -> None:
        super().__init__()
        self.img_shape, self.latent_dim, self.components = (data_dim,), latent_dim, components
        layers: list[nn.Module] = []
        width = latent_dim - 1 + components if components else latent_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, data_dim))
        self.net = nn.Sequential(*layers)

    def code(self, z: torch.Tensor) -> torch.Tensor:
        """(B,) component in 0..K-1 that z (B, latent_dim) selects: ``floor(K * Phi(z[:, 0]))``."""
        return discrete_codes(z[:, 0], self.components)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, f"expected z of shape (B, {self.latent_dim}), got {tuple(z.shape)}"
        if self.components:
            one_hot = nn.functional.one_hot(self.code(z), self.components).to(z.dtype)
            z = torch.cat([one_hot, z[:, 1:]], dim=1)  # (B, K + L - 1)
        return self.net(z)  # (B, D)


class MLP2DDiscriminator(nn.Module):
    """points (B, D) -> :class:`DiscriminatorOutput`: logits (B / pack,) [, code logits (B, code_components)].

    With ``code_components = K > 0`` a linear head on the last hidden layer also
    predicts the generator's discrete code of every sample (InfoGAN's Q network,
    sharing D's layers as in Chen et al. 2016).
    """

    def __init__(
        self, data_dim: int, hidden: tuple[int, ...] = (128, 128, 128), spectral_norm: bool = False, pack: int = 1, mbstd_group: int = 0,
        code_components: int = 0,
    ) -> None:
        super().__init__()
        self.img_shape, self.pack_size, self.code_components = (data_dim,), pack, code_components
        layers: list[nn.Module] = []
        width = data_dim * pack
        for i, h in enumerate(hidden):
            if i == len(hidden) - 1 and mbstd_group > 0:
                layers.append(MinibatchStdDev(mbstd_group))
                width += 1
            layers += [sn(nn.Linear(width, h), spectral_norm), nn.LeakyReLU(0.2)]
            width = h
        layers.append(sn(nn.Linear(width, 1), spectral_norm))
        self.net = nn.Sequential(*layers)
        self.code_head = nn.Linear(width, pack * code_components) if code_components else None

    def forward(self, points: torch.Tensor) -> DiscriminatorOutput:
        assert tuple(points.shape[1:]) == self.img_shape, f"expected points of shape (B, {self.img_shape[0]}), got {tuple(points.shape)}"
        if self.code_head is None:
            return DiscriminatorOutput(self.net(pack(points, self.pack_size)).squeeze(1))  # (B / pack,)
        h = self.net[:-1](pack(points, self.pack_size))  # (B / pack, H)
        codes = self.code_head(h).reshape(points.shape[0], self.code_components)  # (B, K): packs hold consecutive samples
        return DiscriminatorOutput(self.net[-1](h).squeeze(1), code_logits=codes)  # (B / pack,), (B, K)


@register_model("mlp2d")
def mlp2d(
    img_shape: tuple[int],
    latent_dim: int,
    num_classes: int = 0,
    *,
    g_hidden: tuple[int, ...] = (128, 128, 128),
    d_hidden: tuple[int, ...] = (128, 128, 128),
    spectral_norm: bool = False,
    pack: int = 1,
    mbstd_group: int = 0,
    components: int = 0,
) -> GANPair:
    """MLP pair for vector data of shape (D,): ReLU G with a linear output, LeakyReLU D; ``components`` > 0 gives G
    a discrete code of that many equally likely values (see the module docstring)."""
    check_conditional("mlp2d", num_classes, conditional=False)
    if len(img_shape) != 1:
        raise ConfigError(f"model 'mlp2d' takes vector data of shape (D,), got {tuple(img_shape)}; use dcgan or resnet for images")
    check_pack("mlp2d", pack, num_classes)
    if components < 0 or components == 1 or (components and latent_dim < 2):
        raise ConfigError(
            f"model 'mlp2d': components must be 0 (off) or at least 2, with latent_dim >= 2; got components={components}, latent_dim={latent_dim}"
        )
    return GANPair(
        generator=MLP2DGenerator(img_shape[0], latent_dim, tuple(g_hidden), components),
        discriminator=MLP2DDiscriminator(img_shape[0], tuple(d_hidden), spectral_norm, pack, mbstd_group, components),
    )


mlp2d.tiny_kwargs = {"img_shape": (2,), "options": {"g_hidden": [16, 16], "d_hidden": [16, 16], "pack": 2, "mbstd_group": 2, "components": 4}}
