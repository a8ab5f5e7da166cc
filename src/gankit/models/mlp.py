"""The classic fully connected GAN.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014. Layer sizes follow
the widely used PyTorch tutorial version of the paper's MNIST model.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gankit.models import register_model
from gankit.models.base import GANPair


class MLPGenerator(nn.Module):
    """z (B, latent_dim) -> images (B, C, H, W) in [-1, 1]."""

    def __init__(self, img_shape: tuple[int, int, int], latent_dim: int = 100, hidden: tuple[int, ...] = (256, 512, 1024)) -> None:
        super().__init__()
        self.img_shape = tuple(img_shape)
        self.latent_dim = latent_dim
        layers: list[nn.Module] = []
        width = latent_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers += [nn.Linear(width, math.prod(img_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, f"expected z of shape (B, {self.latent_dim}), got {tuple(z.shape)}"
        return self.net(z).view(z.shape[0], *self.img_shape)  # (B, C, H, W)


class MLPDiscriminator(nn.Module):
    """images (B, C, H, W) -> logits (B,); D(x) = sigmoid(logit)."""

    def __init__(self, img_shape: tuple[int, int, int], hidden: tuple[int, ...] = (1024, 512, 256), dropout: float = 0.3) -> None:
        super().__init__()
        self.img_shape = tuple(img_shape)
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(img_shape)
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert tuple(images.shape[1:]) == self.img_shape, f"expected images of shape (B, {self.img_shape}), got {tuple(images.shape)}"
        return self.net(images).squeeze(1)  # (B,)


@register_model("mlp")
def mlp(
    img_shape: tuple[int, int, int],
    latent_dim: int,
    num_classes: int = 0,
    *,
    g_hidden: tuple[int, ...] = (256, 512, 1024),
    d_hidden: tuple[int, ...] = (1024, 512, 256),
    dropout: float = 0.3,
) -> GANPair:
    """The reference MLP GAN: G 100-256-512-1024-784 (LeakyReLU 0.2, Tanh), D 784-1024-512-256-1 with dropout 0.3."""
    if num_classes:
        from gankit.errors import ConfigError

        raise ConfigError("model 'mlp' is unconditional; set data.conditional=false or pick a conditional model")
    return GANPair(
        generator=MLPGenerator(img_shape, latent_dim, tuple(g_hidden)),
        discriminator=MLPDiscriminator(img_shape, tuple(d_hidden), dropout),
    )
