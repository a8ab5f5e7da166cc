"""The classic fully connected GAN, and its class-conditional version.

Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014. Layer sizes follow
the widely used PyTorch tutorial version of the paper's MNIST model. ``mlp_cond`` is
the conditional GAN of Mirza & Osindero ("Conditional Generative Adversarial Nets",
2014): G reads the one-hot label next to z; D ends in a projection head (Miyato &
Koyama 2018), or with ``auxiliary=True`` an AC-GAN classifier (Odena et al. 2017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gankit.models import register_model
from gankit.models.base import DiscriminatorOutput, GANPair, head_output
from gankit.models.layers import Dropout, ProjectionHead, check_conditional
from gankit.models.options import ClassHeadOptions, ModelOptions, option


class MLPGenerator(nn.Module):
    """z (B, latent_dim) [, labels (B,)] -> images (B, C, H, W) in [-1, 1].

    With ``num_classes > 0`` the one-hot label (B, K) is concatenated to z.
    """

    def __init__(self, img_shape: tuple[int, int, int], latent_dim: int, hidden: tuple[int, ...], num_classes: int = 0) -> None:
        super().__init__()
        self.img_shape = tuple(img_shape)
        self.latent_dim, self.num_classes = latent_dim, num_classes
        layers: list[nn.Module] = []
        width = latent_dim + num_classes
        for h in hidden:
            layers += [nn.Linear(width, h), nn.LeakyReLU(0.2)]
            width = h
        layers += [nn.Linear(width, math.prod(img_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        assert z.ndim == 2 and z.shape[1] == self.latent_dim, f"expected z of shape (B, {self.latent_dim}), got {tuple(z.shape)}"
        if self.num_classes:
            z = torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1)  # (B, latent_dim + K)
        return self.net(z).view(z.shape[0], *self.img_shape)  # (B, C, H, W)


def _discriminator_layers(img_shape: tuple[int, ...], hidden: tuple[int, ...], dropout: float) -> tuple[list[nn.Module], int]:
    """Flatten, then Linear -> LeakyReLU(0.2) -> Dropout per hidden width; returns the layers and the last width."""
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(img_shape)
    for h in hidden:
        layers += [nn.Linear(width, h), nn.LeakyReLU(0.2), Dropout(dropout)]
        width = h
    return layers, width


class MLPDiscriminator(nn.Module):
    """images (B, C, H, W) -> :class:`DiscriminatorOutput` with logits (B,); D(x) = sigmoid(logit)."""

    def __init__(self, img_shape: tuple[int, int, int], hidden: tuple[int, ...], dropout: float) -> None:
        super().__init__()
        self.img_shape = tuple(img_shape)
        layers, width = _discriminator_layers(img_shape, hidden, dropout)
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))
        self.hidden_width = width

    def forward(self, images: torch.Tensor) -> DiscriminatorOutput:
        assert tuple(images.shape[1:]) == self.img_shape, f"expected images of shape (B, {self.img_shape}), got {tuple(images.shape)}"
        return DiscriminatorOutput(self.net(images).squeeze(1))  # (B,)

    def hidden(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, C, H, W) -> the last hidden layer (B, H), on which ``logit`` and any other head sit."""
        return self.net[:-1](images)

    def logit(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, H) -> logits (B,): ``forward(x) == logit(hidden(x))``."""
        return self.net[-1](hidden).squeeze(1)


@dataclass(frozen=True)
class MLPOptions(ModelOptions):
    """``mlp``: the fully connected GAN of Goodfellow et al. (2014), at the sizes of the widely used PyTorch
    version of its MNIST model."""

    g_hidden: tuple[int, ...] = option((256, 512, 1024), min=1)
    """Widths of the generator's hidden layers, from z to the image (each Linear, then LeakyReLU 0.2)."""
    d_hidden: tuple[int, ...] = option((1024, 512, 256), min=1)
    """Widths of the discriminator's hidden layers, from the image to the logit (each Linear, LeakyReLU 0.2,
    dropout)."""
    dropout: float = option(0.3, min=0, max=1)
    """Dropout probability after each hidden layer of the discriminator (Srivastava et al. 2014)."""


@register_model("mlp")
def mlp(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: MLPOptions) -> GANPair:
    """The reference MLP GAN: G 100-256-512-1024-784 (LeakyReLU 0.2, Tanh), D 784-1024-512-256-1 with dropout 0.3."""
    check_conditional("mlp", num_classes, conditional=False)
    return GANPair(
        generator=MLPGenerator(img_shape, latent_dim, options.g_hidden),
        discriminator=MLPDiscriminator(img_shape, options.d_hidden, options.dropout),
    )


class MLPConditionalDiscriminator(nn.Module):
    """images (B, C, H, W), labels (B,) -> :class:`DiscriminatorOutput`: logits (B,) [, class logits (B, K) and twin (B, K)].

    The unconditional discriminator's hidden layers, then a :class:`ProjectionHead`.
    """

    def __init__(
        self, img_shape: tuple[int, int, int], num_classes: int, hidden: tuple[int, ...], dropout: float,
        auxiliary: bool = False, twin: bool = False, projection: bool | None = None,
    ) -> None:
        super().__init__()
        self.img_shape = tuple(img_shape)
        self.auxiliary_classifier = auxiliary
        self.twin_classifier = twin and auxiliary
        layers, width = _discriminator_layers(img_shape, hidden, dropout)
        self.features = nn.Sequential(*layers)  # (B, width)
        self.hidden_width = width
        self.head = ProjectionHead(width, num_classes, spectral=False, auxiliary=auxiliary, twin=twin, projection=projection)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> DiscriminatorOutput:
        assert tuple(images.shape[1:]) == self.img_shape, f"expected images of shape (B, {self.img_shape}), got {tuple(images.shape)}"
        return head_output(self.head(self.features(images), labels), self.twin_classifier)  # (B,) [, (B, K)]

    def hidden(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, C, H, W) -> the last hidden layer (B, H), which the class head reads."""
        return self.features(images)


@dataclass(frozen=True)
class MLPCondOptions(ClassHeadOptions, MLPOptions):
    """``mlp_cond``: the conditional GAN of Mirza & Osindero (2014), G reading the one-hot label next to z,
    with the sizes of ``mlp`` and a projection, AC-GAN or TAC-GAN head on D."""


@register_model("mlp_cond")
def mlp_cond(img_shape: tuple[int, int, int], latent_dim: int, num_classes: int, options: MLPCondOptions) -> GANPair:
    """Conditional MLP GAN (Mirza & Osindero 2014): one-hot label into G; projection, AC-GAN or TAC-GAN head on D."""
    check_conditional("mlp_cond", num_classes, conditional=True)
    return GANPair(
        generator=MLPGenerator(img_shape, latent_dim, options.g_hidden, num_classes),
        discriminator=MLPConditionalDiscriminator(img_shape, num_classes, options.d_hidden, options.dropout, options.auxiliary,
                                                  options.twin, options.projection),
    )


mlp_cond.tiny_kwargs = {"img_shape": (1, 28, 28), "num_classes": 3, "options": {"g_hidden": [16], "d_hidden": [16]}}
