"""An encoder E: image -> latent code z, the inverse of a trained generator.

Zhu et al., "Generative Visual Manipulation on the Natural Image Manifold", ECCV 2016, Sec. 3.1: a network that
predicts z from an image gives a one-shot inversion and the starting point of the optimisation ("hybrid"
initialisation). The body is a DCGAN discriminator's (stride-2 4x4 convolutions with LeakyReLU, channels doubling,
down to the generator's starting size), then a fully connected layer and the code. It is not a model family: the
``encoder`` objective (:mod:`gankit.training.objectives.encoder`) builds it beside the frozen generator of another
run and trains it in the pair's second slot (checkpoint key ``discriminator``), as the VAE trains its encoder.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.models.layers import upsampling_plan


class Encoder(nn.Module):
    """images (B, C, H, W) in [-1, 1] -> codes (B, latent_dim).

    Args:
        img_shape: (C, H, W) of the generator's images (square).
        latent_dim: the generator's z size.
        width: channels of the first convolution.
        dense: width of the fully connected layer.
    """

    def __init__(self, img_shape: tuple[int, int, int], latent_dim: int, width: int = 32, dense: int = 512) -> None:
        super().__init__()
        channels, size = img_shape[0], img_shape[1]
        self.img_shape, self.latent_dim = tuple(img_shape), latent_dim
        start, steps = upsampling_plan(size)
        layers: list[nn.Module] = []
        c_in, c_out = channels, width
        for _ in range(max(steps, 1)):
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2)]
            c_in, c_out = c_out, 2 * c_out
        side = size // 2 ** max(steps, 1)
        self.features = nn.Sequential(*layers, nn.Flatten())  # (B, c_in * side * side)
        self.head = nn.Sequential(nn.Linear(c_in * side * side, dense), nn.LeakyReLU(0.2), nn.Linear(dense, latent_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        assert tuple(images.shape[1:]) == self.img_shape, f"expected images of shape (B, {self.img_shape}), got {tuple(images.shape)}"
        return self.head(self.features(images))  # (B, latent_dim)
