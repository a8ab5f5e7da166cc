"""Mixed pairs: a fully connected generator against a convolutional discriminator, or the reverse.

On a CPU the two halves of a GAN cost very different amounts: the MLP generator of
Goodfellow et al. (2014) is cheap but free of any locality prior, so its digits carry
isolated bright pixels; a narrow DCGAN discriminator (Radford et al. 2016) judges
local strokes for little more than the MLP's cost at 28 px. ``hybrid`` pairs either
generator with either discriminator so the trade can be measured.

``discriminator="mlp+dcgan"`` judges each image with both: its logit is the sum of
the MLP's (the whole image at once) and the narrow DCGAN's (local strokes), the
global-plus-local discriminator of Iizuka, Simo-Serra & Ishikawa, "Globally and
Locally Consistent Image Completion", SIGGRAPH 2017, fused by addition.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.models import register_model
from gankit.models.base import GANPair
from gankit.models.dcgan import SIZES, DCGANDiscriminator, DCGANGenerator
from gankit.models.layers import check_choice, check_conditional, check_square_size
from gankit.models.mlp import MLPDiscriminator, MLPGenerator

ARCHS = ("mlp", "dcgan")
D_ARCHS = (*ARCHS, "mlp+dcgan")


class SumDiscriminator(nn.Module):
    """images (B, C, H, W) -> logits (B,): the sum of a global and a local discriminator's logits."""

    def __init__(self, global_d: nn.Module, local_d: nn.Module) -> None:
        super().__init__()
        self.global_d, self.local_d = global_d, local_d

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.global_d(images) + self.local_d(images)  # (B,)


@register_model("hybrid")
def hybrid(
    img_shape: tuple[int, int, int],
    latent_dim: int,
    num_classes: int = 0,
    *,
    generator: str = "mlp",
    discriminator: str = "dcgan",
    g_hidden: tuple[int, ...] = (256, 512, 1024),
    d_hidden: tuple[int, ...] = (512, 256),
    dropout: float = 0.3,
    g_width: int = 64,
    d_width: int = 32,
    g_norm: str = "batch",
    d_norm: str = "none",
    spectral_norm: bool = True,
) -> GANPair:
    """G and D each an MLP (``g_hidden``/``d_hidden``, ``dropout``) or a DCGAN half (``g_width``/``d_width``,
    ``g_norm``/``d_norm``, ``spectral_norm`` on D); D may also be ``"mlp+dcgan"``, the sum of both logits."""
    check_conditional("hybrid", num_classes, conditional=False)
    check_choice("generator", generator, ARCHS)
    check_choice("discriminator", discriminator, D_ARCHS)
    if generator == "dcgan" or discriminator != "mlp":
        check_square_size("hybrid", img_shape, SIZES)
    g: nn.Module = (
        MLPGenerator(img_shape, latent_dim, tuple(g_hidden)) if generator == "mlp"
        else DCGANGenerator(img_shape, latent_dim, g_width, g_norm)
    )
    d: nn.Module
    if discriminator == "mlp":
        d = MLPDiscriminator(img_shape, tuple(d_hidden), dropout)
    elif discriminator == "dcgan":
        d = DCGANDiscriminator(img_shape, d_width, d_norm, spectral_norm)
    else:  # "mlp+dcgan"
        d = SumDiscriminator(
            MLPDiscriminator(img_shape, tuple(d_hidden), dropout), DCGANDiscriminator(img_shape, d_width, d_norm, spectral_norm)
        )
    return GANPair(generator=g, discriminator=d)


hybrid.tiny_kwargs = {"img_shape": (1, 28, 28), "options": {"g_hidden": [16], "d_width": 8}}
