"""A convolutional VAE: the non-adversarial baseline, trained and scored like the GANs.

Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014. The decoder is
the DCGAN generator (same layers, so the two are of comparable size) and sits in
the pair's ``generator`` slot, so sampling, export, checkpoints and metrics treat
it like any generator: z ~ N(0, I) -> image in [-1, 1]. The encoder, a DCGAN
discriminator body ending in 2 * latent_dim outputs (mean and log-variance of
q(z|x)), is the pair's second network; the ``vae`` training objective
(:mod:`gankit.training.objectives.vae`, registered for this family) trains both on
the negative ELBO of :func:`gankit.losses.vae.negative_elbo`. Pixels are modelled as Bernoulli with probability
(x + 1) / 2, so the decoder output is tanh(logits / 2) = 2 sigmoid(logits) - 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gankit.models import register_model
from gankit.models.base import GANPair
from gankit.models.dcgan import SIZES, DCGANGenerator
from gankit.models.layers import NORMS, check_conditional, check_square_size, norm_2d, upsampling_plan
from gankit.models.options import ModelOptions, option


class VAEDecoder(DCGANGenerator):
    """z (B, latent_dim) -> images (B, C, S, S) in [-1, 1]; :meth:`logits` gives the Bernoulli logits."""

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return torch.tanh(0.5 * self.pre_activation(z, labels))  # = 2 * sigmoid(logits) - 1

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.pre_activation(z)  # (B, C, S, S)


class VAEEncoder(nn.Module):
    """images (B, C, S, S) -> (mean (B, latent_dim), log-variance (B, latent_dim)) of q(z | x)."""

    def __init__(self, img_shape: tuple[int, int, int], latent_dim: int, width: int, norm: str) -> None:
        super().__init__()
        channels, size = img_shape[0], img_shape[1]
        self.img_shape, self.latent_dim = tuple(img_shape), latent_dim
        start, steps = upsampling_plan(size)
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        w = width
        for _ in range(steps - 1):
            layers += [nn.Conv2d(w, 2 * w, 4, 2, 1, bias=norm != "batch"), norm_2d(norm, 2 * w), nn.LeakyReLU(0.2)]
            w *= 2
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(w * start * start, 2 * latent_dim)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert tuple(images.shape[1:]) == self.img_shape, f"expected images of shape (B, {self.img_shape}), got {tuple(images.shape)}"
        mean, log_var = self.head(self.features(images)).chunk(2, dim=1)  # (B, L), (B, L)
        return mean, log_var


@dataclass(frozen=True)
class VAEOptions(ModelOptions):
    """``vae``: a convolutional VAE (Kingma & Welling, ICLR 2014) with a DCGAN generator as its decoder and a
    DCGAN discriminator body as its encoder."""

    g_width: int = option(64, min=1)
    """Channels of the decoder's last hidden map; each map before it has twice as many (as ``dcgan``'s generator)."""
    d_width: int = option(64, min=1)
    """Channels of the encoder's first convolution; each later one doubles them."""
    norm: str = option("batch", choices=NORMS)
    """Normalisation in both networks: ``batch`` or ``none``."""


@register_model("vae")
def vae(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: VAEOptions) -> GANPair:
    """Convolutional VAE (Kingma & Welling 2014) with DCGAN-sized decoder (``generator``) and encoder."""
    check_conditional("vae", num_classes, conditional=False)
    check_square_size("vae", img_shape, SIZES)
    return GANPair(
        generator=VAEDecoder(img_shape, latent_dim, options.g_width, options.norm),
        discriminator=VAEEncoder(img_shape, latent_dim, options.d_width, options.norm),
    )


vae.tiny_kwargs = {"img_shape": (1, 28, 28), "options": {"g_width": 8, "d_width": 8}}
