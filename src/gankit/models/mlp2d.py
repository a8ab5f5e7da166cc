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

from dataclasses import dataclass

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import register_model
from gankit.models.base import DiscriminatorOutput, GANPair
from gankit.models.layers import MinibatchStdDev, check_conditional, discrete_codes, pack, sn
from gankit.models.options import ModelOptions, option, refuse


class MLP2DGenerator(nn.Module):
    """z (B, latent_dim) -> points (B, D).

    Args:
        components: K > 0 makes ``z[:, 0]`` a discrete code: component
            ``floor(K * Phi(z[:, 0]))`` (uniform over 0..K-1 for z ~ N(0, 1)) enters the
            network one-hot in place of ``z[:, 0]``; 0 keeps z continuous.
    """

    def __init__(self, data_dim: int, latent_dim: int, hidden: tuple[int, ...], components: int = 0) -> None:
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
        self, data_dim: int, hidden: tuple[int, ...], spectral_norm: bool = False, pack: int = 1, mbstd_group: int = 0,
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


@dataclass(frozen=True)
class MLP2DOptions(ModelOptions):
    """``mlp2d``: a fully connected pair for vector data such as the 2D mixtures of Gaussians of VEEGAN
    (Srivastava et al. 2017) and PacGAN (Lin et al. 2018)."""

    g_hidden: tuple[int, ...] = option((128, 128, 128), min=1)
    """Widths of the generator's hidden layers (each Linear, then ReLU); the output layer is linear."""
    d_hidden: tuple[int, ...] = option((128, 128, 128), min=1)
    """Widths of the discriminator's hidden layers (each Linear, then LeakyReLU 0.2)."""
    spectral_norm: bool = False
    """Spectral normalisation on every discriminator weight (Miyato et al. 2018)."""
    pack: int = option(1, min=1)
    """PacGAN packing (Lin et al. 2018): D judges this many samples at once, concatenated; 1 is off.
    ``train.batch_size`` must be a multiple of it."""
    mbstd_group: int = option(0, min=0)
    """> 0: before its last hidden layer D appends the minibatch standard deviation over groups of this many
    samples (Karras et al. 2018); 0 is off."""
    components: int = option(0, min=0)
    """> 0: the generator reads a discrete code of this many equally likely values from ``z[:, 0]`` and D predicts
    it (InfoGAN, Chen et al. 2016; ``reg.info_weight``), so that G can jump between disconnected modes; at least 2,
    and ``model.latent_dim`` at least 2. 0 is off."""

    def check(self) -> None:
        super().check()
        if self.components == 1:
            raise refuse("components", self.components, "components must be 0 (off) or a whole number >= 2")


@register_model("mlp2d")
def mlp2d(img_shape: tuple[int], latent_dim: int, num_classes: int, options: MLP2DOptions) -> GANPair:
    """MLP pair for vector data of shape (D,): ReLU G with a linear output, LeakyReLU D; ``components`` > 0 gives G
    a discrete code of that many equally likely values (see the module docstring)."""
    check_conditional("mlp2d", num_classes, conditional=False)
    if len(img_shape) != 1:
        raise ConfigError(f"model 'mlp2d' takes vector data of shape (D,), got {tuple(img_shape)}; use dcgan or resnet for images")
    if options.components and latent_dim < 2:
        raise ConfigError(f"model 'mlp2d': components={options.components} needs model.latent_dim >= 2, got {latent_dim}")
    return GANPair(
        generator=MLP2DGenerator(img_shape[0], latent_dim, options.g_hidden, options.components),
        discriminator=MLP2DDiscriminator(img_shape[0], options.d_hidden, options.spectral_norm, options.pack, options.mbstd_group,
                                         options.components),
    )


mlp2d.tiny_kwargs = {"img_shape": (2,), "options": {"g_hidden": [16, 16], "d_hidden": [16, 16], "pack": 2, "mbstd_group": 2, "components": 4}}
